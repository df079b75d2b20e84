import type { Settings } from './settings.ts';
import { maxTimerMs, type ValueRule } from './validate-settings.ts';

/**
 * How one setting is named everywhere an operator can give it, and what its value must look like.
 * Flags, environment variables, YAML keys and the --help text are all derived from the table below,
 * so adding a setting here is all it takes for every source to accept it, and they cannot drift.
 */
export interface SettingSpec {
  /** The Settings field, which is also the YAML key. */
  key: keyof Settings;
  /** Command-line flag without its dashes. Operators script against these: never rename one. */
  flag: string;
  /** Environment variable: SLOTGATE_ and the flag in upper snake case. */
  env: string;
  /** Placeholder for the value in --help. */
  valueName: string;
  rule: ValueRule;
  /** One line for --help. */
  description: string;
  /** Given in the YAML file only (a list of mappings): no flag, no environment variable. */
  yamlOnly?: boolean;
}

const anyCount = Number.MAX_SAFE_INTEGER;

// A mapped type over keyof Settings: the compiler refuses this table if a setting is missing.
const table: { [K in keyof Settings]: Omit<SettingSpec, 'key' | 'env'> } = {
  bind: {
    flag: 'bind',
    valueName: 'address',
    rule: { type: 'address' },
    description: 'Address to listen on (0.0.0.0 or :: for every interface).',
  },
  port: {
    flag: 'port',
    valueName: 'port',
    rule: { type: 'integer', min: 0, max: 65535 },
    description: 'Port to listen on (0 picks a free one).',
  },
  tlsPort: {
    flag: 'tls-port',
    valueName: 'port',
    rule: { type: 'integer', min: 0, max: 65535 },
    description: 'Port of a second listener that speaks TLS, beside the plain one; 0 for none.',
  },
  tlsCertFile: {
    flag: 'tls-cert-file',
    valueName: 'file',
    rule: { type: 'text' },
    description: 'PEM certificate (chain) the TLS port presents.',
  },
  tlsKeyFile: {
    flag: 'tls-key-file',
    valueName: 'file',
    rule: { type: 'text' },
    description: 'PEM private key of tls-cert-file.',
  },
  tlsCaCertFile: {
    flag: 'tls-ca-cert-file',
    valueName: 'file',
    rule: { type: 'text' },
    description: 'PEM CA bundle that client certificates must chain to (with tls-auth-clients).',
  },
  tlsAuthClients: {
    flag: 'tls-auth-clients',
    valueName: 'yes|no',
    rule: { type: 'boolean' },
    description: 'Require a client certificate, signed by tls-ca-cert-file, on the TLS port.',
  },
  backendTls: {
    flag: 'backend-tls',
    valueName: 'yes|no',
    rule: { type: 'boolean' },
    description: 'Connect to the cluster nodes over TLS (nodes with tls-cluster yes).',
  },
  backendTlsCaCertFile: {
    flag: 'backend-tls-ca-cert-file',
    valueName: 'file',
    rule: { type: 'text' },
    description: "PEM CA bundle the nodes' certificates must chain to; none trusts the system's CAs.",
  },
  backendTlsCertFile: {
    flag: 'backend-tls-cert-file',
    valueName: 'file',
    rule: { type: 'text' },
    description: 'PEM client certificate for nodes that require one (tls-auth-clients yes).',
  },
  backendTlsKeyFile: {
    flag: 'backend-tls-key-file',
    valueName: 'file',
    rule: { type: 'text' },
    description: 'PEM private key of backend-tls-cert-file.',
  },
  backendTlsServerName: {
    flag: 'backend-tls-server-name',
    valueName: 'name',
    rule: { type: 'text' },
    description: "Name the nodes' certificates must carry (also sent as SNI); none checks each node's address.",
  },
  unixSocket: {
    flag: 'unix-socket',
    valueName: 'path',
    rule: { type: 'text' },
    description: 'Also listen on this Unix domain socket (a sidecar sharing a volume with its app); empty for none.',
  },
  unixSocketPerm: {
    flag: 'unix-socket-perm',
    valueName: 'octal',
    rule: { type: 'mode' },
    description: 'Permission bits of the unix-socket file in octal, such as 770; empty leaves the umask\'s.',
  },
  seeds: {
    flag: 'seeds',
    valueName: 'host:port,...',
    rule: { type: 'seeds' },
    description: 'Cluster nodes to discover the topology from, comma-separated; any one that answers is enough.',
  },
  connectionsPerNode: {
    flag: 'connections-per-node',
    valueName: 'n',
    rule: { type: 'integer', min: 1, max: anyCount },
    description: 'Pipelined connections kept open to each master.',
  },
  retryBudgetMs: {
    flag: 'retry-budget-ms',
    valueName: 'ms',
    rule: { type: 'integer', min: 0, max: maxTimerMs },
    description: 'How long a request may wait for a node during a failover or migration before it fails, in ms.',
  },
  maxRedirects: {
    flag: 'max-redirects',
    valueName: 'n',
    rule: { type: 'integer', min: 0, max: anyCount },
    description: 'MOVED/ASK redirects one request may follow before the client gets the error.',
  },
  protoMaxBulkLen: {
    flag: 'proto-max-bulk-len',
    valueName: 'bytes',
    rule: { type: 'integer', min: 1, max: anyCount },
    description: 'Largest bulk string accepted in a request, in bytes.',
  },
  maxMultibulkLength: {
    flag: 'max-multibulk-length',
    valueName: 'n',
    rule: { type: 'integer', min: 1, max: anyCount },
    description: 'Largest number of arguments in one request.',
  },
  maxPendingPerClient: {
    flag: 'max-pending-per-client',
    valueName: 'n',
    rule: { type: 'integer', min: 1, max: anyCount },
    description: 'Requests a client may have in flight before slotgate stops reading from it.',
  },
  maxClients: {
    flag: 'max-clients',
    valueName: 'n',
    rule: { type: 'integer', min: 1, max: anyCount },
    description: 'Client connections one slotgate process accepts; more are told so and closed.',
  },
  timeout: {
    flag: 'timeout',
    valueName: 'seconds',
    // Redis's own bound for its timeout.
    rule: { type: 'integer', min: 0, max: 2 ** 31 - 1 },
    description: 'Close a client idle this many seconds (not one blocked or subscribed); 0 never does.',
  },
  tcpKeepalive: {
    flag: 'tcp-keepalive',
    valueName: 'seconds',
    // Linux refuses a longer keepalive idle time (MAX_TCP_KEEPIDLE).
    rule: { type: 'integer', min: 0, max: 32767 },
    description: 'Seconds of silence before TCP keepalive probes a client connection; 0 turns it off.',
  },
  maxClientOutputBytes: {
    flag: 'max-client-output-bytes',
    valueName: 'bytes',
    rule: { type: 'integer', min: 1, max: anyCount },
    description: 'Unread reply bytes a client may leave before slotgate closes its connection.',
  },
  connectTimeoutMs: {
    flag: 'connect-timeout-ms',
    valueName: 'ms',
    rule: { type: 'integer', min: 1, max: maxTimerMs },
    description: 'How long to wait for a backend TCP connection, in milliseconds.',
  },
  replyTimeoutMs: {
    flag: 'reply-timeout-ms',
    valueName: 'ms',
    rule: { type: 'integer', min: 0, max: maxTimerMs },
    description: 'How long a connection to a node may owe replies with nothing arriving before it is dropped as dead, in ms (0: never).',
  },
  topologyRefreshIntervalSeconds: {
    flag: 'topology-refresh-interval',
    valueName: 'seconds',
    rule: { type: 'seconds', max: Math.floor(maxTimerMs / 1000) },
    description: 'Seconds between routine topology refreshes (0 turns them off; MOVED still triggers one).',
  },
  readFrom: {
    flag: 'read-from',
    valueName: 'where',
    rule: { type: 'choice', choices: ['master', 'replica', 'prefer-replica'] },
    description: 'Where reads go: master, replica (replicas only) or prefer-replica (a healthy replica, else the master).',
  },
  workers: {
    flag: 'workers',
    valueName: 'n',
    rule: { type: 'integer', min: 0, max: 1024 },
    description: 'Proxy processes sharing the port, each with its own connections; 0 for one per core.',
  },
  logLevel: {
    flag: 'log-level',
    valueName: 'level',
    rule: { type: 'choice', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    description: 'Log level: fatal, error, warn, info, debug, trace or silent.',
  },
  metricsPort: {
    flag: 'metrics-port',
    valueName: 'port',
    rule: { type: 'integer', min: 0, max: 65535 },
    description: 'Port for Prometheus metrics and probes over HTTP (GET /metrics, /healthz, /readyz); 0 serves none.',
  },
  metricsBind: {
    flag: 'metrics-bind',
    valueName: 'address',
    rule: { type: 'address' },
    description: 'Address the metrics server listens on.',
  },
  password: {
    flag: 'password',
    valueName: 'password',
    rule: { type: 'secret' },
    description: 'Password clients must give with AUTH (empty: none). Prefer the env variable: flags show in ps.',
  },
  users: {
    flag: 'users',
    valueName: 'list',
    rule: { type: 'users' },
    description: 'Users of slotgate\'s own, with passwords, access (readonly, readwrite, admin) and keyPrefixes.',
    yamlOnly: true,
  },
  backendUsername: {
    flag: 'backend-username',
    valueName: 'user',
    rule: { type: 'secret' },
    description: 'ACL user to log in to the cluster nodes as (empty: the default user).',
  },
  backendPassword: {
    flag: 'backend-password',
    valueName: 'password',
    rule: { type: 'secret' },
    description: 'Password for the cluster nodes (their requirepass; empty: none). Prefer the env variable.',
  },
};

export const settingSpecs: readonly SettingSpec[] = (Object.keys(table) as (keyof Settings)[]).map((key) => ({
  key,
  env: envName(table[key].flag),
  ...table[key],
}));

/** The settings that have a flag and an environment variable: all but the YAML-only ones. */
export const flagSettingSpecs: readonly SettingSpec[] = settingSpecs.filter((spec) => spec.yamlOnly !== true);

/** The environment variable for a flag: --connections-per-node is SLOTGATE_CONNECTIONS_PER_NODE. */
export function envName(flag: string): string {
  return `SLOTGATE_${flag.toUpperCase().replace(/-/g, '_')}`;
}
