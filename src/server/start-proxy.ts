import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Settings } from '../config/settings.ts';
import { loadTlsFiles } from '../config/tls-files.ts';
import { loadCommandTable } from '../commands/load-command-table.ts';
import { type ControlAccess, withControlConnection } from '../cluster/control-connection.ts';
import { SLOT_COUNT } from '../cluster/key-slot.ts';
import type { SlotMap } from '../cluster/slot-map.ts';
import { TopologyRefresher } from '../cluster/topology-refresher.ts';
import { ClientSession } from '../proxy/client-session.ts';
import type { ProxyContext } from '../proxy/proxy-context.ts';
import { CommandPolicies } from '../proxy/command-policy.ts';
import { CommandAccess } from '../proxy/command-access.ts';
import { UserTable } from '../proxy/user-table.ts';
import { BackendLogin, isAuthError } from '../upstream/backend-auth.ts';
import { Router } from '../proxy/router.ts';
import type { ProxyInfo } from '../proxy/split/merge-info.ts';
import { SLOTGATE_VERSION } from '../version.ts';
import { listenUnix } from './listen-unix.ts';
import { startIdleClientSweep } from './idle-client-sweep.ts';
import { applyLiveSettings } from './apply-live-settings.ts';
import { LiveTls } from './live-tls.ts';
import { ReplyTimeout } from '../upstream/reply-timeout.ts';
import { createMetricsRegistry, ProxyMetrics } from '../observability/metrics.ts';
import { startMetricsServer, type MetricsServer } from '../observability/metrics-server.ts';
import { MonitorFeed } from '../proxy/monitor-feed.ts';

/** A listening proxy. `close()` stops accepting, lets in-flight replies drain, then closes every socket. */
export interface RunningProxy {
  /** The port actually bound (useful when settings.port is 0). */
  port: number;
  /** The TLS port bound; 0 when settings.tlsPort is 0 (no TLS listener). */
  tlsPort: number;
  /** What INFO's Proxy section shows: counters and node health, for tests and operators. */
  stats(): ProxyInfo;
  /** Its Prometheus registry when settings.metricsPort is set (a worker hands it to the supervisor), else null. */
  metricsRegistry: Registry | null;
  /** The port /metrics is served on; 0 when this process serves none. */
  metricsPort: number;
  /**
   * Puts in force the settings of `settings` that can change while running (a reload, see
   * config/plan-reload.ts); the others are ignored.
   */
  applySettings(settings: Settings): void;
  /** Serves a client that connected to settings.unixSocket of the supervisor, which handed it to this worker. */
  adoptClient(socket: Socket): void;
  close(): Promise<void>;
}

const MAX_CLIENTS_REPLY = Buffer.from('-ERR max number of clients reached\r\n');

/** How long close() lets clients collect the replies they are owed before cutting them off. */
const DRAIN_TIMEOUT_MS = 5000;

export interface StartOptions {
  /** Share the port with other slotgate processes (workers). */
  reusePort?: boolean;
  /** This worker's index and how many there are: client ids are index + 1, + count, … so they stay unique across workers. */
  workerIndex?: number;
  workerCount?: number;
  /** Serve /metrics on settings.metricsPort (default true); a worker leaves that to its supervisor. */
  serveMetrics?: boolean;
  /** Listen on settings.unixSocket (default true); workers leave that to their supervisor, which hands them the clients. */
  listenUnix?: boolean;
}

