/**
 * RESP3 through slotgate: HELLO 3 switches a client's session, whose commands then run on the
 * nodes' RESP3 connections, so replies (maps, sets, nulls, pushes) arrive as the nodes send them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';
import { RawClient } from '../helpers/raw-client.ts';
import type { Push, Verbatim } from '../helpers/resp3-decoder.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';

const run = promisify(execFile);
const setup = clusterWithProxy();

const open: RawClient[] = [];
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

/** A raw client that has said HELLO 3. */
async function resp3Client(): Promise<RawClient> {
  const client = await RawClient.open(setup.proxy.port, { resp3: true });
  open.push(client);
  const hello = await client.command('HELLO', '3');
  expect(hello).toBeInstanceOf(Map);
  return client;
}

async function resp2Client(): Promise<RawClient> {
  const client = await RawClient.open(setup.proxy.port);
  open.push(client);
  return client;
}

const text = (bytes: Buffer): string => bytes.toString('latin1');

describe('HELLO', () => {
  it('answers HELLO 3 with a RESP3 map, as Redis does', async () => {
    const client = await RawClient.open(setup.proxy.port, { resp3: true });
    open.push(client);
    const raw = await client.rawCommand('HELLO', '3');
    expect(text(raw).startsWith('%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n')).toBe(true);
    const id = await client.command('CLIENT', 'ID');
    // Decoded again from the same bytes.
    const hello = await client.command('HELLO');
    expect(hello).toEqual(
      new Map<string, unknown>([
        ['server', 'redis'],
        ['version', (hello as Map<string, unknown>).get('version')],
        ['proto', 3],
        ['id', id],
        ['mode', 'standalone'],
        ['role', 'master'],
        ['modules', []],
      ]),
    );
    expect(await client.command('HELLO', '4')).toEqual(new Error('NOPROTO unsupported protocol version'));
  });

  it('goes back to RESP2 with HELLO 2 on the same connection', async () => {
    const client = await resp3Client();
    expect(text(await client.rawCommand('GET', 'resp3:missing'))).toBe('_\r\n');
    expect(text(await client.rawCommand('HELLO', '2')).startsWith('*14\r\n')).toBe(true);
    expect(text(await client.rawCommand('GET', 'resp3:missing'))).toBe('$-1\r\n');
    expect(text(await client.rawCommand('CLIENT', 'GETNAME'))).toBe('$-1\r\n');
    await client.command('HSET', 'resp3:h2', 'f', 'v');
    expect(await client.command('HGETALL', 'resp3:h2')).toEqual(['f', 'v']);
  });
});

