import { availableParallelism, constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { helpText, parseCliArgs } from './config/cli-args.ts';
import { ConfigError } from './config/config-error.ts';
import { loadSettings } from './config/load-settings.ts';
import type { Settings } from './config/settings.ts';
import { createLogger } from './observability/logger.ts';
import { startMetricsServer } from './observability/metrics-server.ts';
import { aggregateWorkerMetrics, answerMetricsRequests, workersReadiness } from './observability/worker-metrics.ts';
import { SettingsReloader } from './server/settings-reloader.ts';
import { startProxy, type RunningProxy } from './server/start-proxy.ts';
import { forwardUnixClients, isForwardedClient } from './server/unix-socket-forwarder.ts';
import { startWorkers, WORKER_ENV, type WorkerPool } from './server/worker-pool.ts';
import { sendSettings, settingsFromSupervisor } from './server/worker-settings.ts';
import { SLOTGATE_VERSION } from './version.ts';

/** How long close() may take to drain in-flight replies before we exit regardless. */
const shutdownTimeoutMs = 10_000;

/**
 * A repeat of the first signal within this window is the same Ctrl-C arriving twice, not an
 * operator insisting: the terminal signals the whole process group, and wrappers in that group
 * (npm, npx, bin/slotgate.mjs on an old Node) forward the signal to us again.
 */
const duplicateSignalWindowMs = 1_000;

/** Exit status for a configuration the operator must fix (bad flag, value or file). */
const exitConfigError = 2;

async function main(): Promise<void> {
  const workerIndex = process.env[WORKER_ENV];
  // A worker takes its settings from its supervisor, never from the sources (worker-settings.ts).
  const fromSupervisor = workerIndex === undefined ? null : settingsFromSupervisor();
  // A worker ignores SIGHUP, from the start: a hangup of the whole process group reaches it too,
  // and it reloads when its supervisor sends the new settings.
  if (fromSupervisor !== null) process.on('SIGHUP', () => {});
  const settings = fromSupervisor === null ? settingsOrExit(process.argv.slice(2)) : await firstSettings(fromSupervisor.first);
  if (settings === undefined) return;

  const logger = createLogger(settings.logLevel);
  // Log it where operators look, then die: state after an unexpected throw can't be trusted.
  // Unhandled rejections arrive here too (origin "unhandledRejection"), Node's default since v15.
  process.on('uncaughtException', (err, origin) => {
    logger.fatal({ err, origin }, 'uncaught exception; exiting');
    process.exit(1);
  });

  const workers = workerCount(settings);
  const reloader = new SettingsReloader({
    running: settings,
    load: () => loadSettings(process.argv.slice(2), process.env),
    logger: workerIndex === undefined ? logger : logger.child({ worker: Number(workerIndex) }),
    quiet: workerIndex !== undefined,
  });
  // At once: SIGHUP's default action ends the process, and one that comes while we start is kept
  // for when we have started.
  if (fromSupervisor === null) process.on('SIGHUP', () => reloader.reload());
  else fromSupervisor.onReload((next) => reloader.reload(next));
  /** What this process runs with now: a supervisor's reloads change it, and workers forked later start with it. */
  let currentSettings = settings;
  let proxy: RunningProxy | WorkerPool;
  try {
    if (workerIndex === undefined && workers > 1) {
      let pool = await startWorkers(workers, fileURLToPath(import.meta.url), process.argv.slice(2), () => currentSettings, logger);
      const { children, serving } = pool;
      if (settings.metricsPort !== 0) {
        // The supervisor serves /metrics, summing its workers' answers on each scrape. Stopped last:
        // probes keep answering (/readyz: not ready) while the workers drain.
        const serve = () =>
          startMetricsServer(settings.metricsPort, settings.metricsBind, () => aggregateWorkerMetrics(children()), () => workersReadiness(children(), workers), logger);
        pool = await besideWorkers(pool, serve, false);
      }
      if (settings.unixSocket !== '') {
        // Only one process can bind the path: the supervisor accepts there and hands clients to the
        // workers. Stopped first, which also removes the socket file.
        pool = await besideWorkers(pool, () => forwardUnixClients(settings.unixSocket, settings.unixSocketPerm, serving, logger), true);
      }
      proxy = pool;
      // Checked and logged here, once; every worker, starting ones included, then gets the settings
      // to apply, and one forked later starts with them.
      reloader.start((next) => {
        logger.level = next.logLevel;
        currentSettings = next;
        for (const child of children()) sendSettings(child, next);
      });
    } else {
      proxy = await startProxy(settings, logger.child(workerIndex === undefined ? {} : { worker: Number(workerIndex) }), {
        reusePort: workerIndex !== undefined,
        workerIndex: Number(workerIndex ?? 0),
        workerCount: workers,
        serveMetrics: workerIndex === undefined,
        listenUnix: workerIndex === undefined,
      });
      const running = proxy;
      if (workerIndex !== undefined && running.metricsRegistry !== null) answerMetricsRequests(running.metricsRegistry);
      if (workerIndex !== undefined) {
        process.on('message', (message, handle) => {
          if (isForwardedClient(message, handle)) running.adoptClient(handle);
        });
      }
      reloader.start((next) => {
        logger.level = next.logLevel; // the proxy's logger is a child of this one: it follows
        running.applySettings(next);
      });
      process.send?.({ listening: proxy.port });
    }
  } catch (err) {
    logger.fatal({ err, bind: settings.bind, port: settings.port, seeds: settings.seeds }, 'could not start');
    process.exit(1);
  }
  logger.info({ bind: settings.bind, port: proxy.port, tlsPort: settings.tlsPort, unixSocket: settings.unixSocket || undefined }, 'listening');
  // Once shutdown begins, a reload would only restart what is being stopped (the idle sweep).
  const started = proxy;
  const stoppable = {
    close: () => {
      reloader.stop();
      return started.close();
    },
  };
  stopOnSignals(stoppable, logger);
  if (workerIndex !== undefined) {
    // The IPC channel to the supervisor closes when it dies, however it dies (SIGKILL included):
    // a worker never outlives it.
    process.on('disconnect', () => void stop(stoppable, logger, 'SIGTERM'));
    // Gone already, while this worker started: no 'disconnect' comes for a listener added since.
    if (!process.connected) void stop(stoppable, logger, 'SIGTERM');
  }
}

/**
 * Starts something the supervisor runs beside its workers, stopping the workers if it fails to
 * start. close() stops it `first`, before the workers drain, or last.
 */
async function besideWorkers(pool: WorkerPool, start: () => Promise<{ close(): Promise<void> }>, first: boolean): Promise<WorkerPool> {
  let service: { close(): Promise<void> };
  try {
    service = await start();
  } catch (error) {
    await pool.close();
    throw error;
  }
  return {
    ...pool,
    close: async () => {
      if (first) await service.close();
      await pool.close();
      if (!first) await service.close();
    },
  };
}

/** settings.workers, with 0 meaning one per core; one when the port is 0 (workers must share a fixed port). */
function workerCount(settings: Settings): number {
  if (settings.port === 0) return 1;
  return settings.workers === 0 ? availableParallelism() : settings.workers;
}

/** A worker's first settings; without them (no supervisor, or a silent one) it cannot start. */
async function firstSettings(first: Promise<Settings>): Promise<Settings | undefined> {
  try {
    return await first;
  } catch (err) {
    // Exit, not return: the IPC channel would keep the process alive.
    process.stderr.write(`slotgate worker: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

/**
 * Handles --help, --version and configuration errors, which end the process before anything
 * starts; otherwise returns the settings to run with. Exits by setting exitCode, not exit(), so
 * output to a pipe is flushed first.
 */
function settingsOrExit(argv: string[]): Settings | undefined {
  try {
    const cli = parseCliArgs(argv);
    if (cli.help) {
      process.stdout.write(helpText());
      return undefined;
    }
    if (cli.version) {
      process.stdout.write(`${SLOTGATE_VERSION}\n`);
      return undefined;
    }
    return loadSettings(argv, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`slotgate: ${err.message}\n`);
    process.exitCode = exitConfigError;
    return undefined;
  }
}

/** SIGINT/SIGTERM drain and stop the proxy; a later second signal exits without waiting. */
function stopOnSignals(proxy: { close(): Promise<void> }, logger: Logger): void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (first === undefined) {
      first = { signal, at: now };
      void stop(proxy, logger, signal);
    } else if (signal === first.signal && now - first.at < duplicateSignalWindowMs) {
      logger.debug({ signal }, 'ignoring repeated signal');
    } else {
      logger.warn({ signal }, 'second signal; exiting without waiting for shutdown');
      process.exit(128 + constants.signals[signal]);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Exits 0 once close() has drained; 1 if it fails or takes longer than shutdownTimeoutMs. */
async function stop(proxy: { close(): Promise<void> }, logger: Logger, signal: NodeJS.Signals): Promise<void> {
  logger.info({ signal, timeoutMs: shutdownTimeoutMs }, 'shutting down; signal again to exit at once');
  setTimeout(() => {
    logger.error({ timeoutMs: shutdownTimeoutMs }, 'shutdown timed out; exiting anyway');
    process.exit(1);
  }, shutdownTimeoutMs);
  try {
    await proxy.close();
  } catch (err) {
    logger.error({ err }, 'error while shutting down');
    process.exit(1);
  }
  logger.info('stopped');
  process.exit(0);
}

await main();
