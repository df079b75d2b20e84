/**
 * slotgate in front of a 3-master cluster, compared command by command with one plain redis-server
 * (the oracle) holding the same data: whatever a client sees through slotgate should be what it
 * would see from a single Redis, except where slotgate says, with `ERR slotgate: ...`, that it
 * can't do something.
 */
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, startRedisServer, type RedisClusterHandle, type RedisServerHandle } from '../helpers/redis-cluster.ts';
import { RawClient, type Reply } from '../helpers/raw-client.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';

const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

let cluster: RedisClusterHandle;
let oracle: RedisServerHandle;
let proxy: RunningProxy;
let viaProxy: RawClient;
let viaOracle: RawClient;
/** Standalone connections to each master (cluster.nodes[0..2]), to check what they hold. */
let masters: Redis[];
/** For each slot, the index in `masters` of its owner. */
let ownerOfSlot: number[];

beforeAll(async () => {
  [cluster, oracle] = await Promise.all([startRedisCluster(), startRedisServer()]);
  proxy = await startTestProxy(cluster.seeds);
  viaProxy = await RawClient.open(proxy.port);
  viaOracle = await RawClient.open(oracle.port);
  masters = cluster.nodes.slice(0, 3).map((node) => new Redis({ host: node.host, port: node.port, maxRetriesPerRequest: 0 }));
  ownerOfSlot = await readSlotOwners();
  await seed();
});

afterAll(async () => {
  viaProxy?.close();
  viaOracle?.close();
  for (const master of masters ?? []) master.disconnect();
  await proxy?.close();
  await Promise.all([cluster?.stop(), oracle?.stop()]);
});

// ---- helpers ----

