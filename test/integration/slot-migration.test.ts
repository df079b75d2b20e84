import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';

let cluster: RedisClusterHandle;
let proxy: RunningProxy;
const direct = new Map<string, Redis>();

beforeAll(async () => {
  cluster = await startRedisCluster();
  // No routine refresh: the proxy must learn of the move from the redirects alone.
  proxy = await startTestProxy(cluster.seeds, { topologyRefreshIntervalSeconds: 0 });
  for (const node of cluster.nodes) direct.set(`${node.host}:${node.port}`, new Redis({ host: node.host, port: node.port }));
});

afterAll(async () => {
  for (const connection of direct.values()) connection.disconnect();
  await proxy?.close();
  await cluster?.stop();
});

/** The master serving `slot` and another master to move it to, from CLUSTER SLOTS. */
async function ownerAndOther(slot: number): Promise<{ source: string; target: string }> {
  const ranges = (await direct.values().next().value!.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const masters = ranges.map(([, , [host, port]]) => `${host}:${port}`);
  const owner = ranges.find(([start, end]) => slot >= start && slot <= end);
  const source = `${owner![2][0]}:${owner![2][1]}`;
  return { source, target: masters.find((address) => address !== source)! };
}

/** Clients that keep reading and writing the slot through the proxy until stopped. */
function startTraffic(keys: string[], clients: number) {
  let running = true;
  const errors: string[] = [];
  let requests = 0;
  const loops = Array.from({ length: clients }, async (_, c) => {
    const client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
    const deadline = Date.now() + 30_000;
    try {
      for (let i = 0; running && Date.now() < deadline; i++) {
        const key = keys[(i + c) % keys.length];
        try {
          if (i % 4 === 0) await client.set(`${key}:w${c}`, String(i));
          const value = await client.get(key);
          if (value !== `value of ${key}`) errors.push(`GET ${key} returned ${value}`);
          requests++;
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
    } finally {
      client.disconnect();
    }
  });
  return {
    errors,
    get requests() {
      return requests;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('follows ASK while a slot migrates and MOVED once it has moved, with no client error', async () => {
  const tag = '{migrating}';
  const slot = calculateSlot(tag);
  const keys = Array.from({ length: 20 }, (_, i) => `${tag}:${i}`);
  const writer = new Redis({ host: '127.0.0.1', port: proxy.port });
  for (const key of keys) await writer.set(key, `value of ${key}`);

  const { source, target } = await ownerAndOther(slot);
  const sourceNode = direct.get(source)!;
  const targetNode = direct.get(target)!;
  const sourceId = String(await sourceNode.call('CLUSTER', 'MYID'));
  const targetId = String(await targetNode.call('CLUSTER', 'MYID'));
  const [targetHost, targetPort] = target.split(':');

  const traffic = startTraffic(keys, 5);
  await pause(200);

  // Half the keys move: reads of those get ASK from the source while the slot is migrating.
  await targetNode.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
  await sourceNode.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
  await sourceNode.call('MIGRATE', targetHost, targetPort, '', 0, 5000, 'KEYS', ...keys.slice(0, 10));
  await pause(300);
  expect(proxy.stats().redirectsAsk).toBeGreaterThan(0);
  // A key created now goes to the target too (ASK again), and is readable there.
  expect(await writer.set(`${tag}:new`, 'created during migration')).toBe('OK');
  expect(await writer.get(`${tag}:new`)).toBe('created during migration');

  // The rest moves, in batches, as redis-cli --cluster reshard does it, and the slot is handed over.
  const remaining = (await sourceNode.call('CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as string[];
  if (remaining.length > 0) await sourceNode.call('MIGRATE', targetHost, targetPort, '', 0, 5000, 'KEYS', ...remaining);
  for (const node of [targetNode, sourceNode]) await node.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
  for (const [address, node] of direct) {
    if (address !== source && address !== target) await node.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId).catch(() => {});
  }
  await pause(300);
  expect(proxy.stats().redirectsMoved).toBeGreaterThan(0);

  await traffic.stop();
  expect(traffic.errors).toEqual([]);
  expect(traffic.requests).toBeGreaterThan(100);
  for (const key of keys) expect(await writer.get(key)).toBe(`value of ${key}`);
  expect(await targetNode.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBeGreaterThanOrEqual(keys.length);
  writer.disconnect();
});
