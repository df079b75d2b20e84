/**
 * Everyday use through slotgate with real clients, each in standalone mode as if slotgate were one
 * Redis: ioredis (which asks for RESP3 first), redis-py, redis-cli fed on stdin and with --pipe, and
 * redis-cli interactive under tmux.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';

const run = promisify(execFile);

let cluster: RedisClusterHandle;
let proxy: RunningProxy;
let client: Redis;
let workDir: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'slotgate-clients-'));
  cluster = await startRedisCluster();
  proxy = await startTestProxy(cluster.seeds, { unixSocket: join(workDir, 'slotgate.sock') });
  // Defaults, as an application would write it (protocol 3 is ioredis's default), except that a reply
  // that never comes fails its own test in 5 s rather than stalling every later one.
  client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0, commandTimeout: 5000 });
});

afterAll(async () => {
  client?.disconnect();
  await proxy?.close();
  await cluster?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Sum of DBSIZE over the masters, asked directly. */
async function keysOnMasters(): Promise<number> {
  let total = 0;
  for (const node of cluster.nodes.slice(0, 3)) {
    const direct = new Redis({ host: node.host, port: node.port, lazyConnect: true });
    try {
      await direct.connect();
      total += await direct.dbsize();
    } finally {
      direct.disconnect();
    }
  }
  return total;
}

function distinctSlots(keys: string[]): number {
  return new Set(keys.map((key) => calculateSlot(key))).size;
}

