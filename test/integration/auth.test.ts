/**
 * Authentication on both sides, against a cluster whose nodes have requirepass: slotgate logs in to
 * every node with backendPassword, and asks its own clients for `password`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pino from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../src/config/settings.ts';
import { startProxy, type RunningProxy } from '../../src/server/start-proxy.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';

const run = promisify(execFile);

const NODE_PASSWORD = 'node-secret';
const CLIENT_PASSWORD = 'client secret';

let cluster: RedisClusterHandle;
/** Asks clients for CLIENT_PASSWORD. */
let proxy: RunningProxy;
/** Asks clients for nothing, but still logs in to the nodes. */
let openProxy: RunningProxy;

beforeAll(async () => {
  cluster = await startRedisCluster({ password: NODE_PASSWORD });
  proxy = await startTestProxy(cluster.seeds, { backendPassword: NODE_PASSWORD, password: CLIENT_PASSWORD });
  openProxy = await startTestProxy(cluster.seeds, { backendPassword: NODE_PASSWORD });
});

afterAll(async () => {
  await proxy?.close();
  await openProxy?.close();
  await cluster?.stop();
});

const message = (reply: unknown): string => (reply instanceof Error ? reply.message : String(reply));

describe('a client of a slotgate with a password', () => {
  it('gets NOAUTH for everything but AUTH, HELLO, RESET and QUIT until it authenticates', async () => {
    const client = await RawClient.open(proxy.port);
    expect(message(await client.command('GET', 'k'))).toBe('NOAUTH Authentication required.');
    expect(message(await client.command('PING'))).toBe('NOAUTH Authentication required.');
    expect(message(await client.command('CLIENT', 'LIST'))).toBe('NOAUTH Authentication required.');
    expect(message(await client.command('MULTI'))).toBe('NOAUTH Authentication required.');
    expect(message(await client.command('HELLO', '2'))).toMatch(/^NOAUTH HELLO must be called with the client already authenticated/);
    expect(message(await client.command('RESET'))).toBe('RESET');
    expect(message(await client.command('QUIT'))).toBe('OK');
    await client.closed();
  });

  it('is no longer authenticated after RESET, as in Redis', async () => {
    const client = await RawClient.open(proxy.port);
    expect(await client.command('AUTH', CLIENT_PASSWORD)).toBe('OK');
    expect(await client.command('PING')).toBe('PONG');
    expect(await client.command('RESET')).toBe('RESET');
    expect(message(await client.command('PING'))).toBe('NOAUTH Authentication required.');
    client.close();
  });

  it('gets WRONGPASS for a wrong password or user, and stays unauthenticated', async () => {
    const client = await RawClient.open(proxy.port);
    const wrongpass = 'WRONGPASS invalid username-password pair or user is disabled.';
    expect(message(await client.command('AUTH', 'guess'))).toBe(wrongpass);
    expect(message(await client.command('AUTH', 'admin', CLIENT_PASSWORD))).toBe(wrongpass);
    expect(message(await client.command('HELLO', '2', 'AUTH', 'default', 'guess'))).toBe(wrongpass);
    expect(message(await client.command('GET', 'k'))).toBe('NOAUTH Authentication required.');
    client.close();
  });

  it('after AUTH <password>, runs commands across slots', async () => {
    const client = await RawClient.open(proxy.port);
    expect(await client.command('AUTH', CLIENT_PASSWORD)).toBe('OK');
    expect(await client.command('MSET', 'auth:a', '1', 'auth:b', '2', 'auth:c', '3')).toBe('OK');
    expect(await client.command('SET', 'auth:d', '4')).toBe('OK');
    expect(await client.command('GET', 'auth:d')).toBe('4');
    expect(await client.command('MGET', 'auth:a', 'auth:b', 'auth:c', 'auth:d', 'auth:none')).toEqual(['1', '2', '3', '4', null]);
    // A failed AUTH later leaves the client logged in, as in Redis.
    expect(message(await client.command('AUTH', 'guess'))).toMatch(/^WRONGPASS/);
    expect(await client.command('GET', 'auth:a')).toBe('1');
    // The password shows nowhere a client can read.
    const list = String(await client.command('CLIENT', 'LIST'));
    expect(list).toContain('user=default');
    expect(list).not.toContain(CLIENT_PASSWORD);
    expect(String(await client.command('CLIENT', 'INFO'))).not.toContain(CLIENT_PASSWORD);
    client.close();
  });

  it('authenticates with AUTH default <password> and with HELLO 2 AUTH default <password>', async () => {
    const named = await RawClient.open(proxy.port);
    expect(await named.command('AUTH', 'default', CLIENT_PASSWORD)).toBe('OK');
    expect(await named.command('PING')).toBe('PONG');
    named.close();

    const hello = await RawClient.open(proxy.port);
    const reply = (await hello.command('HELLO', '2', 'AUTH', 'default', CLIENT_PASSWORD, 'SETNAME', 'greeter')) as unknown[];
    expect(reply.slice(0, 2)).toEqual(['server', 'redis']);
    expect(await hello.command('CLIENT', 'GETNAME')).toBe('greeter');
    expect(await hello.command('GET', 'auth:a')).toBe('1');
    hello.close();
  });

  it('authenticates with HELLO 3 AUTH, then runs RESP3 commands over connections that log in with HELLO 3 AUTH', async () => {
    const client = await RawClient.open(proxy.port, { resp3: true });
    expect(message(await client.command('HELLO', '3'))).toMatch(/^NOAUTH HELLO must be called/);
    const reply = (await client.command('HELLO', '3', 'AUTH', 'default', CLIENT_PASSWORD)) as Map<string, unknown>;
    expect(reply.get('proto')).toBe(3);
    expect(await client.command('GET', 'auth:none')).toBeNull();
    expect(await client.command('MGET', 'auth:a', 'auth:none')).toEqual(['1', null]);
    expect(await client.command('BLPOP', 'auth:empty3', '0.1')).toBeNull();
    client.send('SUBSCRIBE', 'news3');
    expect(await client.read(1)).toEqual([{ push: ['subscribe', 'news3', 1] }]);
    client.close();
  });

  it('serves redis-cli given -a', async () => {
    const port = String(proxy.port);
    await run('redis-cli', ['-p', port, '-a', CLIENT_PASSWORD, '--no-auth-warning', 'SET', 'auth:cli', 'from redis-cli']);
    const { stdout } = await run('redis-cli', ['-p', port, '-a', CLIENT_PASSWORD, '--no-auth-warning', 'GET', 'auth:cli']);
    expect(stdout.trim()).toBe('from redis-cli');
    const refused = await run('redis-cli', ['-p', port, 'GET', 'auth:cli']);
    expect(refused.stdout.trim()).toContain('NOAUTH Authentication required.');
  });

  it('serves ioredis given a password', async () => {
    const client = new Redis({ host: '127.0.0.1', port: proxy.port, password: CLIENT_PASSWORD, maxRetriesPerRequest: 0 });
    try {
      await client.set('auth:ioredis', 'yes');
      expect(await client.get('auth:ioredis')).toBe('yes');
      expect(await client.mget('auth:a', 'auth:ioredis')).toEqual(['1', 'yes']);
    } finally {
      client.disconnect();
    }
  });

  it('runs a blocking command after AUTH, over a connection of its own that logs in to the node', async () => {
    const waiter = await RawClient.open(proxy.port);
    const pusher = await RawClient.open(proxy.port);
    expect(await waiter.command('AUTH', CLIENT_PASSWORD)).toBe('OK');
    expect(await pusher.command('AUTH', CLIENT_PASSWORD)).toBe('OK');
    expect(await waiter.command('BLPOP', 'auth:empty', '0.1')).toBeNull();
    waiter.send('BLPOP', 'auth:queue', '5');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await pusher.command('RPUSH', 'auth:queue', 'job')).toBe(1);
    expect(await waiter.read(1)).toEqual([['auth:queue', 'job']]);
    waiter.close();
    pusher.close();
  });

  it('subscribes after AUTH, over a tunnel that logs in to the node', async () => {
    const subscriber = await RawClient.open(proxy.port);
    expect(message(await subscriber.command('SUBSCRIBE', 'news'))).toBe('NOAUTH Authentication required.');
    expect(await subscriber.command('AUTH', CLIENT_PASSWORD)).toBe('OK');
    expect(await subscriber.command('SUBSCRIBE', 'news')).toEqual(['subscribe', 'news', 1]);
    const publisher = new Redis({ host: '127.0.0.1', port: proxy.port, password: CLIENT_PASSWORD });
    try {
      // The count is of subscribers on the master that took the PUBLISH; the message reaches all.
      await publisher.publish('news', 'hello');
      expect(await subscriber.read(1)).toEqual([['message', 'news', 'hello']]);
    } finally {
      publisher.disconnect();
      subscriber.close();
    }
  });
});