/** Discovers the cluster from settings.seeds, then listens on settings.bind:settings.port (and tlsPort). */
export async function startProxy(settings: Settings, logger: Logger, options: StartOptions = {}): Promise<RunningProxy> {
  const login = new BackendLogin({ username: settings.backendUsername, password: settings.backendPassword });
  const tls = new LiveTls(loadTlsFiles(settings), logger);
  const backendTls = tls.backend;
  const access: ControlAccess = { login, tls: backendTls };
  // The refresher reports maps to the router, which needs the first map to exist.
  let routerRef: Router | null = null;
  const refresher = new TopologyRefresher({
    seeds: settings.seeds,
    timeoutMs: settings.connectTimeoutMs,
    access,
    intervalSeconds: settings.topologyRefreshIntervalSeconds,
    logger,
    onSlotMap: (map) => routerRef?.applySlotMap(map),
  });
  let discovered: Awaited<ReturnType<typeof discover>>;
  try {
    discovered = await discover(refresher, settings, access, logger);
  } catch (error) {
    // Nothing may stay open after a failed start: the control connections would keep the process up.
    refresher.stop();
    throw error;
  }
  const { map, from, table, serverVersion } = discovered;
  logger.info({ node: from, masters: map.masters, commands: table.size }, 'cluster discovered');

  const router = new Router({
    connectionsPerNode: settings.connectionsPerNode,
    connectTimeoutMs: settings.connectTimeoutMs,
    login,
    backendTls,
    maxRedirects: settings.maxRedirects,
    retryBudgetMs: settings.retryBudgetMs,
    readFrom: settings.readFrom,
    logger,
    requestRefresh: () => refresher.requestRefresh(),
  });
  router.applySlotMap(map);
  routerRef = router;

  const sessions = new Set<ClientSession>();
  const metrics = new ProxyMetrics(table.size);
  let drained: (() => void) | null = null;
  const context: ProxyContext = {
    table,
    policies: new CommandPolicies(table),
    router,
    logger,
    protoMaxBulkLen: settings.protoMaxBulkLen,
    maxMultibulkLength: settings.maxMultibulkLength,
    maxPendingPerClient: settings.maxPendingPerClient,
    maxClientOutputBytes: settings.maxClientOutputBytes,
    nodeConnection: { connectTimeoutMs: settings.connectTimeoutMs, login, logger, tls: backendTls },
    users: new UserTable(settings, new CommandAccess(table)),
    readFromReplicas: settings.readFrom !== 'master',
    serverVersion,
    sessions,
    monitors: new MonitorFeed(),
    metrics,
    proxyInfo: () => {
      const state = router.describe();
      return {
        version: SLOTGATE_VERSION,
        masters: router.masterCount(),
        clients: sessions.size,
        redirectsMoved: router.stats.moved,
        redirectsAsk: router.stats.ask,
        parkedNow: state.parkedNow,
        parkedTotal: state.parked.parked,
        retryBudgetExpired: state.parked.expired,
        longestParkMs: state.parked.longestWaitMs,
        nodes: state.nodes,
      };
    },
    onSessionClosed(session) {
      sessions.delete(session);
      if (sessions.size === 0) drained?.();
    },
  };

  const idStride = options.workerCount ?? 1;
  let nextClientId = (options.workerIndex ?? 0) + 1;
  let accepted = 0;
  const admission = { maxClients: settings.maxClients };
  // Every listener (plain, TLS, Unix socket, and clients a supervisor hands over) feeds the same
  // sessions, so maxClients counts them together. `unix`: it came through settings.unixSocket, so it
  // has no address of its own to show.
  const onClient = (socket: Socket, unix = false): void => {
    if (closing !== null) {
      socket.destroy(); // a TLS handshake that finished after close() began
      return;
    }
    if (sessions.size >= admission.maxClients) {
      metrics.clientsRefused++;
      socket.on('error', () => {});
      socket.end(MAX_CLIENTS_REPLY, () => socket.destroy());
      return;
    }
    sessions.add(new ClientSession(socket, nextClientId, accepted++, context, unix ? settings.unixSocket : null));
    nextClientId += idStride;
  };
  // Like Redis's tcp-keepalive, on TCP clients only: Node sets it on each accepted socket.
  const keepAlive = settings.tcpKeepalive > 0 ? { keepAlive: true, keepAliveInitialDelay: settings.tcpKeepalive * 1000 } : {};
  // Paused, so that the session can switch the socket to the shared read buffer before it reads.
  const server = createServer({ noDelay: true, pauseOnConnect: true, ...keepAlive }, onClient);
  // A TLS socket reaches us after its handshake; it reads through 'data' (see socket-reader.ts). The
  // handshake timeout also bounds how long close() waits for a connection that never finishes one.
  const tlsServer = tls.serverOptions === null ? null : createTlsServer({ ...tls.serverOptions, noDelay: true, ...keepAlive, handshakeTimeout: DRAIN_TIMEOUT_MS }, onClient);
  const unixServer = settings.unixSocket === '' || options.listenUnix === false ? null : createServer({ pauseOnConnect: true }, (socket) => onClient(socket, true));
  // A failed handshake (plain text on the TLS port, an unknown client certificate) closes that socket only.
  tls.serve(tlsServer);
  tlsServer?.on('tlsClientError', (error, socket) => logger.debug({ err: error.message, client: socket.remoteAddress }, 'TLS handshake failed'));
  let closing: Promise<void> | null = null;
  /** For /readyz and slotgate_ready: every slot has a known master, and no shutdown has begun. */
  const readiness = (): { ready: boolean; detail: string; slotsServed: number } => {
    const slotsServed = router.slotsServed();
    if (closing !== null) return { ready: false, detail: 'shutting down', slotsServed };
    if (slotsServed < SLOT_COUNT) return { ready: false, detail: `${SLOT_COUNT - slotsServed} of ${SLOT_COUNT} slots have no known master`, slotsServed };
    return { ready: true, detail: 'ready', slotsServed };
  };
  const metricsRegistry =
    settings.metricsPort === 0
      ? null
      : createMetricsRegistry(metrics, table, () => {
          const { ready, slotsServed } = readiness();
          return {
            info: context.proxyInfo(),
            clientsAccepted: accepted,
            topology: { ...refresher.stats, mapChanges: router.stats.mapChanges },
            backendConnections: router.connectionHealth(),
            slotsServed,
            ready,
            tlsExpiries: tls.expiries(),
          };
        });
  let port: number;
  let tlsPort = 0;
  let metricsServer: MetricsServer | null = null;
  try {
    port = await listen(server, settings.port, settings.bind, options.reusePort === true);
    if (tlsServer !== null) tlsPort = await listen(tlsServer, settings.tlsPort, settings.bind, options.reusePort === true);
    if (unixServer !== null) await listenUnix(unixServer, settings.unixSocket, settings.unixSocketPerm);
    // A failed accept (EMFILE when out of file descriptors, say) costs that one connection; without a
    // listener Node would throw it and end the process, every client with it.
    for (const listener of [server, tlsServer, unixServer]) listener?.on('error', (error) => logger.error({ err: error.message }, 'accepting a client connection failed'));
    if (metricsRegistry !== null && options.serveMetrics !== false) {
      const registry = metricsRegistry;
      const render = async () => ({ contentType: registry.contentType, body: await registry.metrics() });
      metricsServer = await startMetricsServer(settings.metricsPort, settings.metricsBind, render, async () => readiness(), logger);
    }
  } catch (error) {
    server.close();
    tlsServer?.close();
    unixServer?.close();
    refresher.stop();
    router.close();
    throw error;
  }
  refresher.start();
  const idleSweep = startIdleClientSweep(sessions, settings.timeout, logger);
  const replyTimeout = new ReplyTimeout(settings.replyTimeoutMs, (now, timeoutMs) => router.checkReplies(now, timeoutMs));

  const close = (): Promise<void> => {
    closing ??= (async () => {
      refresher.stop();
      idleSweep.stop();
      replyTimeout.stop();
      const stopped = Promise.all(
        [server, tlsServer, unixServer].map((listener) => new Promise<void>((resolve) => (listener === null ? resolve() : listener.close(() => resolve())))),
      );
      if (sessions.size > 0) {
        const allClosed = new Promise<void>((resolve) => (drained = resolve));
        for (const session of sessions) session.shutdown();
        const timer = setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, DRAIN_TIMEOUT_MS);
        await allClosed;
        clearTimeout(timer);
      }
      await stopped;
      router.close();
      // Last: while clients drain, /readyz keeps answering, and says shutting down.
      await metricsServer?.close();
    })();
    return closing;
  };
  return {
    port,
    tlsPort,
    stats: context.proxyInfo,
    metricsRegistry,
    metricsPort: metricsServer?.port ?? 0,
    applySettings: (next) => applyLiveSettings({ tls, context, router, login, idleSweep, replyTimeout, admission }, next),
    adoptClient: (socket) => onClient(socket, true),
    close,
  };
}