/** Runs a command with `input` on stdin; resolves with stdout, stderr and exit code, killed after `timeoutMs`. */
function runWithInput(command: string, args: string[], input: string | Buffer, timeoutMs = 20_000) {
  return new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

describe('ioredis in standalone mode', () => {
  it('connects in RESP3, which it asks for first', async () => {
    expect(await client.ping()).toBe('PONG');
    expect(client.status).toBe('ready');
    expect(client.condition?.protocol).toBe(3);
  });

  it('sets, gets, increments and deletes', async () => {
    expect(await client.set('io:string', 'hello')).toBe('OK');
    expect(await client.get('io:string')).toBe('hello');
    expect(await client.get('io:missing')).toBeNull();
    expect(await client.incr('io:counter')).toBe(1);
    expect(await client.incrby('io:counter', 41)).toBe(42);
    expect(await client.del('io:string', 'io:counter', 'io:missing')).toBe(2);
    expect(await client.exists('io:string', 'io:counter')).toBe(0);
  });

  it('reads and deletes many keys on different slots in one MGET and one DEL', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `io:multi:${i}`);
    expect(distinctSlots(keys)).toBeGreaterThan(10);
    expect(await client.mset(Object.fromEntries(keys.map((key, i) => [key, `v${i}`])))).toBe('OK');
    expect(await client.mget(...keys, 'io:multi:absent')).toEqual([...keys.map((_, i) => `v${i}`), null]);
    expect(await client.del(...keys)).toBe(keys.length);
    expect(await client.mget(...keys)).toEqual(keys.map(() => null));
  });

  it('refuses an MSET whose last key has no value, as Redis does, and writes nothing', async () => {
    expect(distinctSlots(['io:odd:a', 'io:odd:b'])).toBe(2);
    await expect(client.call('MSET', 'io:odd:a', '1', 'io:odd:b')).rejects.toThrow("ERR wrong number of arguments for 'mset' command");
    expect(await client.exists('io:odd:a', 'io:odd:b')).toBe(0);
  });

  it('works with hashes, lists and sorted sets', async () => {
    expect(await client.hset('io:hash', { name: 'slotgate', lang: 'ts', port: '6380' })).toBe(3);
    expect(await client.hgetall('io:hash')).toEqual({ name: 'slotgate', lang: 'ts', port: '6380' });
    expect(await client.lpush('io:list', 'c', 'b', 'a')).toBe(3);
    expect(await client.lrange('io:list', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await client.zadd('io:zset', 3, 'three', 1, 'one', 2, 'two')).toBe(3);
    expect(await client.zrange('io:zset', '0', '-1')).toEqual(['one', 'two', 'three']);
    expect(await client.zrange('io:zset', '0', '0', 'WITHSCORES')).toEqual(['one', '1']);
  });

  it('sets an expiry and reads the time to live', async () => {
    await client.set('io:expiring', 'x');
    expect(await client.ttl('io:expiring')).toBe(-1);
    expect(await client.expire('io:expiring', 100)).toBe(1);
    const ttl = await client.ttl('io:expiring');
    expect(ttl).toBeGreaterThan(95);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await client.ttl('io:no-such-key')).toBe(-2);
  });

  it('runs a pipeline of mixed commands on many slots and gets every reply in order', async () => {
    const pipeline = client.pipeline();
    for (let i = 0; i < 200; i++) pipeline.set(`io:pipe:${i}`, String(i));
    for (let i = 0; i < 200; i++) pipeline.incr(`io:pipe:${i}`);
    pipeline.mget('io:pipe:0', 'io:pipe:1', 'io:pipe:199');
    pipeline.ping();
    const results = (await pipeline.exec()) ?? [];
    expect(results).toHaveLength(402);
    expect(results.every(([error]) => error === null)).toBe(true);
    expect(results.slice(0, 200).every(([, reply]) => reply === 'OK')).toBe(true);
    expect(results.slice(200, 400).map(([, reply]) => reply)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(results[400][1]).toEqual(['1', '2', '200']);
    expect(results[401][1]).toBe('PONG');
  });

  it('runs EVAL with keys sharing a hash tag, and a defineCommand script through EVALSHA', async () => {
    const script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[2], ARGV[2])";
    expect(await client.eval(script, 2, '{io:lua}:name', '{io:lua}:count', 'slotgate', 5)).toBe(5);
    expect(await client.get('{io:lua}:name')).toBe('slotgate');
    // defineCommand sends EVALSHA first and falls back to EVAL on NOSCRIPT: both must reach the key's node.
    client.defineCommand('getPlusOne', { numberOfKeys: 1, lua: "return tonumber(redis.call('GET', KEYS[1]) or '0') + 1" });
    const custom = client as unknown as { getPlusOne(key: string): Promise<number> };
    expect(await custom.getPlusOne('{io:lua}:count')).toBe(6);
    expect(await custom.getPlusOne('{io:lua}:count')).toBe(6);
  });

  it('walks every key of every master with scanStream', async () => {
    const total = 1000;
    const pipeline = client.pipeline();
    for (let i = 0; i < total; i++) pipeline.set(`io:scan:${i}`, '1');
    await pipeline.exec();
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const stream = client.scanStream({ match: 'io:scan:*', count: 100 });
      const timer = setTimeout(() => {
        stream.pause();
        reject(new Error(`scanStream still running after 15 s with ${seen.size} keys`));
      }, 15_000);
      stream.on('data', (keys: string[]) => {
        for (const key of keys) seen.add(key);
      });
      stream.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    expect(seen.size).toBe(total);
  });
});

