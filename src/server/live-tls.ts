import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions, Server as TlsServer, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { loadTlsFiles, type TlsSetup } from '../config/tls-files.ts';
import type { Settings } from '../config/settings.ts';
import { BackendTls } from '../upstream/backend-tls.ts';

/** The certificates a reload may replace: the one the TLS port presents, and the one shown to nodes. */
export type TlsRole = 'tls_port' | 'backend';

/**
 * The TLS material a running proxy uses, and what a reload does with it. Certificates are replaced
 * where they stand (cert-manager and the like rewrite the same paths before they expire), so every
 * reload reads the files again, whether or not their paths changed, and puts in force those whose
 * contents did: the TLS port presents the new certificate to the handshakes that follow, and
 * connections to nodes opened from then on use the new client certificate and CA. Connections
 * already made keep the session they have, as Redis's own TLS reload does.
 *
 * Whether there is a TLS port, and whether nodes are reached over TLS at all, is fixed at start-up
 * (tlsPort, backendTls and tlsAuthClients need a restart, see plan-reload.ts).
 */
export class LiveTls {
  /** For every connection to a node; undefined when nodes are reached in plain text. */
  readonly backend: BackendTls | undefined;
  private files: TlsSetup;
  private notAfter: Map<TlsRole, number>;
  private server: TlsServer | null = null;
  private readonly logger: Logger;

  constructor(files: TlsSetup, logger: Logger) {
    this.files = files;
    this.notAfter = expiriesOf(files);
    this.logger = logger;
    this.backend = files.backend === null ? undefined : new BackendTls(files.backend);
  }

  /** Options for tls.createServer() on the TLS port; null when there is none. */
  get serverOptions(): TlsOptions | null {
    return this.files.server;
  }

  /** The listener on the TLS port, once made: reloads give it their certificate. */
  serve(server: TlsServer | null): void {
    this.server = server;
  }

  /** When each certificate in use stops being valid, in seconds since the epoch (for metrics). */
  expiries(): ReadonlyMap<TlsRole, number> {
    return this.notAfter;
  }

  /**
   * Reads the files `settings` names and puts in force those whose contents changed. Throws the
   * ConfigError loadTlsFiles throws (a file unreadable or half written, a key that is not the
   * certificate's) having changed nothing, so a rotation caught in the middle keeps the old
   * certificates until the next reload.
   */
  reload(settings: Settings): void {
    const next = loadTlsFiles(settings);
    const changed: TlsRole[] = [];
    if (next.server !== null && !samePems(this.files.server, next.server)) {
      // Builds the context at once; it throws here, before anything changed, if it must.
      this.server?.setSecureContext(next.server);
      changed.push('tls_port');
    }
    if (next.backend !== null && this.backend !== undefined && !samePems(this.files.backend, next.backend)) {
      this.backend.change(next.backend);
      changed.push('backend');
    }
    this.files = next;
    if (changed.length === 0) return;
    this.notAfter = expiriesOf(next);
    const validUntil = Object.fromEntries(changed.map((role) => [role, isoDate(this.notAfter.get(role))]));
    this.logger.info({ certificates: changed, validUntil }, 'TLS certificates reloaded; connections made from now on use them');
  }
}

function samePems(a: TlsOptions | ConnectionOptions | null, b: TlsOptions | ConnectionOptions): boolean {
  if (a === null) return false;
  return samePem(a.cert, b.cert) && samePem(a.key, b.key) && samePem(a.ca, b.ca) && (a as ConnectionOptions).servername === (b as ConnectionOptions).servername;
}

/** loadTlsFiles reads each file into one Buffer, or leaves it out. */
function samePem(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
}

function expiriesOf(files: TlsSetup): Map<TlsRole, number> {
  const expiries = new Map<TlsRole, number>();
  const server = notAfter(files.server?.cert);
  const backend = notAfter(files.backend?.cert);
  if (server !== null) expiries.set('tls_port', server);
  if (backend !== null) expiries.set('backend', backend);
  return expiries;
}

/** The first certificate's notAfter, in seconds since the epoch; null when there is none or it can't be read. */
function notAfter(pem: unknown): number | null {
  if (!Buffer.isBuffer(pem)) return null;
  try {
    return Math.floor(Date.parse(new X509Certificate(pem).validTo) / 1000);
  } catch {
    return null;
  }
}

function isoDate(seconds: number | undefined): string {
  return seconds === undefined ? 'unknown' : new Date(seconds * 1000).toISOString();
}
