/**
 * AUTH and TLS together, on both sides: the nodes speak TLS only and have requirepass, slotgate
 * logs in to each over TLS, and asks its own TLS clients for a password. Each feature has its own
 * file (auth.test.ts, tls.test.ts); this one checks that they travel together on every kind of
 * connection slotgate opens (shared, blocking, pub/sub, control).
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningProxy } from '../../src/server/start-proxy.ts';
import { freePort } from '../helpers/free-port.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.ts';

const NODE_PASSWORD = 'node-secret';
const CLIENT_PASSWORD = 'client-secret';

let certs: TestCerts;
let cluster: RedisClusterHandle;
let proxy: RunningProxy;

beforeAll(async () => {
  certs = await makeTestCerts();
  cluster = await startRedisCluster({
    password: NODE_PASSWORD,
    tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
  });
  proxy = await startTestProxy(cluster.seeds, {
    backendTls: true,
    backendTlsCaCertFile: certs.caFile,
    backendPassword: NODE_PASSWORD,
    password: CLIENT_PASSWORD,
    tlsPort: await freePort(),
    tlsCertFile: certs.serverCertFile,
    tlsKeyFile: certs.serverKeyFile,
  });
});

afterAll(async () => {
  await proxy?.close();
  await cluster?.stop();
  certs?.remove();
});

it('serves a TLS client that authenticates, over TLS connections that authenticated to the nodes', async () => {
  const client = new Redis({
    host: '127.0.0.1',
    port: proxy.tlsPort,
    password: CLIENT_PASSWORD,
    tls: { ca: readFileSync(certs.caFile) },
    maxRetriesPerRequest: 0,
  });
  try {
    const keys = Array.from({ length: 30 }, (_, i) => `auth-tls:${i}`);
    for (const key of keys) expect(await client.set(key, key)).toBe('OK');
    expect(await client.mget(...keys)).toEqual(keys);
    expect(await client.dbsize()).toBe(30);
    expect(proxy.stats().nodes.filter((node) => node.health === 'up').length).toBe(3);
  } finally {
    client.disconnect();
  }
});

it('refuses a plain client without the password, and runs blocking and pub/sub commands once it has it', async () => {
  const waiter = await RawClient.open(proxy.port);
  const pusher = await RawClient.open(proxy.port);
  const subscriber = await RawClient.open(proxy.port);
  try {
    expect(String(await waiter.command('GET', 'k'))).toMatch(/NOAUTH/);
    for (const client of [waiter, pusher, subscriber]) expect(await client.command('AUTH', CLIENT_PASSWORD)).toBe('OK');
    waiter.send('BLPOP', 'auth-tls:queue', '5');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await pusher.command('RPUSH', 'auth-tls:queue', 'job')).toBe(1);
    expect(await waiter.read(1)).toEqual([['auth-tls:queue', 'job']]);

    subscriber.send('SUBSCRIBE', 'auth-tls:news');
    expect(await subscriber.read(1)).toEqual([['subscribe', 'auth-tls:news', 1]]);
    await pusher.command('PUBLISH', 'auth-tls:news', 'hello');
    expect(await subscriber.read(1)).toEqual([['message', 'auth-tls:news', 'hello']]);
  } finally {
    for (const client of [waiter, pusher, subscriber]) client.close();
  }
});
