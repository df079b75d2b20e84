import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/config/settings.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';
import { freePort } from '../helpers/free-port.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { killSlotgate, spawnSlotgate } from '../helpers/spawn-slotgate.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.ts';

const execFileAsync = promisify(execFile);

let certs: TestCerts;
let cluster: RedisClusterHandle;
/** TLS to the nodes (with a client certificate: they require one), plain and TLS ports for clients. */
let proxy: RunningProxy;
/** The same, its TLS port requiring client certificates. */
let strictProxy: RunningProxy;

function backendTls(): Partial<Settings> {
  return {
    backendTls: true,
    backendTlsCaCertFile: certs.caFile,
    backendTlsCertFile: certs.clientCertFile,
    backendTlsKeyFile: certs.clientKeyFile,
  };
}

beforeAll(async () => {
  certs = await makeTestCerts();
  cluster = await startRedisCluster({ tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, authClients: true } });
  const serving = { tlsCertFile: certs.serverCertFile, tlsKeyFile: certs.serverKeyFile };
  proxy = await startTestProxy(cluster.seeds, { ...backendTls(), ...serving, tlsPort: await freePort(), connectionsPerNode: 1 });
  strictProxy = await startTestProxy(cluster.seeds, {
    ...backendTls(),
    ...serving,
    tlsPort: await freePort(),
    tlsCaCertFile: certs.caFile,
    tlsAuthClients: true,
  });
});

afterAll(async () => {
  await proxy?.close();
  await strictProxy?.close();
  await cluster?.stop();
  certs?.remove();
});

describe('a TLS-only cluster behind slotgate', () => {
  it('serves plain clients: keys on every master, MGET split across slots', async () => {
    const client = new Redis({ host: '127.0.0.1', port: proxy.port });
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `tls:key:${i}`);
      for (const key of keys) expect(await client.set(key, `value of ${key}`)).toBe('OK');
      for (const key of keys) expect(await client.get(key)).toBe(`value of ${key}`);
      expect(await client.mget(...keys, 'tls:missing')).toEqual([...keys.map((key) => `value of ${key}`), null]);
      // Every master was reached, over the TLS ports CLUSTER SLOTS gave (the nodes have no plain port).
      expect(proxy.stats().nodes.filter((node) => node.health === 'up').length).toBe(3);
    } finally {
      client.disconnect();
    }
  });

  it('runs blocking commands over the client\'s own TLS connections', async () => {
    const waiter = await RawClient.open(proxy.port);
    const other = await RawClient.open(proxy.port);
    try {
      expect(await waiter.command('BLPOP', 'tls:queue:empty', '0.2')).toBe(null);
      waiter.send('BLPOP', 'tls:queue', '5');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await other.command('RPUSH', 'tls:queue', 'job')).toBe(1);
      expect(await waiter.read(1)).toEqual([['tls:queue', 'job']]);
    } finally {
      waiter.close();
      other.close();
    }
  });

  it('tunnels SUBSCRIBE and delivers PUBLISH', async () => {
    const subscriber = await RawClient.open(proxy.port);
    const publisher = await RawClient.open(proxy.port);
    try {
      subscriber.send('SUBSCRIBE', 'tls:news');
      expect(await subscriber.read(1)).toEqual([['subscribe', 'tls:news', 1]]);
      // PUBLISH counts the subscribers of the node it ran on only: not necessarily this one's.
      await publisher.command('PUBLISH', 'tls:news', 'hello');
      expect(await subscriber.read(1)).toEqual([['message', 'tls:news', 'hello']]);
    } finally {
      subscriber.close();
      publisher.close();
    }
  });

  it('does not start without the client certificate the nodes require, or with a name their certificates lack', async () => {
    const noCert = startTestProxy(cluster.seeds, { backendTls: true, backendTlsCaCertFile: certs.caFile });
    const wrongName = startTestProxy(cluster.seeds, { ...backendTls(), backendTlsServerName: 'redis.example' });
    // The TLS error itself, for the operator, not ioredis's "Connection is closed." Both are awaited
    // together: one failing while the other is awaited would be an unhandled rejection.
    await Promise.all([
      expect(noCert).rejects.toThrow(/certificate required|ECONNRESET|socket hang up/),
      expect(wrongName).rejects.toThrow(/redis\.example/),
    ]);
  });
});

