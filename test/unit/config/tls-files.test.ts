import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/config/load-settings.ts';
import { errorFrom } from '../../helpers/config-error-from.ts';
import { defaultSettings } from '../../../src/config/settings.ts';
import { loadTlsFiles } from '../../../src/config/tls-files.ts';
import { makeTestCerts, type TestCerts } from '../../helpers/tls-certs.ts';

let certs: TestCerts;
beforeAll(async () => {
  certs = await makeTestCerts();
});
afterAll(() => certs?.remove());


function yamlFile(name: string, text: string): string {
  const path = join(certs.dir, name);
  writeFileSync(path, text);
  return path;
}

describe('TLS settings', () => {
  it('are off by default, and then no file is read', () => {
    expect(loadTlsFiles(defaultSettings)).toEqual({ server: null, backend: null });
    // Named but not used: TLS can be switched off with one flag, whatever the paths say.
    const settings = loadSettings(['--tls-cert-file', '/nope.pem', '--backend-tls-ca-cert-file', '/nope.pem'], {});
    expect(settings.tlsCertFile).toBe('/nope.pem');
  });

  it('take yes/no, true/false and 1/0 for switches, from flags, environment and YAML', () => {
    expect(loadSettings(['--backend-tls', 'yes'], {}).backendTls).toBe(true);
    expect(loadSettings([], { SLOTGATE_BACKEND_TLS: 'TRUE' }).backendTls).toBe(true);
    expect(loadSettings(['--backend-tls', '0'], { SLOTGATE_BACKEND_TLS: '1' }).backendTls).toBe(false);
    expect(loadSettings(['--config', yamlFile('a.yaml', 'backendTls: true\n')], {}).backendTls).toBe(true);
    expect(loadSettings(['--config', yamlFile('b.yaml', 'backendTls: no\n')], {}).backendTls).toBe(false);
    expect(errorFrom(['--tls-auth-clients', 'maybe'])).toBe('--tls-auth-clients must be yes or no (true or false), got "maybe"');
    expect(errorFrom(['--config', yamlFile('c.yaml', 'backendTls: 2\n')])).toMatch(/:1: backendTls must be yes or no \(true or false\), got 2$/);
  });

  it('load a working set of files for both sides', () => {
    const settings = loadSettings(
      [
        '--tls-port', '7443', '--tls-cert-file', certs.serverCertFile, '--tls-key-file', certs.serverKeyFile,
        '--tls-ca-cert-file', certs.caFile, '--tls-auth-clients', 'yes',
        '--backend-tls', 'yes', '--backend-tls-ca-cert-file', certs.caFile,
        '--backend-tls-cert-file', certs.clientCertFile, '--backend-tls-key-file', certs.clientKeyFile,
        '--backend-tls-server-name', 'localhost',
      ],
      {},
    );
    const tls = loadTlsFiles(settings);
    expect(tls.server).toMatchObject({ requestCert: true, rejectUnauthorized: true });
    expect(tls.server?.ca).toEqual(certs.ca);
    expect(tls.backend).toMatchObject({ servername: 'localhost', ca: certs.ca });
    expect(tls.backend?.cert).toBeInstanceOf(Buffer);
  });

  it('leave the nodes checked against the system CAs and their own address when nothing more is given', () => {
    expect(loadTlsFiles({ ...defaultSettings, backendTls: true }).backend).toEqual({});
  });

  it('explain what a TLS port is missing', () => {
    expect(errorFrom(['--tls-port', '7443'])).toBe(
      'tlsPort (--tls-port) needs tlsCertFile (--tls-cert-file) and tlsKeyFile (--tls-key-file): the certificate the TLS port presents and its key',
    );
    expect(errorFrom(['--tls-port', '7443', '--tls-cert-file', certs.serverCertFile, '--tls-key-file', certs.serverKeyFile, '--tls-auth-clients', 'yes'])).toBe(
      'tlsAuthClients (--tls-auth-clients) needs tlsCaCertFile (--tls-ca-cert-file): the CA that client certificates must chain to',
    );
    expect(errorFrom(['--backend-tls', 'yes', '--backend-tls-cert-file', certs.clientCertFile])).toBe(
      'backendTlsCertFile (--backend-tls-cert-file) and backendTlsKeyFile (--backend-tls-key-file) go together: give both or neither',
    );
  });

  it('name the setting and the path of a file that cannot be used', () => {
    const missing = join(certs.dir, 'missing.pem');
    expect(errorFrom(['--tls-port', '7443', '--tls-cert-file', missing, '--tls-key-file', certs.serverKeyFile])).toBe(
      `tlsCertFile (--tls-cert-file): cannot read ${missing}: no such file`,
    );
    expect(errorFrom([], { SLOTGATE_BACKEND_TLS: 'yes', SLOTGATE_BACKEND_TLS_CA_CERT_FILE: certs.dir })).toMatch(
      /^backendTlsCaCertFile \(--backend-tls-ca-cert-file\): cannot read .*: /,
    );
    const notPem = yamlFile('not.pem', 'hello\n');
    expect(errorFrom(['--backend-tls', 'yes', '--backend-tls-ca-cert-file', notPem])).toBe(
      `backendTlsCaCertFile (--backend-tls-ca-cert-file): ${notPem} is not a PEM file (no "-----BEGIN" line)`,
    );
  });

  it('refuse a key that does not belong to the certificate at start-up', () => {
    expect(errorFrom(['--tls-port', '7443', '--tls-cert-file', certs.serverCertFile, '--tls-key-file', certs.clientKeyFile])).toMatch(
      /^tlsCertFile \(--tls-cert-file\), tlsKeyFile \(--tls-key-file\): .*key values mismatch/,
    );
  });
});