async function readSlotOwners(): Promise<number[]> {
  const ports = cluster.nodes.slice(0, 3).map((node) => node.port);
  const owners = new Array<number>(16384).fill(-1);
  const ranges = (await masters[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  for (const [start, end, [, port]] of ranges) owners.fill(ports.indexOf(Number(port)), start, end + 1);
  return owners;
}

/** Index in `masters` of the master that owns `key`. */
function masterOf(key: string): number {
  return ownerOfSlot[calculateSlot(key)];
}

/** The first `perMaster` keys `${prefix}0`, `${prefix}1` … that land on each master, grouped by master. */
function keysPerMaster(prefix: string, perMaster: number): string[][] {
  const groups: string[][] = [[], [], []];
  for (let i = 0; i < 10_000 && groups.some((group) => group.length < perMaster); i++) {
    const key = `${prefix}${i}`;
    const group = groups[masterOf(key)];
    if (group.length < perMaster) group.push(key);
  }
  return groups;
}

/** Replies in a form toEqual compares well: errors become `{ error: message }`. */
function normalize(reply: Reply): unknown {
  if (reply instanceof Error) return { error: reply.message };
  if (Array.isArray(reply)) return reply.map(normalize);
  return reply;
}

function isErrorReply(reply: unknown): reply is { error: string } {
  return typeof reply === 'object' && reply !== null && 'error' in reply;
}

async function both(...args: string[]): Promise<{ proxy: unknown; oracle: unknown }> {
  const [fromProxy, fromOracle] = await Promise.all([viaProxy.command(...args), viaOracle.command(...args)]);
  return { proxy: normalize(fromProxy), oracle: normalize(fromOracle) };
}

/** Runs one command on slotgate and on the oracle, expects the same reply, and returns it. */
async function expectSame(...args: string[]): Promise<unknown> {
  const replies = await both(...args);
  expect(replies.proxy, args.join(' ').slice(0, 200)).toEqual(replies.oracle);
  return replies.proxy;
}

/** Pipelines `commands` to both and returns their replies, normalized. */
async function pipelineBoth(commands: string[][]): Promise<{ proxy: unknown[]; oracle: unknown[] }> {
  for (const args of commands) {
    viaProxy.send(...args);
    viaOracle.send(...args);
  }
  const [fromProxy, fromOracle] = await Promise.all([viaProxy.read(commands.length, 20_000), viaOracle.read(commands.length, 20_000)]);
  return { proxy: fromProxy.map(normalize), oracle: fromOracle.map(normalize) };
}

/** Pipelines `commands` to both, expecting the same replies and no error. */
async function runOnBoth(commands: string[][]): Promise<void> {
  const replies = await pipelineBoth(commands);
  const failed = commands.filter((_, i) => isErrorReply(replies.proxy[i]) || isErrorReply(replies.oracle[i]));
  expect(failed).toEqual([]);
  expect(replies.proxy).toEqual(replies.oracle);
}

/** 300 keys of five types, some with a TTL, plus a few sharing the hash tag {tag}. */
function seedCommands(): string[][] {
  const commands: string[][] = [];
  for (let i = 0; i < 100; i++) commands.push(i % 10 === 0 ? ['SET', `str:${i}`, `value:${i}`, 'EX', '3600'] : ['SET', `str:${i}`, `value:${i}`]);
  for (let i = 0; i < 50; i++) {
    commands.push(['HSET', `hash:${i}`, 'f1', String(i), 'f2', 'x'.repeat(i)]);
    if (i % 10 === 0) commands.push(['EXPIRE', `hash:${i}`, '3600']);
    commands.push(['RPUSH', `list:${i}`, 'a', 'b', String(i)]);
    commands.push(['SADD', `set:${i}`, 'm1', 'm2', String(i)]);
    commands.push(['ZADD', `zset:${i}`, '1', 'a', String(i + 2), 'b']);
  }
  commands.push(
    ['SADD', '{tag}s1', 'm1', 'm2', 'm3'],
    ['SADD', '{tag}s2', 'm2', 'm3', 'm4'],
    ['ZADD', '{tag}z1', '1', 'a', '2', 'b'],
    ['ZADD', '{tag}z2', '3', 'b', '4', 'c'],
    ['RPUSH', '{tag}l1', 'x', 'y', 'z'],
    ['RPUSH', '{tag}l2', 'q'],
  );
  return commands;
}

const SEED_KEY_COUNT = 306;

async function seed(): Promise<void> {
  await runOnBoth(seedCommands());
}

async function dbsizeOfEachMaster(): Promise<number[]> {
  return Promise.all(masters.map((master) => master.dbsize()));
}

/** Every key a full SCAN returns (duplicates kept), following cursors for at most 10,000 calls. */
async function scanAll(client: RawClient, extra: string[]): Promise<{ keys: string[]; cursors: string[] }> {
  const keys: string[] = [];
  const cursors: string[] = [];
  let cursor = '0';
  let calls = 0;
  do {
    const reply = (await client.command('SCAN', cursor, ...extra)) as [string, string[]] | Error;
    if (reply instanceof Error) throw reply;
    calls++;
    [cursor] = reply;
    cursors.push(cursor);
    keys.push(...reply[1]);
  } while (cursor !== '0' && calls < 10_000);
  expect(cursor, 'SCAN ended').toBe('0');
  return { keys, cursors };
}

function duplicatesOf(keys: string[]): string[] {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const key of keys) {
    if (seen.has(key)) duplicates.push(key);
    seen.add(key);
  }
  return duplicates;
}

function sorted(reply: unknown): string[] {
  return [...(reply as string[])].sort();
}

// ---- tests ----

describe('the data set', () => {
  it('is spread over all three masters', async () => {
    const counts = await dbsizeOfEachMaster();
    expect(counts.reduce((a, b) => a + b, 0)).toBe(SEED_KEY_COUNT);
    for (const count of counts) expect(count).toBeGreaterThan(50);
  });
});

describe('multi-key commands split by slot', () => {
  it('MGET of 1,000 keys over many slots, some missing or of another type, equals the oracle', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 4 === 0) keys.push(`str:${i % 130}`); // 100 exist, 30 missing
      else if (i % 4 === 1) keys.push(`missing:${i}`);
      else if (i % 4 === 2) keys.push(`hash:${i % 60}`); // wrong type: nil
      else keys.push(`str:${(i * 7) % 100}`);
    }
    expect(new Set(keys.map((key) => calculateSlot(key))).size).toBeGreaterThan(300);
    const reply = (await expectSame('MGET', ...keys)) as (string | null)[];
    expect(reply).toHaveLength(1000);
    expect(reply[0]).toBe('value:0');
    expect(reply[1]).toBeNull();
  });

  it('MGET with the same key several times gives its value at each place', async () => {
    await expectSame('MGET', 'str:5', 'str:6', 'str:5', 'missing:1', 'str:5');
  });

  it('MSET over many slots answers OK, and every key reads back', async () => {
    const args: string[] = [];
    for (let i = 0; i < 200; i++) args.push(`mset:${i}`, `v:${i}`);
    expect(await expectSame('MSET', ...args)).toBe('OK');
    const keys = Array.from({ length: 200 }, (_, i) => `mset:${i}`);
    const values = (await expectSame('MGET', ...keys)) as string[];
    expect(values).toEqual(keys.map((_, i) => `v:${i}`));
    for (const i of [0, 77, 199]) expect(await expectSame('GET', `mset:${i}`)).toBe(`v:${i}`);
    await expectSame('DBSIZE');
  });

  it('MSET with a key given twice keeps the last value, as Redis does', async () => {
    expect(await expectSame('MSET', 'twice', 'first', 'other:1', 'x', 'twice', 'second', 'other:2', 'y')).toBe('OK');
    expect(await expectSame('GET', 'twice')).toBe('second');
  });

  it('EXISTS and TOUCH count every key given, duplicates and all, like Redis', async () => {
    const keys = ['str:1', 'str:2', 'str:1', 'missing:a', 'hash:3', 'list:4', 'set:5', 'zset:6', 'str:1', 'missing:b'];
    expect(await expectSame('EXISTS', ...keys)).toBe(8);
    expect(await expectSame('TOUCH', ...keys)).toBe(8);
    expect(await expectSame('EXISTS', 'missing:a', 'missing:b')).toBe(0);
  });

  it('DEL and UNLINK count each key deleted once, over many slots', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `del:${i}`);
    await expectSame('MSET', ...keys.flatMap((key) => [key, 'x']));
    expect(await expectSame('DEL', ...keys.slice(0, 20), 'del:0', 'del:5', 'missing:del')).toBe(20);
    expect(await expectSame('UNLINK', ...keys.slice(15), 'del:39', 'missing:unlink')).toBe(20);
    expect(await expectSame('EXISTS', ...keys)).toBe(0);
    expect(await expectSame('DEL', 'missing:1', 'missing:2', 'missing:3')).toBe(0);
  });
});

