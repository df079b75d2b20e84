import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.ts';
import { loadTlsFiles } from '../../../src/config/tls-files.ts';
import { defaultSettings, type Settings } from '../../../src/config/settings.ts';
import { LiveTls } from '../../../src/server/live-tls.ts';
import { makeTestCerts, type TestCerts } from '../../helpers/tls-certs.ts';

/** Two unrelated CAs, each with its certificates: a rotation from one to the other is plain to see. */
let before: TestCerts;
let after: TestCerts;
/** The paths slotgate is configured with; the tests rewrite what is in them, as a rotation does. */
let files: { cert: string; key: string; ca: string };
let settings: Settings;

beforeAll(async () => {
  [before, after] = await Promise.all([makeTestCerts(), makeTestCerts()]);
  files = { cert: join(before.dir, 'live.crt'), key: join(before.dir, 'live.key'), ca: join(before.dir, 'live-ca.crt') };
  settings = {
    ...defaultSettings,
    tlsPort: 1,
    tlsCertFile: files.cert,
    tlsKeyFile: files.key,
    backendTls: true,
    backendTlsCaCertFile: files.ca,
  };
});

afterAll(() => {
  before?.remove();
  after?.remove();
});

function install(certs: TestCerts): void {
  copyFileSync(certs.serverCertFile, files.cert);
  copyFileSync(certs.serverKeyFile, files.key);
  copyFileSync(certs.caFile, files.ca);
}

function logLines(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }), lines };
}

/** Connects to `server` trusting only `ca`: resolves with the socket, or rejects with the handshake's error. */
function handshake(server: Server, ca: Buffer): Promise<TLSSocket> {
  const address = server.address() as { port: number };
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: address.port, ca }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A TLS echo server made as start-proxy makes the TLS port, from the LiveTls's options. */
async function echoServer(tls: LiveTls): Promise<Server> {
  const server = createServer({ ...tls.serverOptions }, (socket) => socket.pipe(socket));
  tls.serve(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function echo(socket: TLSSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (data) => resolve(data.toString()));
    socket.write(text);
  });
}

describe('a reload of the TLS files', () => {
  it('has the TLS port present the rewritten certificate to new handshakes, and keeps the connections it has', async () => {
    install(before);
    const { logger, lines } = logLines();
    const tls = new LiveTls(loadTlsFiles(settings), logger);
    const server = await echoServer(tls);
    const old = await handshake(server, before.ca);
    try {
      install(after);
      tls.reload(settings);
      await expect(handshake(server, before.ca)).rejects.toThrow(/unable to verify|self.signed|certificate/i);
      const fresh = await handshake(server, after.ca);
      fresh.destroy();
      expect(await echo(old, 'still here')).toBe('still here');
      expect(lines.map((line) => line.msg)).toEqual(['TLS certificates reloaded; connections made from now on use them']);
      expect(lines[0].certificates).toEqual(['tls_port', 'backend']);
      expect(String((lines[0].validUntil as Record<string, string>).tls_port)).toMatch(/^\d{4}-\d\d-\d\dT/);
    } finally {
      old.destroy();
      server.close();
    }
  });

  it('changes nothing and says nothing when the files are as they were', () => {
    install(before);
    const { logger, lines } = logLines();
    const tls = new LiveTls(loadTlsFiles(settings), logger);
    const context = tls.backend?.options.secureContext;
    tls.reload(settings);
    expect(tls.backend?.options.secureContext).toBe(context);
    expect(lines).toEqual([]);
  });

  it('gives connections to nodes made from then on the new CA', () => {
    install(before);
    const tls = new LiveTls(loadTlsFiles(settings), pino({ level: 'silent' }));
    const context = tls.backend?.options.secureContext;
    install(after);
    tls.reload({ ...settings, backendTlsServerName: 'redis.internal' });
    expect(tls.backend?.options.secureContext).not.toBe(context);
    expect(tls.backend?.options.servername).toBe('redis.internal');
  });

  it('keeps the certificate in use when a rewritten file is not yet whole, and takes it at the next reload', async () => {
    install(before);
    const tls = new LiveTls(loadTlsFiles(settings), pino({ level: 'silent' }));
    const server = await echoServer(tls);
    try {
      // A rotation caught half way: the certificate written, its key not yet.
      copyFileSync(after.serverCertFile, files.cert);
      expect(() => tls.reload(settings)).toThrow(ConfigError);
      (await handshake(server, before.ca)).destroy();
      writeFileSync(files.key, '-----BEGIN PRIVATE KEY-----\ntruncat');
      expect(() => tls.reload(settings)).toThrow(ConfigError);
      (await handshake(server, before.ca)).destroy();
      copyFileSync(after.serverKeyFile, files.key);
      tls.reload(settings);
      (await handshake(server, after.ca)).destroy();
    } finally {
      server.close();
    }
  });

  it('reports when each certificate in use expires', () => {
    install(before);
    const tls = new LiveTls(loadTlsFiles({ ...settings, backendTlsCertFile: before.clientCertFile, backendTlsKeyFile: before.clientKeyFile }), pino({ level: 'silent' }));
    const expiries = tls.expiries();
    const now = Date.now() / 1000;
    // makeTestCerts signs for two days.
    for (const role of ['tls_port', 'backend'] as const) {
      expect(expiries.get(role)).toBeGreaterThan(now + 86400);
      expect(expiries.get(role)).toBeLessThan(now + 3 * 86400);
    }
  });
});
