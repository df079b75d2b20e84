import type { UserSetting } from './user-settings.ts';

/**
 * Every setting slotgate understands, with its default. The YAML file, environment and command-line
 * flags all end up here (see load-settings.ts); the rest of the code reads only this shape.
 */
export interface Settings {
  /** Address the proxy listens on. */
  bind: string;
  /** Port the proxy listens on. */
  port: number;
  // TLS (see tls-files.ts, which reads and checks the files): a second, TLS listener for clients,
  // and TLS to the cluster's nodes. Paths are PEM files; "" means none.
  /** Port of a second listener speaking TLS, beside the plain one (Redis's tls-port); 0 for none. */
  tlsPort: number;
  /** The listener's certificate chain and its private key. */
  tlsCertFile: string;
  tlsKeyFile: string;
  /** CA bundle that client certificates must chain to. */
  tlsCaCertFile: string;
  /** Require and verify a client certificate on the TLS port (Redis's tls-auth-clients). */
  tlsAuthClients: boolean;
  /** Connect to the cluster's nodes over TLS (the nodes run with tls-cluster yes). */
  backendTls: boolean;
  /** CA bundle the nodes' certificates must chain to; "" trusts the system's CAs. */
  backendTlsCaCertFile: string;
  /** Client certificate and key for nodes that require one (tls-auth-clients yes). */
  backendTlsCertFile: string;
  backendTlsKeyFile: string;
  /** Name the nodes' certificates are checked against (and sent as SNI); "" checks each node's own address. */
  backendTlsServerName: string;
  /**
   * Path of a Unix domain socket to listen on as well (Redis's unixsocket); empty for none. For a
   * sidecar sharing a volume with its application: on this 2-core VM it cost about a sixth less
   * CPU per unpipelined request than loopback TCP (docs/PROFILE.md).
   */
  unixSocket: string;
  /** Permission bits given to the socket file, in octal like Redis's unixsocketperm ("770"); empty leaves the umask's. */
  unixSocketPerm: string;
  /** Cluster nodes to discover the topology from, as "host:port". Any one that answers is enough. */
  seeds: string[];
  /** Pipelined connections kept open to each master. A client always uses the same one per node, so its commands keep their order. */
  connectionsPerNode: number;
  /** How many MOVED/ASK redirects one request may follow before the client gets the last error. */
  maxRedirects: number;
  /** Largest bulk string accepted in a request, in bytes (Redis's proto-max-bulk-len). */
  protoMaxBulkLen: number;
  /** Largest number of arguments in one request (Redis refuses more than 1024*1024). */
  maxMultibulkLength: number;
  /** Client connections one slotgate process accepts; more are told so and closed (Redis's maxclients). */
  maxClients: number;
  /**
   * Seconds a client may stay idle before slotgate closes its connection, like Redis's timeout;
   * 0: never. Clients blocked in a command (BLPOP) or subscribed are spared, as in Redis; one in
   * the middle of MULTI is not.
   */
  timeout: number;
  /**
   * Seconds of silence before TCP keepalive probes a client connection (Redis's tcp-keepalive),
   * so a peer that vanished (a host gone, a dropped NAT entry) is noticed and its connection
   * freed; 0: off. Not for Unix-socket clients.
   */
  tcpKeepalive: number;
  /** Requests a client may have in flight before slotgate stops reading from its socket. */
  maxPendingPerClient: number;
  /**
   * Reply bytes a client may leave unread before slotgate closes its connection (Redis's
   * client-output-buffer-limit). Reading from a client already stops as soon as it falls behind;
   * this bounds what the requests it had already sent can still pile up.
   */
  maxClientOutputBytes: number;
  /** How long to wait for a backend TCP connection, in milliseconds. */
  connectTimeoutMs: number;
  /**
   * How long a shared connection to a node may owe replies without a byte arriving, in
   * milliseconds, before slotgate gives it up as dead (a node frozen, or cut off by a network that
   * drops packets without a reset); 0 never. Blocking commands and subscriptions are not timed.
   */
  replyTimeoutMs: number;
  /**
   * How long a request may wait, in milliseconds, for a node to serve it while its master fails
   * over or its slot migrates, before the client gets an error. A little above Redis's default
   * cluster-node-timeout (15 s) plus an election.
   */
  retryBudgetMs: number;
  /** Seconds between routine topology refreshes (0 turns them off; MOVED still triggers one). */
  topologyRefreshIntervalSeconds: number;
  /**
   * Where reads (read-only commands routed by key) go: 'master'; 'replica', a replica of the slot's
   * master only (waiting, within retryBudgetMs, while none is healthy); or 'prefer-replica', a
   * replica when one is healthy and the master otherwise. Replicas lag their master: a client may
   * not read its own writes at once.
   */
  readFrom: 'master' | 'replica' | 'prefer-replica';
  /**
   * Proxy processes sharing the port (SO_REUSEPORT), each with its own connections and slot map;
   * 0 for one per core. Port 0 always runs one.
   */
  workers: number;
  /** pino log level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
  /**
   * Port of the HTTP server that serves Prometheus metrics on GET /metrics; 0 for none. With
   * several workers the supervisor serves it, summing what every worker reports.
   */
  metricsPort: number;
  /** Address the metrics server listens on. */
  metricsBind: string;
  /**
   * The password clients must give (AUTH, or HELLO … AUTH) before any other command, like Redis's
   * requirepass for the default user; empty: none required. Prefer SLOTGATE_PASSWORD or a YAML
   * file readable only by slotgate to the flag, which `ps` shows to everyone.
   */
  password: string;
  /**
   * Users of slotgate's own (YAML only), each with its passwords, access and key prefixes; see
   * user-settings.ts. An entry named `default` is the default user (then `password` must be empty);
   * without one, the default user has `password` and may do everything.
   */
  users: UserSetting[];
  /** ACL user slotgate logs in to the cluster's nodes as; empty for the default user. */
  backendUsername: string;
  /** Password slotgate gives the cluster's nodes (their requirepass, or the user's); empty: none sent. */
  backendPassword: string;
}

export const defaultSettings: Settings = {
  bind: '127.0.0.1',
  port: 7380,
  tlsPort: 0,
  tlsCertFile: '',
  tlsKeyFile: '',
  tlsCaCertFile: '',
  tlsAuthClients: false,
  backendTls: false,
  backendTlsCaCertFile: '',
  backendTlsCertFile: '',
  backendTlsKeyFile: '',
  backendTlsServerName: '',
  unixSocket: '',
  unixSocketPerm: '',
  seeds: ['127.0.0.1:7000'],
  connectionsPerNode: 2,
  maxRedirects: 5,
  protoMaxBulkLen: 512 * 1024 * 1024,
  maxMultibulkLength: 1024 * 1024,
  maxClients: 50000,
  timeout: 0,
  tcpKeepalive: 300,
  maxPendingPerClient: 1024,
  maxClientOutputBytes: 256 * 1024 * 1024,
  connectTimeoutMs: 2000,
  replyTimeoutMs: 10000,
  retryBudgetMs: 18000,
  topologyRefreshIntervalSeconds: 10,
  readFrom: 'master',
  workers: 0,
  logLevel: 'info',
  metricsPort: 0,
  metricsBind: '127.0.0.1',
  password: '',
  users: [],
  backendUsername: '',
  backendPassword: '',
};