describe('pipelining', () => {
  it('a pipeline mixing split, cluster-wide, local and single-key commands gets its replies in order', async () => {
    const commands = [
      ['SET', 'pipe:1', 'a'],
      ['MGET', 'pipe:1', 'str:1', 'str:2', 'missing:p'],
      ['PING'],
      ['DBSIZE'],
      ['MSET', 'pipe:2', 'b', 'pipe:3', 'c', 'pipe:4', 'd'],
      ['ECHO', 'between'],
      ['EXISTS', 'pipe:1', 'pipe:2', 'pipe:3', 'pipe:4', 'pipe:5'],
      ['GET', 'pipe:3'],
      ['INCR', 'str:1'],
      ['DEL', 'pipe:1', 'pipe:2', 'pipe:3', 'pipe:4'],
      ['DBSIZE'],
      ['MGET', 'pipe:1', 'pipe:2'],
    ];
    const replies = await pipelineBoth(commands);
    expect(replies.proxy).toEqual(replies.oracle);
    expect(replies.proxy[6]).toBe(4);
    expect(await expectSame('KEYS', 'pipe:*')).toEqual([]);
  });
});

describe('cluster-wide commands', () => {
  it('DBSIZE equals the oracle and the sum of the masters', async () => {
    const size = await expectSame('DBSIZE');
    expect(size).toBe((await dbsizeOfEachMaster()).reduce((a, b) => a + b, 0));
  });

  it('KEYS with patterns returns the same keys as the oracle', async () => {
    for (const pattern of ['*', 'str:*', 'hash:1?', '*[0-3]', 'z*:4*', '{tag}*', 'nothing:*']) {
      const { proxy: fromProxy, oracle: fromOracle } = await both('KEYS', pattern);
      expect(sorted(fromProxy), pattern).toEqual(sorted(fromOracle));
    }
  });

  it('a SCAN loop with COUNT 10 visits every key of the oracle, over every master', async ({ annotate }) => {
    const fromProxy = await scanAll(viaProxy, ['COUNT', '10']);
    const expected = sorted(await viaOracle.command('KEYS', '*'));
    expect([...new Set(fromProxy.keys)].sort()).toEqual(expected);
    for (const cursor of fromProxy.cursors) expect(cursor).toMatch(/^\d+$/);
    // When a master's own scan ends, the cursor moves on to the start of the next: "1", then "2".
    expect(fromProxy.cursors.filter((cursor) => cursor === '1' || cursor === '2')).toEqual(['1', '2']);
    const duplicates = duplicatesOf(fromProxy.keys);
    if (duplicates.length > 0) await annotate(`SCAN returned ${duplicates.length} keys twice: ${duplicates.slice(0, 10).join(' ')}`);
  });

  it('SCAN with MATCH returns the keys the oracle returns', async ({ annotate }) => {
    for (const match of ['str:1*', 'hash:*', '*:4?', 'nothing:*']) {
      const fromProxy = await scanAll(viaProxy, ['MATCH', match, 'COUNT', '10']);
      const fromOracle = await scanAll(viaOracle, ['MATCH', match, 'COUNT', '10']);
      expect([...new Set(fromProxy.keys)].sort(), match).toEqual([...new Set(fromOracle.keys)].sort());
      const duplicates = duplicatesOf(fromProxy.keys);
      if (duplicates.length > 0) await annotate(`SCAN MATCH ${match}: ${duplicates.length} keys twice`);
    }
  });

  it('SCAN with TYPE (and with MATCH and TYPE) returns the keys the oracle returns', async () => {
    for (const extra of [
      ['TYPE', 'string'],
      ['TYPE', 'hash'],
      ['TYPE', 'zset'],
      ['MATCH', '*1*', 'TYPE', 'list'],
      ['MATCH', '{tag}*', 'TYPE', 'set'],
    ]) {
      const fromProxy = await scanAll(viaProxy, [...extra, 'COUNT', '10']);
      const fromOracle = await scanAll(viaOracle, [...extra, 'COUNT', '10']);
      expect([...new Set(fromProxy.keys)].sort(), extra.join(' ')).toEqual([...new Set(fromOracle.keys)].sort());
      expect(fromProxy.keys.length).toBeGreaterThan(0);
    }
  });

  it('SCAN refuses a cursor that is not a number, as Redis does', async () => {
    const reply = await expectSame('SCAN', 'abc');
    expect(reply).toEqual({ error: 'ERR invalid cursor' });
  });

  it('RANDOMKEY returns a key that exists', async () => {
    for (let i = 0; i < 10; i++) {
      const key = await viaProxy.command('RANDOMKEY');
      expect(typeof key).toBe('string');
      expect(await viaOracle.command('EXISTS', key as string)).toBe(1);
    }
  });

  it('TIME is two integers, seconds and microseconds, close to now', async () => {
    const reply = (await viaProxy.command('TIME')) as string[];
    expect(reply).toHaveLength(2);
    expect(reply[0]).toMatch(/^\d+$/);
    expect(reply[1]).toMatch(/^\d+$/);
    expect(Math.abs(Number(reply[0]) - Date.now() / 1000)).toBeLessThan(60);
    expect(Number(reply[1])).toBeLessThan(1_000_000);
  });

  it('LASTSAVE is an integer: the oldest save of any master', async () => {
    const reply = await viaProxy.command('LASTSAVE');
    expect(Number.isInteger(reply)).toBe(true);
    const each = await Promise.all(masters.map((master) => master.lastsave()));
    expect(reply).toBe(Math.min(...each));
  });

  it('INFO has a Proxy section, the Keyspace of the whole cluster and cluster_enabled:0', async () => {
    const info = (await viaProxy.command('INFO')) as string;
    const dbsize = await viaProxy.command('DBSIZE');
    expect(info).toContain('# Proxy\r\n');
    expect(info).toContain('# Keyspace\r\n');
    expect(info).toMatch(/^cluster_enabled:0\r$/m);
    expect(info).not.toMatch(/^cluster_enabled:1/m);
    expect(/^db0:keys=(\d+),/m.exec(info)?.[1]).toBe(String(dbsize));
    // Every section a single Redis has is there too.
    const oracleInfo = (await viaOracle.command('INFO')) as string;
    const sections = (text: string): string[] => text.match(/^# \w+/gm) ?? [];
    expect(sections(info)).toEqual(expect.arrayContaining(sections(oracleInfo)));
  });

  it('INFO keyspace counts the keys, and the keys with a TTL, of every master', async () => {
    const { proxy: fromProxy, oracle: fromOracle } = await both('INFO', 'keyspace');
    const counts = (info: unknown): string | undefined => /^db0:(keys=\d+,expires=\d+),/m.exec(String(info))?.[1];
    expect(counts(fromProxy)).toBe(counts(fromOracle));
    expect(counts(fromProxy)).toMatch(/expires=[1-9]/);
  });
});

describe('commands on keys that share a slot, and those that do not', () => {
  it('refuses MSETNX, RENAME, SMOVE, SINTERSTORE, ZUNIONSTORE and LMOVE across slots with CROSSSLOT', async () => {
    expect(calculateSlot('set:1')).not.toBe(calculateSlot('set:2'));
    const requests = [
      ['MSETNX', 'new:1', 'a', 'new:2', 'b'],
      ['RENAME', 'str:1', 'str:renamed'],
      ['SMOVE', 'set:1', 'set:2', 'm1'],
      ['SINTERSTORE', 'dest:sinter', 'set:1', 'set:2'],
      ['ZUNIONSTORE', 'dest:zunion', '2', 'zset:1', 'zset:2'],
      ['LMOVE', 'list:1', 'list:2', 'LEFT', 'RIGHT'],
    ];
    for (const args of requests) {
      expect(calculateSlot(args[1]), args.join(' ')).not.toBe(calculateSlot(args[2] === '2' ? args[3] : args[2]));
      expect(normalize(await viaProxy.command(...args)), args.join(' ')).toEqual({ error: CROSSSLOT });
    }
    // Nothing was done.
    expect(await expectSame('EXISTS', 'new:1', 'new:2', 'str:renamed', 'dest:sinter', 'dest:zunion')).toBe(0);
    expect(await expectSame('GET', 'str:1')).toBe('value:1');
  });

  it('runs them like Redis when the keys share a hash tag', async () => {
    expect(await expectSame('MSETNX', '{tag}a', '1', '{tag}b', '2')).toBe(1);
    expect(await expectSame('MSETNX', '{tag}a', '3', '{tag}new', '4')).toBe(0);
    expect(await expectSame('RENAME', '{tag}a', '{tag}renamed')).toBe('OK');
    expect(await expectSame('SMOVE', '{tag}s1', '{tag}s2', 'm1')).toBe(1);
    expect(await expectSame('SINTERSTORE', '{tag}inter', '{tag}s1', '{tag}s2')).toBe(2);
    expect(await expectSame('ZUNIONSTORE', '{tag}union', '2', '{tag}z1', '{tag}z2')).toBe(3);
    expect(await expectSame('LMOVE', '{tag}l1', '{tag}l2', 'LEFT', 'RIGHT')).toBe('x');
    const { proxy: members, oracle: oracleMembers } = await both('SMEMBERS', '{tag}s2');
    expect(sorted(members)).toEqual(sorted(oracleMembers));
    await expectSame('ZRANGE', '{tag}union', '0', '-1', 'WITHSCORES');
    await expectSame('LRANGE', '{tag}l2', '0', '-1');
    await expectSame('MGET', '{tag}a', '{tag}b', '{tag}renamed', '{tag}new');
  });
});

describe('keyless commands answered by one master', () => {
  it('COMMAND COUNT equals the oracle', async () => {
    const count = await expectSame('COMMAND', 'COUNT');
    expect(count).toBeGreaterThan(200);
  });

  it('COMMAND GETKEYS finds the keys as Redis does', async () => {
    expect(await expectSame('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2')).toEqual(['a', 'b']);
    await expectSame('COMMAND', 'GETKEYS', 'ZUNIONSTORE', 'dest', '2', 'k1', 'k2', 'WEIGHTS', '1', '2');
    await expectSame('COMMAND', 'GETKEYS', 'EVAL', 'return 1', '2', 'k1', 'k2', 'arg');
  });

  it('COMMAND INFO get equals the oracle', async () => {
    await expectSame('COMMAND', 'INFO', 'get');
    await expectSame('COMMAND', 'INFO', 'mget', 'no-such-command');
  });

  it('CONFIG GET maxmemory-policy equals the oracle', async () => {
    expect(await expectSame('CONFIG', 'GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
  });
});

describe('key introspection on every master', () => {
  /** One seeded key of each type on each master. */
  function sampleKeys(): string[] {
    return ['str:', 'hash:', 'list:', 'set:', 'zset:'].flatMap((prefix) => keysPerMaster(prefix, 1).flat());
  }

  it('OBJECT ENCODING equals the oracle for a key of each type on each master', async () => {
    const keys = sampleKeys();
    expect(keys).toHaveLength(15);
    expect(await expectSame('EXISTS', ...keys)).toBe(15);
    for (const key of keys) await expectSame('OBJECT', 'ENCODING', key);
  });

  it('MEMORY USAGE equals what the owning master says, and is within a few bytes of the oracle', async () => {
    for (const key of sampleKeys()) {
      const fromProxy = (await viaProxy.command('MEMORY', 'USAGE', key)) as number;
      expect(fromProxy, key).toBe(await masters[masterOf(key)].call('MEMORY', 'USAGE', key));
      // A cluster node keeps 16 bytes more per key (its slot's key list), so allow for that.
      const fromOracle = (await viaOracle.command('MEMORY', 'USAGE', key)) as number;
      expect(Math.abs(fromProxy - fromOracle), key).toBeLessThanOrEqual(16);
    }
  });
});

describe('scripts', () => {
  const SCRIPT = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])";

  it('SCRIPT LOAD loads on every master, so EVALSHA works on keys of every master', async () => {
    const sha = (await expectSame('SCRIPT', 'LOAD', SCRIPT)) as string;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    for (const [key] of keysPerMaster('script:', 1)) {
      expect(await expectSame('EVALSHA', sha, '1', key, `ran:${key}`)).toBe(`ran:${key}`);
      expect(await masters[masterOf(key)].get(key)).toBe(`ran:${key}`);
    }
    for (const master of masters) expect(await master.call('SCRIPT', 'EXISTS', sha)).toEqual([1]);
  });

  it('SCRIPT EXISTS says which scripts are loaded', async () => {
    const sha = (await viaProxy.command('SCRIPT', 'LOAD', SCRIPT)) as string;
    expect(await expectSame('SCRIPT', 'EXISTS', sha, '0000000000000000000000000000000000000000', sha)).toEqual([1, 0, 1]);
  });

  it('SCRIPT EXISTS says 0 for a script only some masters have', async () => {
    const sha = (await masters[1].call('SCRIPT', 'LOAD', 'return 42')) as string;
    expect(await viaProxy.command('SCRIPT', 'EXISTS', sha)).toEqual([0]);
  });

  it('SCRIPT FLUSH empties the script cache of every master', async () => {
    const sha = (await viaProxy.command('SCRIPT', 'LOAD', SCRIPT)) as string;
    expect(await expectSame('SCRIPT', 'FLUSH')).toBe('OK');
    expect(await expectSame('SCRIPT', 'EXISTS', sha)).toEqual([0]);
    for (const master of masters) expect(await master.call('SCRIPT', 'EXISTS', sha)).toEqual([0]);
    const [key] = keysPerMaster('script:', 1)[2];
    const reply = await expectSame('EVALSHA', sha, '1', key, 'x');
    expect((reply as { error: string }).error).toMatch(/^NOSCRIPT/);
  });
});

describe('functions', () => {
  const LIBRARY = [
    '#!lua name=lib',
    "redis.register_function('lib_set_get', function(keys, args) redis.call('SET', keys[1], args[1]); return redis.call('GET', keys[1]) end)",
    "redis.register_function{function_name='lib_len', callback=function(keys, args) return redis.call('STRLEN', keys[1]) end, flags={'no-writes'}}",
  ].join('\n');

  it('FUNCTION LOAD loads on every master, so FCALL works on keys of every master', async () => {
    expect(await expectSame('FUNCTION', 'LOAD', LIBRARY)).toBe('lib');
    for (const [key] of keysPerMaster('fcall:', 1)) {
      expect(await expectSame('FCALL', 'lib_set_get', '1', key, `fn:${key}`)).toBe(`fn:${key}`);
      expect(await expectSame('FCALL_RO', 'lib_len', '1', key)).toBe(`fn:${key}`.length);
      expect(await masters[masterOf(key)].get(key)).toBe(`fn:${key}`);
    }
  });

  it('FUNCTION LOAD of a library that exists fails as on Redis', async () => {
    const reply = await expectSame('FUNCTION', 'LOAD', LIBRARY);
    expect((reply as { error: string }).error).toContain('already exists');
    expect(await expectSame('FUNCTION', 'LOAD', 'REPLACE', LIBRARY)).toBe('lib');
  });

  /** FUNCTION LIST with each library's functions sorted by name: their order is a hash table's. */
  function canonical(reply: unknown): unknown {
    if (!Array.isArray(reply)) return reply;
    return reply.map((library: unknown[]) =>
      library.map((value, i) =>
        library[i - 1] === 'functions' ? [...(value as unknown[][])].sort((a, b) => String(a[1]).localeCompare(String(b[1]))) : value,
      ),
    );
  }

  it('FUNCTION LIST equals the oracle', async () => {
    for (const args of [['FUNCTION', 'LIST'], ['FUNCTION', 'LIST', 'WITHCODE', 'LIBRARYNAME', 'li*']]) {
      const { proxy: fromProxy, oracle: fromOracle } = await both(...args);
      expect(canonical(fromProxy), args.join(' ')).toEqual(canonical(fromOracle));
      expect(fromProxy).toHaveLength(1);
    }
  });

  it('FUNCTION DUMP then RESTORE puts the library back on every master', async () => {
    // The payload is binary: a client that keeps bytes as bytes.
    const client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
    try {
      const payload = await client.callBuffer('FUNCTION', 'DUMP');
      expect(Buffer.isBuffer(payload)).toBe(true);
      expect(await client.call('FUNCTION', 'FLUSH')).toBe('OK');
      expect(await client.call('FUNCTION', 'RESTORE', payload as Buffer)).toBe('OK');
      for (const master of masters) expect(canonical(await master.call('FUNCTION', 'LIST'))).toEqual(canonical(await viaOracle.command('FUNCTION', 'LIST')));
    } finally {
      client.disconnect();
    }
  });

  it('FUNCTION DELETE removes the library from every master', async () => {
    expect(await expectSame('FUNCTION', 'DELETE', 'lib')).toBe('OK');
    for (const master of masters) expect(await master.call('FUNCTION', 'LIST')).toEqual([]);
    const [key] = keysPerMaster('fcall:', 1)[1];
    await expectSame('FCALL', 'lib_set_get', '1', key, 'x');
    await expectSame('FUNCTION', 'DELETE', 'lib');
  });

  it('FUNCTION FLUSH empties every master', async () => {
    expect(await expectSame('FUNCTION', 'LOAD', LIBRARY)).toBe('lib');
    expect(await expectSame('FUNCTION', 'FLUSH')).toBe('OK');
    for (const master of masters) expect(await master.call('FUNCTION', 'LIST')).toEqual([]);
    await expectSame('FUNCTION', 'LIST');
  });
});

describe('commands answered by slotgate itself', () => {
  it('HELLO and HELLO 2 have the fields of a single Redis, and say mode standalone', async () => {
    const oracleHello = (await viaOracle.command('HELLO', '2')) as unknown[];
    const oracleFields = oracleHello.filter((_, i) => i % 2 === 0);
    const id = await viaProxy.command('CLIENT', 'ID');
    for (const args of [['HELLO'], ['HELLO', '2']]) {
      const reply = (await viaProxy.command(...args)) as unknown[];
      expect(reply.filter((_, i) => i % 2 === 0), args.join(' ')).toEqual(oracleFields);
      const fields = new Map<unknown, unknown>();
      for (let i = 0; i < reply.length; i += 2) fields.set(reply[i], reply[i + 1]);
      expect(fields.get('mode')).toBe('standalone');
      expect(fields.get('proto')).toBe(2);
      expect(fields.get('role')).toBe('master');
      expect(fields.get('id')).toBe(id);
      expect(fields.get('version')).toBe(oracleHello[oracleHello.indexOf('version') + 1]);
    }
  });

  it('HELLO 3 switches to RESP3 as Redis does: the same map, then the same RESP3 bytes', async () => {
    const [proxy3, oracle3] = await Promise.all([RawClient.open(proxy.port, { resp3: true }), RawClient.open(oracle.port, { resp3: true })]);
    try {
      const [fromProxy, fromOracle] = (await Promise.all([proxy3.command('HELLO', '3'), oracle3.command('HELLO', '3')])) as Map<string, unknown>[];
      expect([...fromProxy.keys()]).toEqual([...fromOracle.keys()]);
      for (const field of ['server', 'version', 'proto', 'mode', 'role', 'modules']) expect(fromProxy.get(field), field).toEqual(fromOracle.get(field));
      for (const args of [
        ['HSET', 'resp3:vs', 'f', 'v'],
        ['GET', 'resp3:vs:none'],
        ['HGETALL', 'resp3:vs'],
        ['HGETALL', 'resp3:vs:none'],
        ['ZADD', 'resp3:z', '1.5', 'm'],
        ['ZSCORE', 'resp3:z', 'm'],
        ['CLIENT', 'GETNAME'],
        ['MGET', 'resp3:vs:none', 'resp3:vs:none2'],
        ['DEL', 'resp3:vs', 'resp3:z'],
      ]) {
        const [a, b] = await Promise.all([proxy3.rawCommand(...args), oracle3.rawCommand(...args)]);
        expect(a.toString(), args.join(' ')).toBe(b.toString());
      }
    } finally {
      proxy3.close();
      oracle3.close();
    }
  });

  it('HELLO 2 SETNAME names the connection', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      await client.command('HELLO', '2', 'SETNAME', 'from-hello');
      expect(await client.command('CLIENT', 'GETNAME')).toBe('from-hello');
    } finally {
      client.close();
    }
  });

  it('HELLO 2 SETNAME refuses a name Redis refuses, and keeps the old name', async () => {
    const [toProxy, toOracle] = await Promise.all([RawClient.open(proxy.port), RawClient.open(oracle.port)]);
    try {
      for (const client of [toProxy, toOracle]) await client.command('CLIENT', 'SETNAME', 'before');
      const [fromProxy, fromOracle] = await Promise.all([toProxy, toOracle].map((client) => client.command('HELLO', '2', 'SETNAME', 'has space')));
      expect(normalize(fromProxy)).toEqual(normalize(fromOracle));
      expect(await toProxy.command('CLIENT', 'GETNAME')).toBe('before');
    } finally {
      toProxy.close();
      toOracle.close();
    }
  });

  it('CLIENT SETNAME and GETNAME behave as on Redis', async () => {
    await expectSame('CLIENT', 'GETNAME');
    expect(await expectSame('CLIENT', 'SETNAME', 'worker-1')).toBe('OK');
    expect(await expectSame('CLIENT', 'GETNAME')).toBe('worker-1');
    await expectSame('CLIENT', 'SETNAME', 'has space');
    expect(await expectSame('CLIENT', 'GETNAME')).toBe('worker-1');
    expect(await expectSame('CLIENT', 'SETNAME', '')).toBe('OK');
    expect(await expectSame('CLIENT', 'GETNAME')).toBeNull();
  });

  it('CLIENT ID is a stable positive integer, different for each connection', async () => {
    const id = await viaProxy.command('CLIENT', 'ID');
    expect(Number.isInteger(id) && (id as number) > 0).toBe(true);
    expect(await viaProxy.command('CLIENT', 'ID')).toBe(id);
    const other = await RawClient.open(proxy.port);
    try {
      expect(await other.command('CLIENT', 'ID')).not.toBe(id);
    } finally {
      other.close();
    }
  });
});

