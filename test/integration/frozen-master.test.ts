import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';

let cluster: RedisClusterHandle;
let proxy: RunningProxy;
let frozenPid = 0;

beforeAll(async () => {
  cluster = await startRedisCluster({ nodeTimeoutMs: 2000 });
  proxy = await startTestProxy(cluster.seeds, { topologyRefreshIntervalSeconds: 1 });
});

afterAll(async () => {
  if (frozenPid !== 0) {
    try {
      process.kill(frozenPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await proxy?.close();
  await cluster?.stop();
});

it('finishes reads that were in flight to a master that froze, once the cluster has failed it over', async () => {
  const keys = Array.from({ length: 200 }, (_, i) => `frozen:${i}`);
  const writer = new Redis({ host: '127.0.0.1', port: proxy.port });
  for (const key of keys) await writer.set(key, `value of ${key}`);
  // Replication is asynchronous: let the replicas catch up before a master disappears.
  for (const node of cluster.nodes.slice(0, 3)) {
    const direct = new Redis({ host: node.host, port: node.port });
    await direct.call('WAIT', 1, 2000);
    direct.disconnect();
  }
  writer.disconnect();

  let running = true;
  const errors: string[] = [];
  let longestMs = 0;
  const readers = Array.from({ length: 5 }, async (_, c) => {
    const client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0, commandTimeout: 20_000 });
    const deadline = Date.now() + 25_000;
    for (let i = c; running && Date.now() < deadline; i++) {
      const key = keys[i % keys.length];
      const started = Date.now();
      try {
        const value = await client.get(key);
        if (value !== `value of ${key}`) errors.push(`GET ${key} returned ${value}`);
      } catch (error) {
        errors.push((error as Error).message);
      }
      longestMs = Math.max(longestMs, Date.now() - started);
    }
    client.disconnect();
  });

  await new Promise((resolve) => setTimeout(resolve, 500));
  const victim = cluster.nodes[0];
  frozenPid = victim.process.pid as number;
  // SIGSTOP: the node neither answers nor closes its connections, unlike a crash.
  process.kill(frozenPid, 'SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  running = false;
  await Promise.all(readers);

  console.log(`[frozen-master] longest read ${longestMs} ms; parked ${proxy.stats().parkedTotal}, errors ${errors.length}`);
  expect(errors).toEqual([]);
  // Failover (node timeout 2 s plus an election) plus the grace slotgate gives a node that lost its slots.
  expect(longestMs).toBeLessThan(9000);
});