describe("slotgate's TLS port", () => {
  it('serves ioredis with tls: { ca }, alongside the plain port', async () => {
    const secure = new Redis({ host: '127.0.0.1', port: proxy.tlsPort, tls: { ca: certs.ca } });
    const plain = new Redis({ host: '127.0.0.1', port: proxy.port });
    try {
      expect(await secure.set('tls:both', 'over tls')).toBe('OK');
      expect(await plain.get('tls:both')).toBe('over tls');
      expect(await secure.mget('tls:both', 'tls:key:1', 'tls:key:2')).toEqual(['over tls', 'value of tls:key:1', 'value of tls:key:2']);
      expect(String(await secure.call('INFO', 'proxy'))).toMatch(/connected_clients:2/);
    } finally {
      secure.disconnect();
      plain.disconnect();
    }
  });

  it('serves redis-cli --tls --cacert', async () => {
    const cli = (...args: string[]) =>
      execFileAsync('redis-cli', ['--tls', '--cacert', certs.caFile, '-h', '127.0.0.1', '-p', String(proxy.tlsPort), ...args]);
    expect((await cli('SET', 'tls:cli', 'from redis-cli')).stdout.trim()).toBe('OK');
    expect((await cli('GET', 'tls:cli')).stdout.trim()).toBe('from redis-cli');
  });

  it('closes a plain-text client without answering it, and carries on', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.tlsPort });
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', () => {});
    socket.write('PING\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Buffer.concat(received).toString()).not.toContain('PONG');
    const secure = new Redis({ host: '127.0.0.1', port: proxy.tlsPort, tls: { ca: certs.ca } });
    expect(await secure.ping()).toBe('PONG');
    secure.disconnect();
  });

  it('with tlsAuthClients, refuses a client without a certificate and serves one with', async () => {
    // TLS 1.3 finishes the client's side of the handshake first; the refusal comes as an alert.
    const anonymous = connectTls({ host: '127.0.0.1', port: strictProxy.tlsPort, ca: certs.ca });
    const failure = new Promise<string>((resolve) => {
      anonymous.on('error', (error) => resolve(error.message));
      anonymous.on('close', () => resolve('closed'));
    });
    anonymous.write('*1\r\n$4\r\nPING\r\n');
    anonymous.on('data', () => {
      throw new Error('a client without a certificate was answered');
    });
    expect(await failure).toMatch(/certificate required|closed|ECONNRESET/);

    const client = new Redis({
      host: '127.0.0.1',
      port: strictProxy.tlsPort,
      tls: { ca: certs.ca, cert: readFileSync(certs.clientCertFile), key: readFileSync(certs.clientKeyFile) },
    });
    try {
      expect(await client.set('tls:strict', 'yes')).toBe('OK');
      expect(await client.get('tls:strict')).toBe('yes');
    } finally {
      client.disconnect();
    }
  });
});

describe('TLS with workers and limits', () => {
  it('counts clients of both ports against maxClients', async () => {
    const small = await startTestProxy(cluster.seeds, {
      ...backendTls(),
      tlsCertFile: certs.serverCertFile,
      tlsKeyFile: certs.serverKeyFile,
      tlsPort: await freePort(),
      maxClients: 1,
    });
    const plain = await RawClient.open(small.port);
    try {
      expect(await plain.command('PING')).toBe('PONG');
      const secure = connectTls({ host: '127.0.0.1', port: small.tlsPort, ca: certs.ca });
      const received: Buffer[] = [];
      secure.on('data', (chunk) => received.push(chunk));
      await new Promise((resolve) => secure.once('close', resolve));
      expect(Buffer.concat(received).toString()).toBe('-ERR max number of clients reached\r\n');
    } finally {
      plain.close();
      await small.close();
    }
  });

  it('has every worker listen on the TLS port too', async () => {
    const [port, tlsPort] = [await freePort(), await freePort()];
    const args = ['--port', String(port), '--tls-port', String(tlsPort), '--tls-cert-file', certs.serverCertFile, '--tls-key-file', certs.serverKeyFile];
    args.push('--backend-tls', 'yes', '--backend-tls-ca-cert-file', certs.caFile, '--backend-tls-cert-file', certs.clientCertFile);
    args.push('--backend-tls-key-file', certs.clientKeyFile, '--seeds', cluster.seeds.join(','), '--workers', '2', '--bind', '127.0.0.1');
    const slotgate = await spawnSlotgate(args, 'workers listening');
    try {
      const pids = new Set<string>();
      for (let i = 0; i < 16 && pids.size < 2; i++) {
        const client = new Redis({ host: '127.0.0.1', port: tlsPort, tls: { ca: certs.ca } });
        pids.add(/process_id:(\d+)/.exec(String(await client.call('INFO', 'proxy')))?.[1] ?? '');
        expect(await client.set(`tls:worker:${i}`, 'x')).toBe('OK');
        client.disconnect();
      }
      expect(pids.size).toBe(2);
    } finally {
      killSlotgate(slotgate);
    }
  });
});

