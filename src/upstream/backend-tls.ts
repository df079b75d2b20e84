import { createSecureContext, type ConnectionOptions } from 'node:tls';

/**
 * How slotgate reaches nodes that speak TLS (settings.backendTls): one object shared by reference by
 * every connection to a node (shared, the clients' own, control), like BackendLogin, so that a
 * reload that finds new certificate files changes it in one place. Each connection reads `options`
 * when it connects: connections opened afterwards present and check the new certificates, and those
 * already open keep the session they have.
 */
export class BackendTls {
  // Set by change(), which the constructor calls.
  options!: ConnectionOptions;

  /** `files`: the PEMs read by loadTlsFiles (ca, cert, key) and the servername to check. */
  constructor(files: ConnectionOptions) {
    this.change(files);
  }

  /** Connections made from now on use `files`. */
  change(files: ConnectionOptions): void {
    const { servername, ...pems } = files;
    // One context for every connection: given the PEMs instead, tls.connect would parse the CA, the
    // certificate and the key again for each one, which a reconnect to every node after a failover
    // would pay many times over.
    this.options = { secureContext: createSecureContext(pems), ...(servername === undefined ? {} : { servername }) };
  }
}
