import type { Settings } from './settings.ts';
import { settingSpecs } from './setting-specs.ts';
import { describeUserChanges, sameUsers, type UserSetting } from './user-settings.ts';

/**
 * Whether each setting can change while slotgate runs (true), or is built into something made once
 * at start-up: a listening socket, the worker processes, the pools of connections,
 * the topology refresher (false). A mapped type, so a new setting does not compile until someone
 * decides which it is.
 */
const changesLive: { [K in keyof Settings]: boolean } = {
  bind: false,
  port: false,
  tlsPort: false,
  // Certificate files are read again at every reload, whatever their paths (see live-tls.ts); what
  // they are for, a TLS port and TLS to the nodes at all, is fixed at start-up.
  tlsCertFile: true,
  tlsKeyFile: true,
  tlsCaCertFile: true,
  tlsAuthClients: false,
  backendTls: false,
  backendTlsCaCertFile: true,
  backendTlsCertFile: true,
  backendTlsKeyFile: true,
  backendTlsServerName: true,
  unixSocket: false,
  unixSocketPerm: false,
  seeds: false,
  connectionsPerNode: false,
  maxRedirects: true,
  // Read by each client's parser through the shared context, at every request header.
  protoMaxBulkLen: true,
  maxMultibulkLength: true,
  maxClients: true,
  timeout: true,
  // Set on each listening socket, which hands it to every connection it accepts.
  tcpKeepalive: false,
  maxPendingPerClient: true,
  maxClientOutputBytes: true,
  // Copied into every backend connection when its pool is made.
  connectTimeoutMs: false,
  // Read by the one timer that checks every shared connection.
  replyTimeoutMs: true,
  retryBudgetMs: true,
  topologyRefreshIntervalSeconds: false,
  readFrom: false,
  workers: false,
  logLevel: true,
  metricsPort: false,
  metricsBind: false,
  password: true,
  // Read from the user table at each AUTH and, for the permissions, at each request (see user-table.ts).
  users: true,
  backendUsername: true,
  backendPassword: true,
};

/** What a reload does with settings read again. */
export interface ReloadPlan {
  /** The settings to run with from now on: the new values of live settings, the old ones of the rest. */
  settings: Settings;
  /** Live settings whose value changed, applied now. */
  changed: (keyof Settings)[];
  /** Settings whose value changed but that only a restart can apply; they keep their old values. */
  needsRestart: (keyof Settings)[];
}

/** Compares the running settings with those read again, setting by setting. */
export function planReload(running: Settings, reread: Settings): ReloadPlan {
  const settings: Settings = { ...running };
  const changed: (keyof Settings)[] = [];
  const needsRestart: (keyof Settings)[] = [];
  for (const key of Object.keys(changesLive) as (keyof Settings)[]) {
    if (sameValue(running[key], reread[key])) continue;
    if (changesLive[key]) {
      take(settings, reread, key);
      changed.push(key);
    } else {
      needsRestart.push(key);
    }
  }
  return { settings, changed, needsRestart };
}

/**
 * For the log line: each changed setting's old and new value, except secrets (passwords, the backend
 * user name), which are only said to have changed.
 */
export function describeChanges(before: Settings, after: Settings, keys: readonly (keyof Settings)[]): Record<string, unknown> {
  const described: Record<string, unknown> = {};
  for (const key of keys) {
    // Users carry passwords: only their names are told.
    if (key === 'users') described[key] = describeUserChanges(before.users, after.users);
    else described[key] = isSecret(key) ? '(changed)' : { from: before[key], to: after[key] };
  }
  return described;
}

function isSecret(key: keyof Settings): boolean {
  return settingSpecs.find((spec) => spec.key === key)?.rule.type === 'secret';
}

function take<K extends keyof Settings>(target: Settings, source: Settings, key: K): void {
  target[key] = source[key];
}

/** Values are text, numbers, booleans, the seeds' list of text, or the users' list. */
function sameValue(a: Settings[keyof Settings], b: Settings[keyof Settings]): boolean {
  if (isUserList(a) || isUserList(b)) return sameUsers(a as UserSetting[], b as UserSetting[]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => item === b[i]);
  return a === b;
}

function isUserList(value: Settings[keyof Settings]): boolean {
  return Array.isArray(value) && value.length > 0 && typeof value[0] === 'object';
}