describe('replies in RESP3', () => {
  it('gives the RESP3 null for a missing key and for an unnamed client', async () => {
    const client = await resp3Client();
    expect(text(await client.rawCommand('GET', 'resp3:nothing'))).toBe('_\r\n');
    expect(text(await client.rawCommand('CLIENT', 'GETNAME'))).toBe('_\r\n');
  });

  it('gives maps for HGETALL and sets for SMEMBERS', async () => {
    const client = await resp3Client();
    await client.command('HSET', 'resp3:hash', 'a', '1', 'b', '2');
    await client.command('SADD', 'resp3:set', 'x', 'y');
    expect(text(await client.rawCommand('HGETALL', 'resp3:hash')).startsWith('%2\r\n')).toBe(true);
    expect(await client.command('HGETALL', 'resp3:hash')).toEqual(new Map([['a', '1'], ['b', '2']]));
    expect(text(await client.rawCommand('SMEMBERS', 'resp3:set')).startsWith('~2\r\n')).toBe(true);
    expect(await client.command('SMEMBERS', 'resp3:set')).toEqual(new Set(['x', 'y']));
  });

  it('merges a split MGET with a missing key, nulls in RESP3', async () => {
    const client = await resp3Client();
    await client.command('MSET', 'resp3:m1', 'one', 'resp3:m3', 'three');
    const raw = text(await client.rawCommand('MGET', 'resp3:m1', 'resp3:m2', 'resp3:m3', '{x}resp3:m4'));
    expect(raw).toBe('*4\r\n$3\r\none\r\n_\r\n$5\r\nthree\r\n_\r\n');
  });

  it('answers DBSIZE, KEYS, SCAN and INFO across the masters', async () => {
    const client = await resp3Client();
    const keys = Array.from({ length: 20 }, (_, i) => `resp3:all:${i}`);
    for (const key of keys) await client.command('SET', key, 'v');
    expect(await client.command('DBSIZE')).toBeGreaterThanOrEqual(20);
    expect(((await client.command('KEYS', 'resp3:all:*')) as string[]).sort()).toEqual([...keys].sort());
    const scanned = new Set<string>();
    let cursor = '0';
    do {
      const [next, page] = (await client.command('SCAN', cursor, 'MATCH', 'resp3:all:*', 'COUNT', '100')) as [string, string[]];
      for (const key of page) scanned.add(key);
      cursor = next;
    } while (cursor !== '0');
    expect([...scanned].sort()).toEqual([...keys].sort());
    const info = (await client.command('INFO')) as Verbatim;
    expect(info.verbatim).toBe('txt');
    expect(info.text.startsWith('# Proxy\r\n')).toBe(true);
    expect(info.text).toMatch(/^db0:keys=\d+/m);
    expect(await client.command('RANDOMKEY')).toEqual(expect.any(String));
  });

  it('runs blocking commands on RESP3 connections: a timed-out BLPOP is the RESP3 null', async () => {
    const client = await resp3Client();
    expect(text(await client.rawCommand('BLPOP', 'resp3:list', '0.1'))).toBe('_\r\n');
    const other = await resp3Client();
    client.send('BLPOP', 'resp3:list', '5');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await other.command('RPUSH', 'resp3:list', 'item');
    expect(await client.read(1)).toEqual([['resp3:list', 'item']]);
  });

  it('runs a transaction in RESP3', async () => {
    const client = await resp3Client();
    await client.command('MULTI');
    await client.command('HSET', 'resp3:tx', 'f', 'v');
    await client.command('HGETALL', 'resp3:tx');
    expect(await client.command('EXEC')).toEqual([1, new Map([['f', 'v']])]);
  });

  it('refuses client-side caching', async () => {
    const client = await resp3Client();
    expect(String(await client.command('CLIENT', 'TRACKING', 'ON'))).toMatch(/^Error: ERR slotgate: CLIENT TRACKING is not supported/);
  });

  it('serves redis-cli -3', async () => {
    const port = String(setup.proxy.port);
    await run('redis-cli', ['-3', '-p', port, 'HSET', 'resp3:cli', 'field', 'value']);
    const { stdout } = await run('redis-cli', ['-3', '--no-raw', '-p', port, 'HGETALL', 'resp3:cli']);
    expect(stdout.trim()).toBe('1# "field" => "value"');
    const missing = await run('redis-cli', ['-3', '--no-raw', '-p', port, 'GET', 'resp3:cli:none']);
    expect(missing.stdout.trim()).toBe('(nil)');
  });
});

