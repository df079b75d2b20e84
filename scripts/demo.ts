/**
 * `npm run demo`: a throwaway Redis Cluster (3 masters, 3 replicas) with slotgate in front of it, to
 * try by hand with redis-cli or redis-benchmark. Ctrl-C stops both and removes the temp dir.
 * SLOTGATE_PORT picks the proxy's port (default 7380).
 *
 * Also exports the pieces bench/run.ts shares: ensureRedisTools() and startSlotgate().
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { missingRedisTools, type RedisClusterHandle, startRedisCluster } from '../test/helpers/redis-cluster.ts';
import { pings } from '../test/helpers/ping.ts';

const MASTERS = 3;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Makes sure redis-server, redis-cli and redis-benchmark are on PATH, installing Debian's packages
 * when running as root (scripts/install-debian-deps.sh, shared with `npm test`), otherwise saying
 * what to run. Returns whether the tools are there now.
 */
export function ensureRedisTools(): boolean {
  if (missingRedisTools().length === 0) return true;
  const install = spawnSync('bash', [join(repoRoot, 'scripts/install-debian-deps.sh'), 'demo'], { stdio: 'inherit' });
  return install.status === 0 && missingRedisTools().length === 0;
}

export interface SlotgateProcess {
  process: ChildProcess;
  port: number;
  /** Where slotgate's stdout and stderr (pino JSON lines) go. */
  logFile: string;
  /** Signals slotgate (SIGTERM unless told), waits for it to exit; SIGKILL after 15 s. Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}


function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Runs `node src/main.ts --bind 127.0.0.1 --port <port> --seeds <seeds>` as a child process with its
 * output in logFile, and resolves once it answers PING. Rejects with the log's tail if it exits first
 * or does not answer within startTimeoutMs.
 */
export async function startSlotgate(options: {
  seeds: string[];
  port: number;
  logFile: string;
  startTimeoutMs?: number;
}): Promise<SlotgateProcess> {
  const { seeds, port, logFile } = options;
  if (!(await portIsFree(port))) throw new Error(`port ${port} is already in use; pick another with SLOTGATE_PORT`);
  const out = openSync(logFile, 'a');
  const args = [join(repoRoot, 'src/main.ts'), '--bind', '127.0.0.1', '--port', String(port), '--seeds', seeds.join(',')];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', out, out] });
  closeSync(out);
  child.on('error', () => {}); // shows up as an early exit below
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    stopping ??= (async () => {
      if (exited(child)) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    })();
    return stopping;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    if (exited(child)) {
      throw new Error(`slotgate exited during startup (${child.exitCode ?? child.signalCode}); its output:\n${tail(logFile)}`);
    }
    if (await pings(port)) return { process: child, port, logFile, stop };
    if (Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(`slotgate did not answer PING on port ${port} in time; its output:\n${tail(logFile)}`);
    }
    await sleep(100);
  }
}

function banner(cluster: RedisClusterHandle, proxy: SlotgateProcess): string {
  const masters = cluster.nodes.slice(0, MASTERS);
  const replicas = cluster.nodes.slice(MASTERS);
  const list = (nodes: typeof masters): string => nodes.map((node) => node.port).join(', ');
  return `
slotgate is listening on 127.0.0.1:${proxy.port}, in front of a Redis Cluster on 127.0.0.1:
  masters   ${list(masters)}
  replicas  ${list(replicas)}

Use it like a single Redis:
  redis-cli -p ${proxy.port}                          (try SET hello world, GET hello, MSET a 1 b 2 c 3, MGET a b c)
  redis-benchmark -p ${proxy.port} -t set,get -q
Compare with the cluster itself:
  redis-cli -c -p ${masters[0].port}
  redis-benchmark --cluster -p ${masters[0].port} -t set,get -q

slotgate's log:  tail -f ${proxy.logFile}
Files:           ${cluster.dir}

Press Ctrl-C to stop slotgate and the cluster and remove the files.
`;
}

async function main(): Promise<void> {
  if (!ensureRedisTools()) process.exit(1);
  const port = Number(process.env.SLOTGATE_PORT ?? 7380);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error(`SLOTGATE_PORT must be a port number, got ${process.env.SLOTGATE_PORT}`);
    process.exit(2);
  }

  // Checked again by startSlotgate, but finding out now saves starting a cluster for nothing.
  if (!(await portIsFree(port))) {
    console.error(`Port ${port} is already in use; pick another with SLOTGATE_PORT=<port> npm run demo`);
    process.exit(1);
  }

  let cluster: RedisClusterHandle | undefined;
  let proxy: SlotgateProcess | undefined;
  let shuttingDown = false;
  // The proxy first, so it does not log the cluster vanishing under it; exiting then also ends
  // anything still starting (the launcher kills its nodes on exit).
  const shutdown = async (signal: NodeJS.Signals, code: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log('\nStopping slotgate and the cluster...');
    // A Ctrl-C already reached slotgate (same process group); sending the same signal again lets it
    // recognise the duplicate instead of treating it as a request to exit at once.
    await proxy?.stop(signal);
    await cluster?.stop();
    console.log('Stopped; temp dir removed.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  try {
    console.log(`Starting a Redis Cluster: ${MASTERS} masters, ${MASTERS} replicas...`);
    cluster = await startRedisCluster({ masters: MASTERS, replicasPerMaster: 1 });
    console.log(`Cluster ready (${cluster.seeds.join(' ')}). Starting slotgate on port ${port}...`);
    proxy = await startSlotgate({ seeds: cluster.seeds, port, logFile: join(cluster.dir, 'slotgate.log') });
  } catch (error) {
    if (shuttingDown) return;
    console.error(`\n${(error as Error).message}`);
    await shutdown('SIGTERM', 1);
    return;
  }
  console.log(banner(cluster, proxy));
  proxy.process.once('exit', (code, signal) => {
    if (shuttingDown) return;
    console.error(`\nslotgate exited unexpectedly (${code ?? signal}); its last output:\n${tail(proxy.logFile)}`);
    void shutdown('SIGTERM', 1);
  });
}

if (import.meta.main) await main();
