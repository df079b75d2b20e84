import type { Logger } from 'pino';
import type { CommandTable } from '../commands/command-table.ts';
import type { ProxyMetrics } from '../observability/metrics.ts';
import type { NodeConnectionSettings } from '../upstream/backend-connection.ts';
import type { ClientSession } from './client-session.ts';
import type { CommandPolicies } from './command-policy.ts';
import type { MonitorFeed } from './monitor-feed.ts';
import type { Router } from './router.ts';
import type { UserTable } from './user-table.ts';
import type { ProxyInfo } from './split/merge-info.ts';

/**
 * What every session shares. The limits and the users below are changed in place by a reload
 * (server/apply-live-settings.ts): sessions read them through this object each time, never copy them.
 */
export interface ProxyContext {
  table: CommandTable;
  policies: CommandPolicies;
  router: Router;
  logger: Logger;
  protoMaxBulkLen: number;
  maxMultibulkLength: number;
  maxPendingPerClient: number;
  maxClientOutputBytes: number;
  /** Connect timeout and login (shared, so a reload reaches it) for the connections a client opens of its own (blocking, pub/sub). */
  nodeConnection: NodeConnectionSettings;
  /** The users clients log in as (settings.password and settings.users); a reload changes them in place. */
  users: UserTable;
  /** Whether reads may go to replicas (settings.readFrom is not 'master'). */
  readFromReplicas: boolean;
  /** redis_version of the cluster, reported by HELLO. */
  serverVersion: string;
  /** Facts for INFO's Proxy section. */
  proxyInfo(): ProxyInfo;
  /** Every open session, for CLIENT LIST. */
  sessions: ReadonlySet<ClientSession>;
  /** The clients in MONITOR mode, and the lines they are sent. */
  monitors: MonitorFeed;
  /** Counters bumped on the data path, published at scrape time. */
  metrics: ProxyMetrics;
  onSessionClosed(session: ClientSession): void;
}