describe('ioredis, which asks for RESP3 first', () => {
  it('gets RESP3, and its everyday commands, pipelines and pub/sub work', async () => {
    const client = new Redis({ host: '127.0.0.1', port: setup.proxy.port, maxRetriesPerRequest: 0, commandTimeout: 5000 });
    const subscriber = new Redis({ host: '127.0.0.1', port: setup.proxy.port, maxRetriesPerRequest: 0, commandTimeout: 5000 });
    try {
      expect(await client.ping()).toBe('PONG');
      expect(client.condition?.protocol).toBe(3);
      expect(await client.set('resp3:io', 'v')).toBe('OK');
      expect(await client.get('resp3:io:none')).toBeNull();
      expect(await client.mget('resp3:io', 'resp3:io:none', '{b}resp3:io')).toEqual(['v', null, null]);
      await client.hset('resp3:io:h', { a: '1', b: '2' });
      expect(await client.hgetall('resp3:io:h')).toEqual({ a: '1', b: '2' });
      // ioredis maps RESP3 replies to the shapes of their RESP2 forms, as real-clients.test.ts expects.
      await client.zadd('resp3:io:z', 3, 'three', 1, 'one');
      expect(await client.zrange('resp3:io:z', '0', '0', 'WITHSCORES')).toEqual(['one', '1']);
      expect(await client.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, 'resp3:io:lua', 5)).toBe(5);
      const pipeline = client.pipeline();
      for (let i = 0; i < 50; i++) pipeline.incr(`resp3:io:n${i}`);
      pipeline.mget('resp3:io:n0', 'resp3:io:n49');
      const results = (await pipeline.exec()) ?? [];
      expect(results.at(-1)).toEqual([null, ['1', '1']]);
      expect(await client.dbsize()).toBeGreaterThan(50);
      const received = new Promise<[string, string]>((resolve) => subscriber.on('message', (channel: string, message: string) => resolve([channel, message])));
      await subscriber.subscribe('resp3:io:chan');
      await client.publish('resp3:io:chan', 'hi');
      expect(await received).toEqual(['resp3:io:chan', 'hi']);
    } finally {
      client.disconnect();
      subscriber.disconnect();
    }
  });
});

describe('RESP2 and RESP3 side by side', () => {
  it('gives each client replies in its own protocol, on the same nodes', async () => {
    const two = await resp2Client();
    const three = await resp3Client();
    await two.command('HSET', 'resp3:both', 'f', 'v');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        two.send('GET', `resp3:none:${i}`);
        three.send('GET', `resp3:none:${i}`);
        two.send('HGETALL', 'resp3:both');
        three.send('HGETALL', 'resp3:both');
      }
      const [twoReplies, threeReplies] = await Promise.all([two.read(40), three.read(40)]);
      for (let i = 0; i < 40; i += 2) {
        expect(twoReplies[i]).toBeNull();
        expect(twoReplies[i + 1]).toEqual(['f', 'v']);
        expect(threeReplies[i]).toBeNull();
        expect(threeReplies[i + 1]).toEqual(new Map([['f', 'v']]));
      }
    }
    expect(text(await two.rawCommand('GET', 'resp3:none'))).toBe('$-1\r\n');
    expect(text(await three.rawCommand('GET', 'resp3:none'))).toBe('_\r\n');
  });
});

