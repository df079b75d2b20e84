/**
 * A throwaway certificate authority and certificates signed by it, made with the openssl CLI in a
 * temp dir, for TLS tests: the server certificate has IP SAN 127.0.0.1 (and DNS localhost), so a
 * client connecting to 127.0.0.1 verifies it with nothing but the CA.
 *
 *   const certs = await makeTestCerts();
 *   try { ...certs.caFile, certs.serverCertFile... } finally { certs.remove(); }
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TestCerts {
  dir: string;
  caFile: string;
  /** For servers: redis-server and slotgate's TLS port. Also good as a client certificate. */
  serverCertFile: string;
  serverKeyFile: string;
  /** A client certificate (CN=slotgate-test-client) signed by the same CA. */
  clientCertFile: string;
  clientKeyFile: string;
  /** The CA certificate's PEM, for `tls: { ca }`. */
  ca: Buffer;
  remove(): void;
}

/** openssl with an error that shows what it said. */
async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd: dir });
  } catch (error) {
    const { stderr = '' } = error as { stderr?: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${(error as Error).message}\n${stderr}`);
  }
}

/** A key and a certificate for `subject`, signed by the CA in `dir`, with the extensions in `ext`. */
async function issue(dir: string, name: string, subject: string, ext: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(dir, ['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'slotgate-tls-'));
  try {
    await openssl(dir, [
      'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-sha256', '-subj', '/CN=slotgate test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    // Redis presents its one certificate both as a server and, on the cluster bus and replication
    // links, as a client: hence both usages.
    await issue(dir, 'server', '/CN=127.0.0.1', [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'));
    await issue(dir, 'client', '/CN=slotgate-test-client', [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
      '',
    ].join('\n'));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const caFile = join(dir, 'ca.crt');
  return {
    dir,
    caFile,
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    ca: readFileSync(caFile),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