describe('refusals', () => {
  it('refuses CONFIG SET, DEBUG, SHUTDOWN, CLUSTER INFO and WAIT with ERR slotgate:', async () => {
    const requests = [
      ['CONFIG', 'SET', 'maxmemory', '1'],
      ['DEBUG', 'SLEEP', '0'],
      ['SHUTDOWN', 'NOSAVE'],
      ['CLUSTER', 'INFO'],
      ['WAIT', '0', '0'],
    ];
    for (const args of requests) {
      const reply = await viaProxy.command(...args);
      expect(reply, args.join(' ')).toBeInstanceOf(Error);
      expect((reply as Error).message, args.join(' ')).toMatch(/^ERR slotgate: /);
    }
    // None of them reached a master: all still up, with their settings.
    for (const master of masters) {
      expect(await master.ping()).toBe('PONG');
      expect(await master.config('GET', 'maxmemory')).toEqual(['maxmemory', '0']);
    }
    expect(await viaProxy.command('PING')).toBe('PONG');
  });
});

describe('MSET when one master refuses writes', () => {
  it('names exactly the keys of that master, and writes the others', async () => {
    const groups = keysPerMaster('partial:', 4);
    const keys = groups.flat();
    const refusing = masters[1];
    await refusing.config('SET', 'maxmemory-policy', 'noeviction');
    await refusing.config('SET', 'maxmemory', '1');
    let reply: Reply;
    try {
      reply = await viaProxy.command('MSET', ...keys.flatMap((key) => [key, `v:${key}`]));
    } finally {
      await refusing.config('SET', 'maxmemory', '0');
    }
    expect(reply).toBeInstanceOf(Error);
    const message = (reply as Error).message;
    const match = /^ERR slotgate: MSET was only partly applied; keys not written: (.+?) \((.*)\)$/.exec(message);
    expect(match, message).not.toBeNull();
    expect((match?.[1] ?? '').split(' ').sort()).toEqual([...groups[1]].sort());
    expect(match?.[2]).toMatch(/^OOM /);
    for (const key of [...groups[0], ...groups[2]]) expect(await viaProxy.command('GET', key)).toBe(`v:${key}`);
    expect(await viaProxy.command('EXISTS', ...groups[1])).toBe(0);
    // Put the data sets back in step.
    await viaProxy.command('DEL', ...keys);
  });
});