describe('a slotgate without a password of its own', () => {
  it("answers AUTH with Redis's error for a server without a password, and serves everyone", async () => {
    const client = await RawClient.open(openProxy.port);
    expect(await client.command('GET', 'auth:a')).toBe('1');
    expect(message(await client.command('AUTH', 'anything'))).toBe(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
    // As for Redis's default user with nopass: any password for "default", no other user.
    expect(await client.command('AUTH', 'default', 'anything')).toBe('OK');
    expect(message(await client.command('AUTH', 'admin', 'anything'))).toMatch(/^WRONGPASS/);
    client.close();
  });

  it('reads from replicas, sending AUTH before READONLY', async () => {
    const replicaProxy = await startTestProxy(cluster.seeds, { backendPassword: NODE_PASSWORD, readFrom: 'replica' });
    const client = new Redis({ host: '127.0.0.1', port: replicaProxy.port, maxRetriesPerRequest: 0 });
    try {
      await client.set('auth:replicated', 'v');
      let value: string | null = null;
      for (let i = 0; i < 50 && value === null; i++) {
        value = await client.get('auth:replicated');
        if (value === null) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(value).toBe('v');
    } finally {
      client.disconnect();
      await replicaProxy.close();
    }
  });
});

describe('wrong credentials for the nodes', () => {
  it('stop start-up with an error that says authentication', async () => {
    const start = startTestProxy(cluster.seeds, { backendPassword: 'not-it', connectTimeoutMs: 1000 });
    await expect(start).rejects.toThrow(/authentication to 127\.0\.0\.1:\d+ failed \(WRONGPASS.*check backendUsername and backendPassword/);
    await expect(startTestProxy(cluster.seeds, { connectTimeoutMs: 1000 })).rejects.toThrow(/authentication to .* failed \(NOAUTH/);
  });

  it('fail requests with a clear error, logged, when a node refuses AUTH on the data path', async () => {
    // Start with the right password; the data connections open on first use, after it changes.
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
    const changing = await startProxy({ ...defaultSettings, bind: '127.0.0.1', port: 0, seeds: cluster.seeds, backendPassword: NODE_PASSWORD }, logger);
    const masters = cluster.nodes.slice(0, 3).map((node) => new Redis({ host: node.host, port: node.port, password: NODE_PASSWORD }));
    const client = await RawClient.open(changing.port);
    try {
      for (const master of masters) await master.config('SET', 'requirepass', 'rotated');
      const reply = message(await client.command('SET', 'auth:rotated', 'x'));
      expect(reply).toMatch(/^ERR slotgate: authentication to 127\.0\.0\.1:\d+ failed \(WRONGPASS invalid username-password pair/);
      expect(reply).not.toContain(NODE_PASSWORD);
      // Backing off, the next request is told the same at once rather than parked.
      expect(message(await client.command('GET', 'auth:rotated'))).toMatch(/authentication to .* failed/);
      expect(message(await client.command('BLPOP', 'auth:rotated-list', '1'))).toMatch(/authentication to .* failed/);
      expect(lines.join('')).toContain('backend authentication failed');
      expect(lines.join('')).not.toContain(NODE_PASSWORD);
    } finally {
      for (const master of masters) {
        await master.config('SET', 'requirepass', NODE_PASSWORD);
        master.disconnect();
      }
      client.close();
      await changing.close();
    }
  });
});