describe('certificates rotated in place', () => {
  it('are taken at a reload: the TLS port presents the new one, and new connections to nodes show theirs', async () => {
    // The files slotgate is configured with, rewritten as cert-manager or an operator rotating by hand does.
    const dir = mkdtempSync(join(tmpdir(), 'slotgate-rotate-'));
    const files = { cert: join(dir, 'port.crt'), key: join(dir, 'port.key'), clientCert: join(dir, 'node-client.crt'), clientKey: join(dir, 'node-client.key') };
    const install = (from: TestCerts) => {
      copyFileSync(from.serverCertFile, files.cert);
      copyFileSync(from.serverKeyFile, files.key);
      copyFileSync(from.clientCertFile, files.clientCert);
      copyFileSync(from.clientKeyFile, files.clientKey);
    };
    // Signed by a CA neither the nodes nor slotgate's clients trust yet.
    const other = await makeTestCerts();
    install(certs);
    const overrides: Partial<Settings> = {
      ...backendTls(),
      backendTlsCertFile: files.clientCert,
      backendTlsKeyFile: files.clientKey,
      tlsCertFile: files.cert,
      tlsKeyFile: files.key,
      tlsPort: await freePort(),
      // One connection per node, open once used: the reads after the rotation go over the one the SET opened.
      connectionsPerNode: 1,
      // A connection the nodes refuse is retried for no longer than this.
      retryBudgetMs: 1000,
    };
    const rotating = await startTestProxy(cluster.seeds, overrides);
    const settings: Settings = { ...defaultSettings, bind: '127.0.0.1', seeds: cluster.seeds, ...overrides };
    const before = new Redis({ host: '127.0.0.1', port: rotating.tlsPort, tls: { ca: certs.ca } });
    const clients = [before];
    const client = (ca: Buffer) => {
      const made = new Redis({ host: '127.0.0.1', port: rotating.tlsPort, tls: { ca }, maxRetriesPerRequest: 0, retryStrategy: () => null });
      made.on('error', () => {});
      clients.push(made);
      return made;
    };
    try {
      expect(await before.set('tls:rotate', 'before')).toBe('OK');
      install(other);
      rotating.applySettings(settings);

      await expect(client(certs.ca).ping()).rejects.toThrow();
      const after = client(other.ca);
      expect(await after.get('tls:rotate')).toBe('before');
      // Connected before the rotation, still served.
      expect(await before.get('tls:rotate')).toBe('before');
      // A blocking command needs a new connection to a node: the nodes refuse the client
      // certificate they can't verify, so slotgate did present the new one...
      await expect(after.blpop('tls:rotate:list', 0.1)).rejects.toThrow(/slotgate.*unknown ca/);
      // ...and takes the right one again at the next reload.
      install(certs);
      copyFileSync(other.serverCertFile, files.cert);
      copyFileSync(other.serverKeyFile, files.key);
      rotating.applySettings(settings);
      expect(await after.blpop('tls:rotate:list', 0.1)).toBeNull();
    } finally {
      for (const made of clients) made.disconnect();
      await rotating.close();
      other.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