describe('reads from replicas in RESP3', () => {
  it('opens RESP3 connections to replicas too (HELLO 3, then READONLY)', async () => {
    const writer = await resp3Client();
    await writer.command('HSET', 'resp3:replica', 'f', 'v');
    const proxy = await startTestProxy(setup.cluster.seeds, { readFrom: 'replica' });
    try {
      const client = await RawClient.open(proxy.port, { resp3: true });
      open.push(client);
      await client.command('HELLO', '3');
      // Replication is asynchronous: wait for the write to arrive.
      let reply: unknown = null;
      for (let i = 0; i < 50 && !(reply instanceof Map && reply.size > 0); i++) {
        reply = await client.command('HGETALL', 'resp3:replica');
        if (!(reply instanceof Map && reply.size > 0)) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(reply).toEqual(new Map([['f', 'v']]));
      expect(text(await client.rawCommand('GET', 'resp3:replica:none'))).toBe('_\r\n');
      expect(proxy.stats().nodes.some((node) => node.role === 'replica' && node.health === 'up')).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});

describe('pub/sub in RESP3', () => {
  it('delivers messages as pushes, and lets the subscriber run other commands meanwhile', async () => {
    const subscriber = await resp3Client();
    subscriber.send('SUBSCRIBE', 'resp3:news');
    expect(await subscriber.read(1)).toEqual([{ push: ['subscribe', 'resp3:news', 1] } satisfies Push]);
    const publisher = await resp2Client();
    // Its count is of the publishing node's subscribers only, as in Redis Cluster: not checked.
    await publisher.command('PUBLISH', 'resp3:news', 'hello');
    expect(await subscriber.read(1)).toEqual([{ push: ['message', 'resp3:news', 'hello'] }]);
    // Allowed in RESP3, as in Redis: commands while subscribed, and PING in its ordinary form.
    await subscriber.command('SET', 'resp3:sub', 'x');
    expect(await subscriber.command('GET', 'resp3:sub')).toBe('x');
    expect(await subscriber.command('PING')).toBe('PONG');
    subscriber.send('UNSUBSCRIBE', 'resp3:news');
    expect(await subscriber.read(1)).toEqual([{ push: ['unsubscribe', 'resp3:news', 0] }]);
    expect(text(await subscriber.rawCommand('HELLO', '2')).startsWith('*14\r\n')).toBe(true);
  });

  it('closes a subscriber whose messages pile up behind a BLPOP past maxClientOutputBytes', async () => {
    const proxy = await startTestProxy(setup.cluster.seeds, { maxClientOutputBytes: 64 * 1024 });
    try {
      const subscriber = await RawClient.open(proxy.port, { resp3: true });
      open.push(subscriber);
      expect(await subscriber.command('HELLO', '3')).toBeInstanceOf(Map);
      subscriber.send('SUBSCRIBE', 'resp3:flood');
      expect(await subscriber.read(1)).toEqual([{ push: ['subscribe', 'resp3:flood', 1] }]);
      // Messages arriving now wait behind the BLPOP's reply, which never comes.
      subscriber.send('BLPOP', 'resp3:never', '0');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const publisher = await resp2Client();
      const message = 'x'.repeat(1024);
      for (let i = 0; i < 100; i++) await publisher.command('PUBLISH', 'resp3:flood', message);
      await subscriber.closed();
      // The proxy carries on for everyone else.
      expect(await (await resp2Client()).command('PING')).toBe('PONG');
    } finally {
      await proxy.close();
    }
  });

  it('delivers the messages held behind a BLPOP in order once it returns, and counts their upkeep against the limit', async () => {
    const proxy = await startTestProxy(setup.cluster.seeds, { maxClientOutputBytes: 64 * 1024 });
    try {
      const subscribe = async (channel: string): Promise<RawClient> => {
        const subscriber = await RawClient.open(proxy.port, { resp3: true });
        open.push(subscriber);
        expect(await subscriber.command('HELLO', '3')).toBeInstanceOf(Map);
        subscriber.send('SUBSCRIBE', channel);
        expect(await subscriber.read(1)).toEqual([{ push: ['subscribe', channel, 1] }]);
        return subscriber;
      };
      const publisher = await resp2Client();
      // 50 small messages wait behind a BLPOP, then come in order right after its reply.
      const patient = await subscribe('resp3:held');
      patient.send('BLPOP', '{resp3:held}list', '0');
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 50; i++) await publisher.command('PUBLISH', 'resp3:held', `m${i}`);
      await publisher.command('RPUSH', '{resp3:held}list', 'done');
      const replies = await patient.read(51);
      expect(replies[0]).toEqual(['{resp3:held}list', 'done']);
      expect(replies.slice(1)).toEqual(Array.from({ length: 50 }, (_, i) => ({ push: ['message', 'resp3:held', `m${i}`] })));
      // 1,000 messages of ~50 bytes are under 64 KiB as bytes, but not with what holding each costs.
      const flooded = await subscribe('resp3:small');
      flooded.send('BLPOP', 'resp3:never', '0');
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 1000; i++) await publisher.command('PUBLISH', 'resp3:small', 'x');
      await flooded.closed();
    } finally {
      await proxy.close();
    }
  });

  it('delivers a message that came while a pipelined RESET waited before +RESET, not after it', async () => {
    const client = await resp3Client();
    client.send('SUBSCRIBE', 'reset:news');
    expect(await client.read(1)).toEqual([{ push: ['subscribe', 'reset:news', 1] }]);
    for (let round = 0; round < 5; round++) {
      client.write('*3\r\n$7\r\nPUBLISH\r\n$10\r\nreset:news\r\n$2\r\nhi\r\n*1\r\n$5\r\nRESET\r\n*1\r\n$4\r\nPING\r\n');
      const replies = await client.read(3);
      if (replies[2] !== 'PONG') replies.push(...(await client.read(1)));
      // The message comes over the client's tunnel, the PUBLISH's reply over a shared connection:
      // it may not have come by the time RESET runs, and is then dropped with the subscription.
      // If it came, it is ahead of +RESET, in RESP3 with the subscription it belongs to.
      const message = { push: ['message', 'reset:news', 'hi'] };
      expect([[1, 'RESET', 'PONG'], [1, message, 'RESET', 'PONG'], [message, 1, 'RESET', 'PONG']]).toContainEqual(replies);
      client.write('*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$10\r\nreset:news\r\n');
      expect(await client.read(2)).toEqual([expect.any(Map), { push: ['subscribe', 'reset:news', 1] }]);
    }
  });

  it('shows its subscriptions in CLIENT INFO: sub, psub and ssub, flags=P', async () => {
    const client = await resp3Client();
    client.write('SUBSCRIBE info:a info:b\r\nPSUBSCRIBE info:*\r\nSSUBSCRIBE info:s\r\n');
    expect(await client.read(4)).toHaveLength(4);
    expect(String(await client.command('CLIENT', 'INFO'))).toMatch(/ flags=P .* sub=2 psub=1 ssub=1 /);
    client.write('UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\n');
    expect(await client.read(4)).toHaveLength(4);
    expect(String(await client.command('CLIENT', 'INFO'))).toMatch(/ flags=N .* sub=0 psub=0 ssub=0 /);
  });

  it('keeps confirmations in order with the replies to commands sent after them', async () => {
    const client = await resp3Client();
    await client.command('SET', 'resp3:order', 'v');
    const frame = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;
    for (let round = 0; round < 5; round++) {
      client.write(frame('SUBSCRIBE', 'resp3:o1', 'resp3:o2') + frame('GET', 'resp3:order') + frame('UNSUBSCRIBE') + frame('GET', 'resp3:order'));
      const replies = await client.read(6);
      expect(replies.slice(0, 3)).toEqual([{ push: ['subscribe', 'resp3:o1', 1] }, { push: ['subscribe', 'resp3:o2', 2] }, 'v']);
      expect(replies.slice(3, 5).map((reply) => (reply as Push).push[2]).sort()).toEqual([0, 1]);
      expect(replies[5]).toBe('v');
    }
  });

  it('switches protocol right after an UNSUBSCRIBE with no subscriptions, replies in order', async () => {
    const client = await resp3Client();
    client.write('*1\r\n$11\r\nUNSUBSCRIBE\r\n*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$10\r\nresp3:none\r\n');
    const replies = await client.read(3);
    expect(replies[0]).toEqual({ push: ['unsubscribe', null, 0] });
    expect((replies[1] as unknown[]).slice(0, 2)).toEqual(['server', 'redis']);
    expect(replies[2]).toBeNull();
  });

  it('refuses to switch protocol while subscribed', async () => {
    const subscriber = await resp3Client();
    subscriber.send('SUBSCRIBE', 'resp3:other');
    await subscriber.read(1);
    expect(String(await subscriber.command('HELLO', '2'))).toMatch(/switching protocol while subscribed/);
  });
});
