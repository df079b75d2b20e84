import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.ts';
import { sendSettings } from './worker-settings.ts';

/** Set in a worker's environment: its index. main.ts runs one proxy, with reusePort, when it sees it. */
export const WORKER_ENV = 'SLOTGATE_WORKER_INDEX';

/** A worker that dies is started again after this long; more than MAX_RESTARTS in RESTART_WINDOW_MS and we give up. */
const RESTART_DELAY_MS = 1000;
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** How long close() waits for workers to drain before killing them. */
const STOP_TIMEOUT_MS = 10_000;

export interface WorkerPool {
  port: number;
  /** The workers running now (the supervisor asks them for their metrics). */
  children(): ChildProcess[];
  /** The workers serving clients now: started and listening, not exited. */
  serving(): ChildProcess[];
  close(): Promise<void>;
}

/**
 * Runs `count` slotgate processes that all listen on one port with SO_REUSEPORT (Node's
 * `reusePort`), the kernel spreading new connections over them. Each worker is a whole proxy with
 * its own slot map and backend connections, so nothing is shared and nothing locks. This process
 * only supervises: it restarts a worker that dies and stops them all on close().
 */
export async function startWorkers(count: number, mainScript: string, argv: string[], currentSettings: () => Settings, logger: Logger): Promise<WorkerPool> {
  const workers = new Map<number, ChildProcess>();
  const serving = new Set<ChildProcess>();
  const restarts: number[] = [];
  let stopping = false;
  let port = 0;

  const spawnWorker = (index: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const child = fork(mainScript, argv, {
        env: { ...process.env, [WORKER_ENV]: String(index) },
        execArgv: process.execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      // The worker runs with what this process runs now, reloads included (worker-settings.ts).
      sendSettings(child, currentSettings());
      workers.set(index, child);
      let listening = false;
      child.on('message', (message: { listening?: number }) => {
        if (typeof message?.listening === 'number' && !listening) {
          listening = true;
          serving.add(child);
          resolve(message.listening);
        }
      });
      // Without a listener Node would throw these, and the supervisor would end with every worker:
      // a fork the system refused (EAGAIN, EMFILE), or settings sent to a worker that just died.
      child.on('error', (error) => {
        logger.error({ worker: index, err: error.message }, 'worker process error');
        // 'exit' may not follow a failed spawn: the start (or restart) fails here instead.
        if (!listening) reject(error);
      });
      child.on('exit', (code, signal) => {
        workers.delete(index);
        serving.delete(child);
        if (!listening) {
          reject(new Error(`worker ${index} exited before listening (code ${code}, signal ${signal})`));
          return;
        }
        if (stopping) return;
        logger.error({ worker: index, code, signal }, 'worker exited; restarting it');
        restartLater(index);
      });
    });

  /** Starts worker `index` again after a pause; a restart that fails is tried again, within the same limit. */
  const restartLater = (index: number): void => {
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && now - restarts[0] > RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS) {
      logger.fatal({ restarts: restarts.length, windowMs: RESTART_WINDOW_MS }, 'workers keep dying; giving up');
      process.exit(1);
    }
    setTimeout(() => {
      if (stopping) return;
      spawnWorker(index).catch((error: Error) => {
        logger.error({ err: error.message }, 'worker restart failed; trying again');
        if (!stopping) restartLater(index);
      });
    }, RESTART_DELAY_MS).unref();
  };

  const close = async (): Promise<void> => {
    stopping = true;
    const exited = [...workers.values()].map(
      (child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))),
    );
    for (const child of workers.values()) child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const child of workers.values()) child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await Promise.all(exited);
    clearTimeout(timer);
  };

  // A worker that fails to start (the cluster briefly unreachable, say) gets two more tries.
  const startWorker = async (index: number): Promise<number> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await spawnWorker(index);
      } catch (error) {
        if (attempt >= 3 || stopping) throw error;
        logger.warn({ worker: index, err: (error as Error).message }, 'worker failed to start; trying again');
      }
    }
  };
  try {
    const ports = await Promise.all(Array.from({ length: count }, (_, index) => startWorker(index)));
    port = ports[0];
  } catch (error) {
    await close();
    throw error;
  }
  logger.info({ workers: count, port }, 'workers listening');
  return { port, children: () => [...workers.values()], serving: () => [...serving], close };
}
