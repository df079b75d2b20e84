/**
 * Slots moving under slotgate while clients use it: a master added and the cluster rebalanced onto
 * it, a master emptied and removed, a slot held half moved, and one node reporting a stale map.
 * Clients must see no error and no wrong value; slotgate must end up routing where the cluster says.
 *
 * One cluster for the file; the tests run in order and each leaves the cluster settled.
 */
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  addMaster,
  clusterMembers,
  clusterSlots,
  delNode,
  liveSeed,
  nodeCommand,
  nodeId,
  rebalance,
  reshardAllSlotsAway,
  slotsOwnedBy,
  startEmptyNode,
  type ExtraNode,
} from '../helpers/cluster-admin.ts';
import { startFakeClusterNode } from '../helpers/fake-cluster-node.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';

const PRELOADED = 2000;
const CLIENTS = 8;
const KEYS_PER_CLIENT = 40;
/**
 * Hash tags shared by all clients for same-slot MSET/MGET (each client has its own keys under
 * them): a few busy slots, about a quarter of them moved, each holding 64 keys, more than
 * redis-cli moves in one MIGRATE (10), so they are half moved for a while (TRYAGAIN).
 */
const HOT_TAGS = 16;
const KEYS_PER_CLIENT_AND_TAG = 8;

let cluster: RedisClusterHandle;
let proxy: RunningProxy;
let client: Redis;
const extraNodes: ExtraNode[] = [];
/** Every key written through slotgate in this file and the value it must have now. */
const expected = new Map<string, string>();

beforeAll(async () => {
  cluster = await startRedisCluster({ nodeTimeoutMs: 2000 });
  proxy = await startTestProxy(cluster.seeds, { topologyRefreshIntervalSeconds: 1 });
  client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
  const pipeline = client.pipeline();
  for (let i = 0; i < PRELOADED; i++) {
    pipeline.set(`pre:${i}`, `value ${i}`);
    expected.set(`pre:${i}`, `value ${i}`);
  }
  const results = (await pipeline.exec()) ?? [];
  expect(results.filter(([error]) => error !== null)).toEqual([]);
});