describe('flushing', () => {
  for (const args of [['FLUSHDB'], ['FLUSHDB', 'ASYNC'], ['FLUSHALL'], ['FLUSHALL', 'ASYNC'], ['FLUSHALL', 'SYNC']]) {
    it(`${args.join(' ')} empties every master`, async () => {
      await seed();
      expect(await viaProxy.command('DBSIZE')).toBeGreaterThanOrEqual(SEED_KEY_COUNT);
      expect(await expectSame(...args)).toBe('OK');
      expect(await dbsizeOfEachMaster()).toEqual([0, 0, 0]);
      expect(await expectSame('DBSIZE')).toBe(0);
      expect(await expectSame('KEYS', '*')).toEqual([]);
      expect(await expectSame('RANDOMKEY')).toBeNull();
    });
  }

  it('RANDOMKEY finds the only key, whichever master holds it', async () => {
    await expectSame('FLUSHALL');
    for (const [key] of keysPerMaster('only:', 1)) {
      await expectSame('SET', key, 'x');
      for (let i = 0; i < 6; i++) expect(await viaProxy.command('RANDOMKEY'), `only ${key} exists`).toBe(key);
      await expectSame('DEL', key);
    }
  });
});

describe('malformed split requests', () => {
  it('MSET with a key and no value, keys in different slots, is refused as on Redis and writes nothing', async () => {
    expect(calculateSlot('odd:1')).not.toBe(calculateSlot('odd:2'));
    // A connection of its own: if slotgate fails to answer, the other tests keep theirs.
    const client = await RawClient.open(proxy.port);
    try {
      // A longer request first, as a real connection would have sent.
      expect(await client.command('MSET', ...Array.from({ length: 40 }, (_, i) => `odd:before:${i}`))).toBe('OK');
      for (const args of [
        ['MSET', 'odd:1', 'v1', 'odd:2'],
        ['MSET', 'odd:3', 'v3', 'odd:4', 'v4', 'odd:5'],
      ]) {
        client.send(...args);
        const [reply] = await client.read(1, 2000).catch((error: Error) => [new Error(`no reply: ${error.message}`)]);
        expect(normalize(reply), args.join(' ')).toEqual({ error: "ERR wrong number of arguments for 'mset' command" });
      }
      expect(await viaProxy.command('EXISTS', 'odd:1', 'odd:2', 'odd:3', 'odd:4', 'odd:5')).toBe(0);
    } finally {
      client.close();
      await viaProxy.command('DEL', 'odd:1', 'odd:2', 'odd:3', 'odd:4', 'odd:5');
    }
  });
});
