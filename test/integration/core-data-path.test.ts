import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { nodeCommand } from '../helpers/cluster-admin.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';

const run = promisify(execFile);

let cluster: RedisClusterHandle;
let proxy: RunningProxy;
let client: Redis;

beforeAll(async () => {
  cluster = await startRedisCluster();
  proxy = await startTestProxy(cluster.seeds);
  client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
});

afterAll(async () => {
  client?.disconnect();
  await proxy?.close();
  await cluster?.stop();
});

/** Keys per master, counted on the masters themselves. */
async function keysPerMaster(): Promise<number[]> {
  const counts: number[] = [];
  for (const node of cluster.nodes.slice(0, 3)) {
    const direct = new Redis({ host: node.host, port: node.port });
    counts.push(await direct.dbsize());
    direct.disconnect();
  }
  return counts;
}

describe('one endpoint for the whole cluster', () => {
  it('writes 10,000 keys spread over all slots and reads every one back', async () => {
    const total = 10_000;
    for (let batch = 0; batch < total; batch += 1000) {
      const pipeline = client.pipeline();
      for (let i = batch; i < batch + 1000; i++) pipeline.set(`spread:${i}`, `value:${i}`);
      const results = await pipeline.exec();
      expect(results?.every(([error, reply]) => error === null && reply === 'OK')).toBe(true);
    }
    for (let batch = 0; batch < total; batch += 1000) {
      const pipeline = client.pipeline();
      for (let i = batch; i < batch + 1000; i++) pipeline.get(`spread:${i}`);
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([error, reply], j) => {
        expect(error).toBeNull();
        expect(reply).toBe(`value:${batch + j}`);
      });
    }
    const counts = await keysPerMaster();
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(total);
    // Slots are spread evenly over three masters, so each holds about a third.
    for (const count of counts) expect(count).toBeGreaterThan(total / 5);
  });

  it('keeps keys and values binary-safe', async () => {
    const key = Buffer.from([0, 1, 2, 13, 10, 255, 254, 42, 36, 123, 125]);
    const value = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) value[i] = i;
    expect(await client.set(key, value)).toBe('OK');
    expect(await client.getBuffer(key)).toEqual(value);
  });

  it('carries 10 MB values both ways', async () => {
    const value = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < value.length; i += 4096) value[i] = i % 251;
    expect(await client.set('big:value', value)).toBe('OK');
    // Buffer.equals: a deep toEqual over 10 MB takes seconds.
    expect((await client.getBuffer('big:value'))?.equals(value)).toBe(true);
    expect(await client.strlen('big:value')).toBe(value.length);
  });

  it('honours hash tags: keys with one tag share a slot and a node', async () => {
    expect(await client.mset('{user:42}:name', 'ann', '{user:42}:mail', 'ann@example.org')).toBe('OK');
    expect(await client.mget('{user:42}:name', '{user:42}:mail')).toEqual(['ann', 'ann@example.org']);
  });

  it('refuses keys in different slots with Redis\'s CROSSSLOT error', async () => {
    await expect(client.msetnx('a', '1', 'b', '2')).rejects.toThrow("CROSSSLOT Keys in request don't hash to the same slot");
    await expect(client.rename('a', 'b')).rejects.toThrow(/CROSSSLOT/);
  });

  it('answers a pipeline of 1,000 mixed commands in order', async () => {
    // One key per DEL: splitting multi-key commands across slots is not part of this layer.
    await client.del('mixed:counter');
    await client.del('mixed:list');
    const pipeline = client.pipeline();
    const expected: unknown[] = [];
    for (let i = 0; i < 1000; i++) {
      switch (i % 8) {
        case 0: pipeline.set(`mixed:${i}`, `v${i}`); expected.push('OK'); break;
        case 1: pipeline.get(`mixed:${i - 1}`); expected.push(`v${i - 1}`); break;
        case 2: pipeline.incr('mixed:counter'); expected.push(Math.floor(i / 8) + 1); break;
        case 3: pipeline.rpush('mixed:list', `${i}`); expected.push(Math.floor(i / 8) + 1); break;
        case 4: pipeline.ping(); expected.push('PONG'); break;
        case 5: pipeline.echo(`echo ${i}`); expected.push(`echo ${i}`); break;
        // "{mixed:N}x" hashes its tag, "mixed:N", so both keys share a slot; only the first exists.
        case 6: pipeline.exists(`mixed:${i - 6}`, `{mixed:${i - 6}}x`); expected.push(1); break;
        default: pipeline.lindex('mixed:list', -1); expected.push(`${i - 4}`); break;
      }
    }
    const results = (await pipeline.exec()) ?? [];
    expect(results.map(([error]) => error)).toEqual(expected.map(() => null));
    expect(results.map(([, reply]) => reply)).toEqual(expected);
  });

  it('answers PING, ECHO, SELECT, QUIT and CLIENT SETNAME/GETNAME itself', async () => {
    const raw = await RawClient.open(proxy.port);
    expect(await raw.command('PING')).toBe('PONG');
    expect(await raw.command('PING', 'hi')).toBe('hi');
    expect(await raw.command('ECHO', 'x y')).toBe('x y');
    expect(await raw.command('SELECT', '0')).toBe('OK');
    expect(String(await raw.command('SELECT', '1'))).toMatch(/ERR SELECT is not allowed in cluster mode/);
    expect(await raw.command('CLIENT', 'GETNAME')).toBeNull();
    expect(await raw.command('CLIENT', 'SETNAME', 'legacy-app')).toBe('OK');
    expect(await raw.command('CLIENT', 'GETNAME')).toBe('legacy-app');
    expect(String(await raw.command('GET'))).toMatch(/ERR wrong number of arguments for 'get' command/);
    expect(String(await raw.command('NOSUCH', 'a'))).toMatch(/ERR unknown command 'NOSUCH', with args beginning with: 'a'/);
    expect(await raw.command('QUIT')).toBe('OK');
    await raw.closed();
  });

  it('answers ROLE and ACL WHOAMI as one standalone master would, and reads SLOWLOG across the masters', async () => {
    const raw = await RawClient.open(proxy.port);
    try {
      expect(await raw.command('ROLE')).toEqual(['master', 0, []]);
      expect(await raw.command('ACL', 'WHOAMI')).toBe('default');
      expect(await raw.command('SLOWLOG', 'RESET')).toBe('OK');
      for (const node of cluster.seeds) await nodeCommand(node, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      try {
        await raw.command('SET', 'slow:a', '1');
        await raw.command('SET', 'slow:b', '2');
        expect(calculateSlot('slow:a')).not.toBe(calculateSlot('slow:b'));
      } finally {
        for (const node of cluster.seeds) await nodeCommand(node, 'CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
      }
      // Two masters logged the SETs (and each its CONFIG SET): the newest first, whichever master.
      expect(await raw.command('SLOWLOG', 'LEN')).toBeGreaterThanOrEqual(2);
      const entries = (await raw.command('SLOWLOG', 'GET', '-1')) as unknown[][];
      const commands = entries.map((logged) => (logged[3] as string[]).join(' '));
      expect(commands).toContain('SET slow:a 1');
      expect(commands).toContain('SET slow:b 2');
      const times = entries.map((logged) => logged[1] as number);
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(await raw.command('SLOWLOG', 'GET', '1')).toHaveLength(1);
    } finally {
      raw.close();
    }
  });

  it('answers inline commands, as telnet users and PING_INLINE send them', async () => {
    const raw = await RawClient.open(proxy.port);
    raw.write('PING\r\nSET inline:key "two words"\r\nGET inline:key\r\n');
    expect(await raw.read(3)).toEqual(['PONG', 'OK', 'two words']);
    raw.close();
  });

  it('answers a malformed request with a protocol error and closes, while other clients carry on', async () => {
    const bad = await RawClient.open(proxy.port);
    const good = await RawClient.open(proxy.port);
    bad.write('*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$x\r\n');
    const replies = await bad.read(2);
    expect(replies[0]).toBe('PONG');
    expect(String(replies[1])).toMatch(/ERR Protocol error: invalid bulk length/);
    await bad.closed();
    expect(await good.command('SET', 'after:bad', '1')).toBe('OK');
    expect(await good.command('GET', 'after:bad')).toBe('1');
    good.close();
  });

  it('refuses a bulk above proto-max-bulk-len from its header, without waiting for the body', async () => {
    const raw = await RawClient.open(proxy.port);
    raw.write(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${600 * 1024 * 1024}\r\n`);
    expect(String((await raw.read(1))[0])).toMatch(/Protocol error: invalid bulk length/);
    await raw.closed();
  });

  it('serves redis-cli without -c', async () => {
    const port = String(proxy.port);
    await run('redis-cli', ['-p', port, 'SET', 'cli:key', 'from redis-cli']);
    const { stdout } = await run('redis-cli', ['-p', port, 'GET', 'cli:key']);
    expect(stdout.trim()).toBe('from redis-cli');
  });

  it('runs redis-benchmark SET and GET with no errors, unpipelined and at -P 16', async () => {
    for (const pipeline of ['1', '16']) {
      const { stdout, stderr } = await run(
        'redis-benchmark',
        ['-p', String(proxy.port), '-t', 'set,get', '-n', '20000', '-c', '20', '-r', '10000', '-P', pipeline, '-q'],
        { timeout: 60_000 },
      );
      const output = stdout + stderr;
      expect(output).not.toMatch(/ERR|error/i);
      expect(output).toMatch(/SET: [\d.]+ requests per second/);
      expect(output).toMatch(/GET: [\d.]+ requests per second/);
    }
  });
});

describe('limits', () => {
  it('refuses clients past maxClients with Redis\'s error, and takes them again once others leave', async () => {
    const small = await startTestProxy(cluster.seeds, { maxClients: 2 });
    const a = await RawClient.open(small.port);
    const b = await RawClient.open(small.port);
    expect(await a.command('PING')).toBe('PONG');
    expect(await b.command('PING')).toBe('PONG');
    const c = await RawClient.open(small.port);
    expect(String((await c.read(1))[0])).toMatch(/ERR max number of clients reached/);
    await c.closed();
    a.close();
    const deadline = Date.now() + 2000;
    while (small.stats().clients > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const d = await RawClient.open(small.port);
    expect(await d.command('PING')).toBe('PONG');
    b.close();
    d.close();
    await small.close();
  });
});

describe('start-up', () => {
  it('starts while a seed is down, as long as another answers', async () => {
    const other = await startTestProxy(['127.0.0.1:1', ...cluster.seeds]);
    const raw = await RawClient.open(other.port);
    expect(await raw.command('SET', 'seed:test', 'ok')).toBe('OK');
    raw.close();
    await other.close();
  });

  it('fails with a clear error when no seed answers', async () => {
    await expect(startTestProxy(['127.0.0.1:1'], { connectTimeoutMs: 500 })).rejects.toThrow(/no cluster node answered/);
  });
});