/** The slot map, the command table and the cluster's Redis version, from the seeds. */
async function discover(refresher: TopologyRefresher, settings: Settings, access: ControlAccess, logger: Logger) {
  const { map, from } = await fetchWithRetries(refresher, logger);
  const { table, warnings, serverVersion } = await withControlConnection(from, settings.connectTimeoutMs, access, async (redis) => {
    const info = String(await redis.call('INFO', 'server'));
    return { ...(await loadCommandTable(redis)), serverVersion: /redis_version:(\S+)/.exec(info)?.[1] ?? '7.0.0' };
  });
  for (const warning of warnings) logger.warn({ warning }, 'command table');
  return { map, from, table, serverVersion };
}

/** Start-up tries the seeds this many times, this far apart, before giving up: a cluster that is itself just starting, or a busy host, should not need a restart of slotgate. */
const STARTUP_ATTEMPTS = 3;
const STARTUP_RETRY_MS = 500;

async function fetchWithRetries(refresher: TopologyRefresher, logger: Logger): Promise<{ map: SlotMap; from: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await refresher.fetch();
    } catch (error) {
      // Wrong credentials stay wrong: say so at once rather than after every attempt.
      if (attempt >= STARTUP_ATTEMPTS || isAuthError((error as Error).message)) throw error;
      logger.warn({ err: (error as Error).message, attempt }, 'cluster discovery failed; trying again');
      await new Promise((resolve) => setTimeout(resolve, STARTUP_RETRY_MS * attempt));
    }
  }
}

function listen(server: Server, port: number, host: string, reusePort: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, reusePort }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