/** A python3 that can `import redis`: Debian's python3-redis lives under /usr/bin/python3, which may not be first on PATH. */
function findPythonWithRedis(): string | undefined {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(candidate, ['-c', 'import redis'], { stdio: 'ignore', timeout: 10_000 });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

const python = findPythonWithRedis();
if (!python) console.warn('redis-py test skipped: no python3 can import redis (apt-get install -y python3-redis)');

const PYTHON_SCRIPT = `
import json, sys
import redis

r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), decode_responses=True, socket_timeout=10)
out = {}
out['ping'] = r.ping()
out['set'] = r.set('py:string', 'hello')
out['get'] = r.get('py:string')
keys = ['py:multi:%d' % i for i in range(20)]
out['mset'] = r.mset({k: 'v%d' % i for i, k in enumerate(keys)})
out['mget'] = r.mget(keys + ['py:absent'])
out['incr'] = [r.incr('py:counter'), r.incr('py:counter', 9)]
out['hset'] = r.hset('py:hash', mapping={'a': '1', 'b': '2'})
out['hgetall'] = r.hgetall('py:hash')
pipe = r.pipeline(transaction=False)
for i in range(100):
    pipe.set('py:pipe:%d' % i, i)
for i in range(100):
    pipe.get('py:pipe:%d' % i)
out['pipeline'] = pipe.execute()
out['scan'] = sorted(r.scan_iter(match='py:pipe:*', count=50))
info = r.info()
out['info'] = {k: info.get(k) for k in ('redis_version', 'connected_clients')}
out['delete'] = r.delete(*keys, 'py:string', 'py:absent')
out['mget_after_delete'] = r.mget(keys[:3])
print(json.dumps(out))
`;

describe('redis-py', () => {
  it.skipIf(!python)('runs set, get, mget, mset, delete, incr, hashes, a pipeline, scan_iter, info and ping', async () => {
    const scriptPath = join(workDir, 'redis_py_client.py');
    writeFileSync(scriptPath, PYTHON_SCRIPT);
    const { stdout } = await run(python as string, [scriptPath, String(proxy.port)], { timeout: 30_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    const keys = Array.from({ length: 20 }, (_, i) => `py:multi:${i}`);
    expect(distinctSlots(keys)).toBeGreaterThan(10);
    expect(out.ping).toBe(true);
    expect(out.set).toBe(true);
    expect(out.get).toBe('hello');
    expect(out.mset).toBe(true);
    expect(out.mget).toEqual([...keys.map((_, i) => `v${i}`), null]);
    expect(out.incr).toEqual([1, 10]);
    expect(out.hset).toBe(2);
    expect(out.hgetall).toEqual({ a: '1', b: '2' });
    expect(out.pipeline).toEqual([...Array.from({ length: 100 }, () => true), ...Array.from({ length: 100 }, (_, i) => String(i))]);
    expect(out.scan).toEqual(Array.from({ length: 100 }, (_, i) => `py:pipe:${i}`).sort());
    const info = out.info as { redis_version: unknown; connected_clients: unknown };
    expect(String(info.redis_version)).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof info.connected_clients).toBe('number');
    expect(out.delete).toBe(21);
    expect(out.mget_after_delete).toEqual([null, null, null]);
  });
});

describe('redis-cli, not interactive', () => {
  it('answers commands piped on stdin, MGET across slots and DBSIZE over the whole cluster included', async () => {
    await client.del('a', 'b', 'c');
    expect(distinctSlots(['a', 'b', 'c'])).toBe(3);
    const { stdout, stderr, code } = await runWithInput(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(proxy.port)],
      'SET a 1\nGET a\nMGET a b c\nDBSIZE\n',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    // Not on a terminal, redis-cli prints bare replies: nils as empty lines, the array one element a line.
    expect(lines.slice(0, 5)).toEqual(['OK', '1', '1', '', '']);
    expect(Number(lines[5])).toBe(await keysOnMasters());
    expect(lines.slice(6)).toEqual(['']);
  });

  it('takes a few thousand SETs with --pipe and reports no error', async () => {
    const total = 3000;
    const parts: string[] = [];
    for (let i = 0; i < total; i++) {
      const key = `cli:pipe:${i}`;
      const value = `value-${i}`;
      parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
    }
    const { stdout, stderr, code } = await runWithInput('redis-cli', ['-h', '127.0.0.1', '-p', String(proxy.port), '--pipe'], parts.join(''));
    const output = stdout + stderr;
    expect(output).toContain(`errors: 0, replies: ${total}`);
    expect(code).toBe(0);
    const sample = [0, 1, 1499, 2998, 2999];
    expect(await client.mget(...sample.map((i) => `cli:pipe:${i}`))).toEqual(sample.map((i) => `value-${i}`));
  });
});

describe('over the Unix socket (unixSocket), as a sidecar\'s application would connect', () => {
  it('serves ioredis, redis-cli and redis-benchmark alike', async () => {
    const path = join(workDir, 'slotgate.sock');
    const local = new Redis({ path, maxRetriesPerRequest: 0, commandTimeout: 5000 });
    try {
      await local.mset('unix:a', '1', 'unix:b', '2');
      expect(distinctSlots(['unix:a', 'unix:b'])).toBe(2);
      expect(await local.mget('unix:a', 'unix:b', 'unix:none')).toEqual(['1', '2', null]);
      expect(await local.call('CLIENT', 'INFO')).toContain(`addr=${path}:0 laddr=${path}:0 `);
    } finally {
      local.disconnect();
    }
    const cli = await runWithInput('redis-cli', ['-s', path], 'GET unix:a\nDBSIZE\n');
    expect(cli.stderr).toBe('');
    expect(cli.stdout.split('\n')[0]).toBe('1');
    const { stdout } = await run('redis-benchmark', ['-s', path, '-t', 'set,get,mset', '-n', '2000', '-c', '10', '-r', '1000', '-P', '4', '--csv'], { timeout: 60_000 });
    for (const test of ['SET', 'GET', 'MSET (10 keys)']) expect(stdout).toMatch(new RegExp(`^"${test.replace(/[()]/g, '\\$&')}","[1-9]`, 'm'));
  });
});

function tmuxAvailable(): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

const haveTmux = tmuxAvailable();
if (!haveTmux) console.warn('interactive redis-cli test skipped: tmux not found (apt-get install -y tmux)');

describe('redis-cli, interactive', () => {
  it.skipIf(!haveTmux)('shows the 127.0.0.1:PORT> prompt and round-trips SET, GET and PING', async () => {
    // A tmux server of our own (-L), so no other tmux session on the machine is touched.
    const socketName = `slotgate-test-${process.pid}`;
    const tmux = (...args: string[]) => run('tmux', ['-L', socketName, ...args], { timeout: 5000 });
    const screen = async () => (await tmux('capture-pane', '-p', '-t', 'cli')).stdout;
    /** Polls the pane (up to 10 s) until `pattern` shows, and returns the screen. */
    const waitFor = async (pattern: RegExp): Promise<string> => {
      const deadline = Date.now() + 10_000;
      for (let attempt = 0; attempt < 200; attempt++) {
        const text = await screen();
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) break;
        await sleep(50);
      }
      throw new Error(`no ${pattern} on the redis-cli screen:\n${await screen()}`);
    };
    const prompt = `127.0.0.1:${proxy.port}>`;
    try {
      await tmux(
        'new-session', '-d', '-s', 'cli', '-x', '160', '-y', '40',
        `env REDISCLI_HISTFILE=/dev/null redis-cli -h 127.0.0.1 -p ${proxy.port}`,
      );
      expect(await waitFor(new RegExp(`^${prompt} *$`, 'm'))).toContain(prompt);
      await tmux('send-keys', '-t', 'cli', 'SET tmux:key "hello world"', 'Enter');
      await waitFor(/^OK$/m);
      await tmux('send-keys', '-t', 'cli', 'GET tmux:key', 'Enter');
      await waitFor(/^"hello world"$/m);
      await tmux('send-keys', '-t', 'cli', 'PING', 'Enter');
      const text = await waitFor(/^PONG$/m);
      expect(text).not.toMatch(/ERR|error/i);
      // A prompt before each command and one waiting for the next.
      expect(text.split('\n').filter((line) => line.startsWith(prompt))).toHaveLength(4);
      expect(await client.get('tmux:key')).toBe('hello world');
    } finally {
      await tmux('kill-server').catch(() => {});
    }
  });
});
