/**
 * Arms (b) and (c): slotgate in front of the cluster, as one process (--workers 1; its default is one
 * per core) or with --workers N (a supervising primary and N processes sharing the port). And the
 * optional slotgate-unix: one process as in (b), with redis-benchmark connecting over slotgate's
 * Unix domain socket (--unix-socket, a file in the cluster's temp dir) instead of loopback TCP; its
 * connections to the cluster are TCP as in every arm.
 *
 * Run as operators run it: compiled, `node dist/main.js --bind --port --seeds --workers`, with dist/
 * built afresh (`npm run build`) once per bench run, before the first slotgate arm starts. Not
 * src/main.ts: the type stripper Node loads for .ts files stays resident, which production doesn't
 * pay. Started here rather than with scripts/demo.ts's startSlotgate() (which runs src/main.ts)
 * because the bench adds --workers and must run the build.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist } from '../../test/helpers/build-dist.ts';
import type { RedisClusterHandle } from '../../test/helpers/redis-cluster.ts';
import { processTree } from '../proc-cpu.ts';
import { type Arm, freePort, HOST, tailOf, terminate, waitForPing } from './arm.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * dist/main.js, built by the first call in this bench run. A failed build fails every slotgate arm
 * with tsc's output, without building again.
 */
let built: { main: string } | { error: Error } | undefined;
function distMain(): string {
  if (built === undefined) {
    console.log('building dist/ (npm run build)...');
    try {
      built = { main: buildDist() };
    } catch (error) {
      built = { error: error as Error };
    }
  }
  if ('error' in built) throw built.error;
  return built.main;
}

export type SlotgateArmName = 'slotgate' | 'slotgate-unix' | 'slotgate-all';

/** How a slotgate arm is started and where redis-benchmark connects to it; no I/O. */
export interface SlotgateInvocation {
  flags: string[];
  /** Where it must answer PING before the arm counts as started: the TCP port, or the socket's path. */
  pingAt: number | string;
  target: string[];
  targetPattern: string;
  /** The command line for the report, with placeholders for what changes from run to run. */
  shown: string;
  description: string;
}

/**
 * slotgate's flags for an arm: --workers <workers>, and for slotgate-unix --unix-socket with a
 * socket file in `dir` (the cluster's temp dir), which redis-benchmark then connects to with -s.
 */
export function slotgateInvocation(name: SlotgateArmName, port: number, seeds: string[], workers: number, dir: string): SlotgateInvocation {
  const flags = ['--bind', HOST, '--port', String(port), '--seeds', seeds.join(','), '--workers', String(workers)];
  const shown = `slotgate --bind ${HOST} --port <port> --seeds <the cluster's nodes> --workers ${workers}`;
  if (name !== 'slotgate-unix') {
    return { flags, pingAt: port, target: ['-h', HOST, '-p', String(port)], targetPattern: `-h ${HOST} -p <${name}>`, shown, description: `\`${shown}\`` };
  }
  const socket = join(dir, `${name}.sock`);
  const shownUnix = `${shown} --unix-socket <temp dir>/${name}.sock`;
  return {
    flags: [...flags, '--unix-socket', socket],
    pingAt: socket,
    target: ['-s', socket],
    targetPattern: `-s <temp dir>/${name}.sock`,
    shown: shownUnix,
    description: `\`${shownUnix}\`; redis-benchmark connects to it over that Unix domain socket (\`-s\`), and it to the cluster over loopback TCP like every arm`,
  };
}

/**
 * Starts slotgate as slotgateInvocation() says. Rejects with its log's tail if it does not answer
 * PING where redis-benchmark will connect.
 */
export async function startSlotgateArm(name: SlotgateArmName, cluster: RedisClusterHandle, workers: number): Promise<Arm> {
  const main = distMain();
  const logFile = join(cluster.dir, `${name}.log`);
  const { flags, pingAt, target, targetPattern, shown, description } = slotgateInvocation(name, await freePort(), cluster.seeds, workers, cluster.dir);
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [main, ...flags], { cwd: repoRoot, stdio: ['ignore', out, out] });
  closeSync(out);
  child.on('error', () => {}); // shows up as an early exit
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const tree = processTree([child.pid as number]).filter((pid) => pid !== child.pid);
      await terminate(child);
      // Workers that outlived their primary: ours, by the pids seen just before.
      for (const pid of processTree(tree)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      process.removeListener('exit', killOnExit);
    })();
    return stopping;
  };

  try {
    await waitForPing(pingAt, exited, () => `${shown}: exit ${child.exitCode ?? child.signalCode}; its log:\n${tailOf(readLog(logFile))}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name,
    target,
    targetPattern,
    clusterMode: false,
    proxyPids: () => [child.pid as number],
    backendPids: () => cluster.nodes.map((node) => node.process.pid as number),
    description,
    stop,
  };
}
