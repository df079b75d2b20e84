import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import { delNode, nodeId, waitForClusterOk } from '../helpers/cluster-admin.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';

let cluster: RedisClusterHandle;
let proxy: RunningProxy;
let client: Redis;

beforeAll(async () => {
  cluster = await startRedisCluster();
  proxy = await startTestProxy(cluster.seeds, { readFrom: 'prefer-replica', topologyRefreshIntervalSeconds: 1 });
  client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
});

afterAll(async () => {
  client?.disconnect();
  await proxy?.close();
  await cluster?.stop();
});

/** GET calls each node has served, from its own INFO commandstats. */
async function getCalls(port: number): Promise<number> {
  const direct = new Redis({ host: '127.0.0.1', port });
  const stats = await direct.info('commandstats');
  direct.disconnect();
  return Number(/cmdstat_get:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

/** Replication is asynchronous: wait until every master's writes reached its replica. */
async function waitForReplicas(): Promise<void> {
  for (const node of cluster.nodes.slice(0, 3)) {
    const direct = new Redis({ host: node.host, port: node.port });
    await direct.call('WAIT', 1, 2000);
    direct.disconnect();
  }
}

it('sends reads to replicas and writes to masters', async () => {
  for (let i = 0; i < 300; i++) await client.set(`replica:${i}`, `v${i}`);
  await waitForReplicas();
  const replicas = cluster.nodes.slice(3);
  const before = await Promise.all(replicas.map((node) => getCalls(node.port)));
  for (let i = 0; i < 300; i++) expect(await client.get(`replica:${i}`)).toBe(`v${i}`);
  const after = await Promise.all(replicas.map((node) => getCalls(node.port)));
  const served = after.map((calls, i) => calls - before[i]);
  expect(served.reduce((a, b) => a + b, 0)).toBe(300);
  for (const count of served) expect(count).toBeGreaterThan(0);
  expect(proxy.stats().nodes.filter((node) => node.role === 'replica').length).toBe(3);
});

it('falls back to the master when a replica dies, with no client error', async () => {
  const victim = cluster.nodes[3];
  await cluster.killNode(victim.port);
  const errors: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 300; i++) {
      try {
        expect(await client.get(`replica:${i}`)).toBe(`v${i}`);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
  }
  expect(errors).toEqual([]);
  expect(proxy.stats().nodes.find((node) => node.address === `127.0.0.1:${victim.port}` && node.role === 'replica')?.health).not.toBe('up');
});

it('closes its connections to a replica removed from the cluster, and reads go on', async () => {
  // The replica the test before killed comes back first: del-node waits for a settled cluster.
  await cluster.startNode(cluster.nodes[3].port);
  await waitForClusterOk(cluster.seeds);
  const removed = cluster.nodes[4];
  const address = `127.0.0.1:${removed.port}`;
  expect(proxy.stats().nodes.some((node) => node.address === address && node.role === 'replica')).toBe(true);
  await delNode(cluster.seeds[0], await nodeId(address));
  const deadline = Date.now() + 15_000;
  while (proxy.stats().nodes.some((node) => node.address === address && node.role === 'replica') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(proxy.stats().nodes.filter((node) => node.role === 'replica').map((node) => node.address)).not.toContain(address);
  for (let i = 0; i < 300; i++) expect(await client.get(`replica:${i}`)).toBe(`v${i}`);
});
