/**
 * Slots moving under slotgate while clients use it: a master added and the cluster rebalanced onto
 * it, a master emptied and removed, and one node reporting a stale map. Clients must see no error
 * and no wrong value; slotgate must end up routing where the cluster says.
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
 * Clients writing and reading their own keys through `port` until stopped (or 45 s): SET then GET,
 * MSET of four keys in different slots then MGET of them. Each client is the only writer of its
 * keys, so every reply has exactly one right value; anything else is recorded as an error.
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
        const key = keys[round % keys.length];
        const value = `${round}`;
        try {
          if (round % 2 === 0) {
            const ok = await redis.set(key, value);
            if (ok !== 'OK') errors.push(`SET ${key} -> ${ok}`);
            expected.set(key, value);
            const got = await redis.get(key);
            if (got !== value) errors.push(`GET ${key} -> ${got}, expected ${value}`);
          } else {
            const group = [0, 1, 2, 3].map((j) => keys[(round + j * 7) % keys.length]);
            const ok = await redis.mset(...group.flatMap((k) => [k, `${value}/${k}`]));
            if (ok !== 'OK') errors.push(`MSET -> ${ok}`);
            for (const k of group) expected.set(k, `${value}/${k}`);
            const got = await redis.mget(...group);
            const want = group.map((k) => `${value}/${k}`);
            if (JSON.stringify(got) !== JSON.stringify(want)) errors.push(`MGET ${group.join(' ')} -> ${JSON.stringify(got)}`);
          }
          requests += 2;
        } catch (error) {
          errors.push((error as Error).message);
          // The write may or may not have happened: whatever these keys hold is acceptable now.
          for (let j = 0; j < 4; j++) expected.delete(keys[(round + j * 7) % keys.length]);
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
});

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
    moved = await reshardAllSlotsAway(seed, victimId, targetId, { timeoutMs: 40_000 });
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
