/**
 * Arms (b) and (c): slotgate in front of the cluster, as one process (--workers 1; its default is one
 * per core) or with --workers N (a supervising primary and N processes sharing the port).
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

/** Starts slotgate with --workers <workers>. Rejects with its log's tail if it does not answer PING. */
export async function startSlotgateArm(
  name: 'slotgate' | 'slotgate-all',
  cluster: RedisClusterHandle,
  workers: number,
): Promise<Arm> {
  const main = distMain();
  const port = await freePort();
  const logFile = join(cluster.dir, `${name}.log`);
  const flags = ['--bind', HOST, '--port', String(port), '--seeds', cluster.seeds.join(','), '--workers', String(workers)];
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

  const shown = `slotgate --bind ${HOST} --port <port> --seeds <the cluster's nodes> --workers ${workers}`;
  try {
    await waitForPing(port, exited, () => `${shown}: exit ${child.exitCode ?? child.signalCode}; its log:\n${tailOf(readLog(logFile))}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name,
    target: ['-h', HOST, '-p', String(port)],
    targetPattern: `-h ${HOST} -p <${name}>`,
    clusterMode: false,
    proxyPids: () => [child.pid as number],
    backendPids: () => cluster.nodes.map((node) => node.process.pid as number),
    description: `\`${shown}\``,
    stop,
  };
}
