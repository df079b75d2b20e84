import type { Settings } from '../config/settings.ts';
import type { ProxyContext } from '../proxy/proxy-context.ts';
import type { Router } from '../proxy/router.ts';
import type { BackendLogin } from '../upstream/backend-auth.ts';
import type { IdleClientSweepTimer } from './idle-client-sweep.ts';
import type { LiveTls } from './live-tls.ts';
import type { ReplyTimeout } from '../upstream/reply-timeout.ts';

/**
 * Where a running proxy keeps the settings a reload may change. Each is a plain field that the
 * code using it already reads through an object it holds (the session's context, the router's own
 * fields, the login every new backend connection reads), so changing them costs the data path
 * nothing, and what reads them next sees the new value.
 */
export interface LiveParts {
  /** Reads the certificate files again at every reload (see live-tls.ts). */
  tls: LiveTls;
  context: ProxyContext;
  router: Router;
  login: BackendLogin;
  idleSweep: IdleClientSweepTimer;
  replyTimeout: ReplyTimeout;
  /** Read by the listeners for each client they accept. */
  admission: { maxClients: number };
}

/** Puts the live settings of `settings` in force (the others are ignored: see plan-reload.ts). */
export function applyLiveSettings(parts: LiveParts, settings: Settings): void {
  // First: it reads files and may throw, and then nothing else may have changed.
  parts.tls.reload(settings);
  const { context } = parts;
  context.protoMaxBulkLen = settings.protoMaxBulkLen;
  context.maxMultibulkLength = settings.maxMultibulkLength;
  context.maxPendingPerClient = settings.maxPendingPerClient;
  context.maxClientOutputBytes = settings.maxClientOutputBytes;
  parts.admission.maxClients = settings.maxClients;
  parts.router.setLimits(settings.maxRedirects, settings.retryBudgetMs);
  parts.idleSweep.setTimeoutSeconds(settings.timeout);
  parts.replyTimeout.set(settings.replyTimeoutMs);
  parts.login.change({ username: settings.backendUsername, password: settings.backendPassword });
  // Users are changed in place: new AUTHs are judged by the new passwords, and clients already
  // authenticated stay so, as after Redis's CONFIG SET requirepass or ACL SETUSER. Each client then
  // takes its user's new permissions, or is disconnected if its user is gone.
  const removed = context.users.update(settings);
  let disconnected = 0;
  for (const session of context.sessions) {
    if (session.user.removed) disconnected++;
    session.onUsersChanged();
  }
  if (disconnected > 0) context.logger.info({ users: removed.map((user) => user.name), clients: disconnected }, 'clients of removed users disconnected');
}