afterAll(async () => {
  client?.disconnect();
  await proxy?.close();
  for (const node of extraNodes) await node.stop();
  await cluster?.stop();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Clients writing and reading their own keys through `port` until stopped (or 45 s), in turn: SET
 * then GET of one key; MSET then MGET of four keys in different slots (split by slotgate); MSET
 * then MGET of four keys sharing a hash tag (one slot: TRYAGAIN while it is half migrated). Each
 * client is the only writer of its keys, so every reply has exactly one right value; anything
 * else is recorded as an error.
 */
function startTraffic(port: number, name: string) {
  let running = true;
  const errors: string[] = [];
  let requests = 0;
  const loops = Array.from({ length: CLIENTS }, async (_, c) => {
    const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    const keys = Array.from({ length: KEYS_PER_CLIENT }, (_, k) => `${name}:${c}:${k}`);
    const deadline = Date.now() + 45_000;
    try {
      for (let round = 0; running && Date.now() < deadline; round++) {
        const value = `${round}`;
        const step = round % 3;
        const touched =
          step === 0
            ? [keys[round % keys.length]]
            : step === 1
              ? [0, 1, 2, 3].map((j) => keys[(round + j * 7) % keys.length])
              : [0, 1, 2, 3].map((j) => `${name}:{hot${round % HOT_TAGS}}:${c}:${(round + j * 3) % KEYS_PER_CLIENT_AND_TAG}`);
        try {
          if (step === 0) {
            const ok = await redis.set(touched[0], value);
            if (ok !== 'OK') errors.push(`SET ${touched[0]} -> ${ok}`);
            expected.set(touched[0], value);
            const got = await redis.get(touched[0]);
            if (got !== value) errors.push(`GET ${touched[0]} -> ${got}, expected ${value}`);
          } else {
            const ok = await redis.mset(...touched.flatMap((k) => [k, `${value}/${k}`]));
            if (ok !== 'OK') errors.push(`MSET -> ${ok}`);
            for (const k of touched) expected.set(k, `${value}/${k}`);
            const got = await redis.mget(...touched);
            const want = touched.map((k) => `${value}/${k}`);
            if (JSON.stringify(got) !== JSON.stringify(want)) errors.push(`MGET ${touched.join(' ')} -> ${JSON.stringify(got)}`);
          }
          requests += 2;
          // Paced, so redis-cli (moving thousands of slots) isn't starved of the two cores.
          if (round % 4 === 3) await pause(2);
        } catch (error) {
          errors.push((error as Error).message);
          // The write may or may not have happened: whatever these keys hold is acceptable now.
          for (const k of touched) expected.delete(k);
        }
      }
    } finally {
      redis.disconnect();
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

/** Reads every key written so far through slotgate; returns those with a wrong value. */
async function wrongValues(): Promise<string[]> {
  const keys = [...expected.keys()];
  const wrong: string[] = [];
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500);
    const values = await client.mget(...batch);
    batch.forEach((key, j) => {
      if (values[j] !== expected.get(key)) wrong.push(`${key}: ${values[j]} (expected ${expected.get(key)})`);
    });
  }
  return wrong;
}

/** Calls of the data commands (GET, SET, MGET, MSET) a node has run, from INFO commandstats. */
async function dataCalls(address: string): Promise<number> {
  const stats = String(await nodeCommand(address, 'INFO', 'commandstats'));
  let calls = 0;
  for (const command of ['get', 'set', 'mget', 'mset']) calls += Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  return calls;
}

/** A key whose slot `address` (a master) serves, according to `seed`. */
async function keyServedBy(seed: string, address: string, prefix: string): Promise<string> {
  const ranges = (await clusterSlots(seed)).filter((range) => range.master === address);
  // A master with a quarter of the slots is hit within a few tries.
  for (let i = 0; i < 10_000; i++) {
    const slot = calculateSlot(`${prefix}:${i}`);
    if (ranges.some((range) => slot >= range.start && slot <= range.end)) return `${prefix}:${i}`;
  }
  throw new Error(`no key found served by ${address}`);
}

// The two resharding tests take 10 to 20 s alone, up to 35 s when another cluster shares the two
// cores: redis-cli moves 4096 slots one at a time, each with a few fsyncs of nodes.conf.
it('adds a fourth master and rebalances onto it under MGET/MSET/GET/SET traffic with no client error', async () => {
  const node = await startEmptyNode({ nodeTimeoutMs: 2000 });
  extraNodes.push(node);
  const traffic = startTraffic(proxy.port, 'rebalance');
  await pause(300);

  const started = Date.now();
  let newId: string, seed: string, output: string, tookMs: number;
  try {
    newId = await addMaster(cluster, node);
    seed = await liveSeed(cluster.seeds);
    output = await rebalance(seed, { useEmptyMasters: true });
    tookMs = Date.now() - started;
    // A refresh or two after the last move, with traffic still flowing.
    await pause(2000);
  } finally {
    await traffic.stop();
  }

  const owned = await slotsOwnedBy(seed, newId);
  const stats = proxy.stats();
  console.log(
    `rebalance onto ${node.address}: ${owned} slots moved in ${tookMs} ms; ${traffic.requests} requests, ` +
      `${traffic.errors.length} errors; MOVED ${stats.redirectsMoved}, ASK ${stats.redirectsAsk}, parked ${stats.parkedTotal} ` +
      `(longest ${stats.longestParkMs} ms)`,
  );
  expect(output).toMatch(/Moving \d+ slots from/);
  expect(traffic.errors.slice(0, 10)).toEqual([]);
  expect(traffic.requests).toBeGreaterThan(200);
  expect(owned).toBeGreaterThan(3000);
  expect(await wrongValues()).toEqual([]);

  // slotgate routes to the new master: it has a pool there, and a key of one of its slots written
  // through slotgate lands on it.
  expect(stats.nodes.map((n) => n.address)).toContain(node.address);
  const key = await keyServedBy(seed, node.address, 'on-new-master');
  expect(await client.set(key, 'routed')).toBe('OK');
  expect(await nodeCommand(node.address, 'GET', key)).toBe('routed');
  expect(Number(await nodeCommand(node.address, 'DBSIZE'))).toBeGreaterThan(PRELOADED / 8);
}, 90_000);

it('empties a master by resharding, removes it with del-node under traffic, and stops using it', async () => {
  const victim = cluster.seeds[0]; // a master from the start
  const target = cluster.seeds[1];
  const seed = target;
  const victimId = await nodeId(victim);
  const targetId = await nodeId(target);
  const traffic = startTraffic(proxy.port, 'remove');
  await pause(300);

  const started = Date.now();
  let moved: number, tookMs: number, callsBefore: number, callsAfter: number;
  try {
    moved = await reshardAllSlotsAway(seed, victimId, targetId, { timeoutMs: 70_000 });
    await delNode(seed, victimId);
    tookMs = Date.now() - started;
    // Refreshes (every second) see the map without it; then nothing more may reach it.
    await pause(1500);
    callsBefore = await dataCalls(victim);
    await pause(1500);
    callsAfter = await dataCalls(victim);
  } finally {
    await traffic.stop();
  }

  const stats = proxy.stats();
  console.log(
    `${moved} slots moved off ${victim} and the node removed in ${tookMs} ms; ${traffic.requests} requests, ` +
      `${traffic.errors.length} errors; MOVED ${stats.redirectsMoved}, ASK ${stats.redirectsAsk}, parked ${stats.parkedTotal}; ` +
      `pool for the removed node: ${JSON.stringify(stats.nodes.find((n) => n.address === victim) ?? null)}`,
  );
  expect(moved).toBeGreaterThan(3000);
  expect(traffic.errors.slice(0, 10)).toEqual([]);
  expect(traffic.requests).toBeGreaterThan(200);
  expect(await clusterMembers(seed)).not.toContain(victim);
  expect(callsAfter - callsBefore).toBe(0);
  const pool = stats.nodes.find((n) => n.address === victim);
  expect(pool?.inFlight ?? 0).toBe(0);
  expect(await wrongValues()).toEqual([]);
}, 90_000);

it('holds a same-slot MGET and MSET while their slot is half moved (keys moved, one not existing) until the move ends', async () => {
  const seed = await liveSeed(cluster.seeds);
  const tag = '{half-moved}';
  const slot = calculateSlot(tag);
  const ranges = await clusterSlots(seed);
  const source = ranges.find((range) => slot >= range.start && slot <= range.end)!;
  const target = ranges.find((range) => range.master !== source.master)!;
  const masters = [...new Set(ranges.map((range) => range.master))];
  // One key for the reader, one for the writer, so the two don't race each other.
  expect(await client.mset(`${tag}:read`, 'moved value', `${tag}:write`, 'old value')).toBe('OK');

  // As redis-cli does it, stopped halfway: the existing keys have moved, the slot has not.
  await nodeCommand(target.master, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.masterId);
  await nodeCommand(source.master, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.masterId);
  const [targetHost, targetPort] = target.master.split(':');
  expect(await nodeCommand(source.master, 'MIGRATE', targetHost, targetPort, '', 0, 5000, 'KEYS', `${tag}:read`, `${tag}:write`)).toBe('OK');

  // The source answers ASK (it has none of the keys), the target TRYAGAIN (it lacks one of them):
  // both commands must wait, however many times that repeats, not fail.
  const reader = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
  const writer = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
  const started = Date.now();
  const read = reader.mget(`${tag}:read`, `${tag}:never-written`).then(
    (values) => ({ values, ms: Date.now() - started }),
    (error: Error) => ({ error: error.message, ms: Date.now() - started }),
  );
  const write = writer.mset(`${tag}:write`, 'rewritten', `${tag}:new`, 'new value').then(
    (reply) => ({ reply, ms: Date.now() - started }),
    (error: Error) => ({ error: error.message, ms: Date.now() - started }),
  );
  // The rest of the slot's keys (other tests' keys share it) follow, then the slot is handed over.
  let finished = false;
  const finishMove = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    for (let batch = 0; batch < 100; batch++) {
      const keys = (await nodeCommand(source.master, 'CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
      if (keys.length === 0) break;
      await nodeCommand(source.master, 'MIGRATE', targetHost, targetPort, '', 0, 5000, 'KEYS', ...keys);
    }
    for (const node of [target.master, source.master, ...masters]) {
      await nodeCommand(node, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.masterId);
    }
  };
  try {
    await pause(1500);
    await finishMove();
    const [readResult, writeResult] = await Promise.all([read, write]);
    console.log(`half-moved slot: MGET ${JSON.stringify(readResult)}, MSET ${JSON.stringify(writeResult)}; ASK so far ${proxy.stats().redirectsAsk}`);
    expect(readResult).toMatchObject({ values: ['moved value', null] });
    expect(writeResult).toMatchObject({ reply: 'OK' });
    expect(readResult.ms).toBeGreaterThanOrEqual(1400);
    expect(await client.mget(`${tag}:write`, `${tag}:new`)).toEqual(['rewritten', 'new value']);
    expected.set(`${tag}:read`, 'moved value');
    expected.set(`${tag}:write`, 'rewritten');
    expected.set(`${tag}:new`, 'new value');
  } finally {
    reader.disconnect();
    writer.disconnect();
    // Whatever happened, leave the slot whole on one node for the next test.
    await finishMove();
  }
});

it('ignores a stale CLUSTER SLOTS from one node: the majority map stays and nothing goes to the wrong address', async () => {
  // The fake claims every slot for itself: anything slotgate sent it would be routed wrongly.
  const fake = await startFakeClusterNode({ slots: (self) => [{ start: 0, end: 16383, master: self }] });
  let staleProxy: RunningProxy | undefined;
  try {
    const members = await clusterMembers(await liveSeed(cluster.seeds));
    staleProxy = await startTestProxy([fake.address, ...members], { topologyRefreshIntervalSeconds: 1 });
    const traffic = startTraffic(staleProxy.port, 'stale');
    try {
      await pause(4000);
    } finally {
      await traffic.stop();
    }
    const stats = staleProxy.stats();

    console.log(
      `stale node asked CLUSTER SLOTS ${fake.countOf('CLUSTER SLOTS')} times in 4 s; ${traffic.requests} requests, ` +
        `${traffic.errors.length} errors; data commands sent to it: ${fake.dataRequests().length}`,
    );
    expect(traffic.errors.slice(0, 10)).toEqual([]);
    expect(traffic.requests).toBeGreaterThan(200);
    // It was asked (start-up plus a refresh a second), and outvoted every time.
    expect(fake.countOf('CLUSTER SLOTS')).toBeGreaterThanOrEqual(3);
    expect(fake.dataRequests()).toEqual([]);
    expect(stats.nodes.map((n) => n.address)).not.toContain(fake.address);
    const realMasters = new Set((await clusterSlots(members[0])).map((range) => range.master));
    expect(stats.masters).toBe(realMasters.size);
    expect(await wrongValues()).toEqual([]);
  } finally {
    await staleProxy?.close();
    await fake.close();
  }
});
