/**
 * `npm run bench [-- options]` (see bench/options.ts, or --help): redis-benchmark's SET, GET, INCR,
 * LPUSH, MSET and an MGET of 10 keys at -P 1 and -P 16, against
 *   direct         a throwaway 3+3 Redis Cluster itself (redis-benchmark --cluster),
 *   slotgate       slotgate in front of it, one process (--workers 1),
 *   slotgate-unix  the same, with redis-benchmark connecting over slotgate's Unix socket (only
 *                  when --arms names it),
 *   slotgate-all   slotgate with --workers 2 (all cores of this 2-core machine; --workers sets it),
 *   nutcracker     twemproxy in front of 3 standalone redis-servers, the reference proxy.
 *
 * A run at -P 1 sends --requests requests, a run at a deeper pipeline --pipelined-requests-factor
 * times as many, so that it lasts long enough for start-up and /proc's CPU tick not to dominate.
 *
 * For every round, depth and test the arms run one after another, so drift on the machine (other
 * load, CPU boost, a warming JIT) hits them alike; the report has medians over the rounds. Around
 * each run the CPU time of the proxy's processes and of the redis-servers behind the arm is read
 * from /proc: cost per request does not hinge on how much CPU the rest of the machine leaves over,
 * as requests/s does. The report is printed and appended to bench/RESULTS.md.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import type { Arm } from './arms/arm.ts';
import { directArm } from './arms/direct.ts';
import { startNutcrackerArm } from './arms/nutcracker.ts';
import { startSlotgateArm } from './arms/slotgate.ts';
import { ensureBenchTools } from './ensure-tools.ts';
import { type BenchOptions, OptionsError, parseBenchOptions, requestsAt, type TestName, usage } from './options.ts';
import { cpuSecondsBetween, cpuSnapshot, machineBusySeconds, processTree, systemCpuSecondsBetween } from './proc-cpu.ts';
import { loadArgs, runRedisBenchmark, testArgs } from './redis-benchmark.ts';
import { loadAverage, report } from './report.ts';
import { Results } from './samples.ts';
import { type RedisClusterHandle, startRedisCluster } from '../test/helpers/redis-cluster.ts';

function optionsOrExit(): BenchOptions {
  try {
    const opts = parseBenchOptions(process.argv.slice(2));
    if (opts) return opts;
    console.log(usage);
    process.exit(0);
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    console.error(`${error.message}\n${usage}`);
    process.exit(2);
  }
}

interface Setup {
  arms: Arm[];
  cluster: RedisClusterHandle | undefined;
}

/** Starts what the chosen arms need; an arm that cannot start is left out, with a note saying why. */
async function startArms(opts: BenchOptions, setup: Setup, notes: string[], nutcrackerInstalled: boolean): Promise<void> {
  const skip = (name: string, why: string): void => {
    console.error(`${name} arm left out: ${why}`);
    notes.push(`**${name} arm left out**: ${why.replace(/\s+/g, ' ').slice(0, 600)}`);
  };
  const onCluster = opts.arms.filter((name) => name !== 'nutcracker');
  if (onCluster.length > 0) {
    console.log('starting a Redis Cluster: 3 masters, 3 replicas...');
    setup.cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  }
  const cluster = setup.cluster as RedisClusterHandle;
  for (const name of opts.arms) {
    try {
      if (name === 'direct') setup.arms.push(directArm(cluster));
      if (name === 'slotgate' || name === 'slotgate-unix') setup.arms.push(await startSlotgateArm(name, cluster, 1));
      if (name === 'slotgate-all') setup.arms.push(await startSlotgateArm(name, cluster, opts.workers));
      if (name === 'nutcracker') {
        if (!nutcrackerInstalled) throw new Error('nutcracker is not installed (apt-get install nutcracker)');
        setup.arms.push(await startNutcrackerArm());
      }
      const arm = setup.arms.at(-1) as Arm;
      console.log(`${name}: ${arm.target.join(' ')}${arm.proxyPids().length > 0 ? ` (pid ${arm.proxyPids().join(', ')})` : ''}`);
    } catch (error) {
      skip(name, (error as Error).message);
    }
  }
}

/** One redis-benchmark run with the CPU of the arm's processes read around it. */
async function measureOnce(arm: Arm, opts: BenchOptions, pipeline: number, test: TestName, requests: number) {
  const proxyBefore = cpuSnapshot(arm.proxyPids());
  const backendBefore = cpuSnapshot(arm.backendPids());
  const row = await runRedisBenchmark([...arm.target, ...loadArgs(opts, requests, pipeline), ...testArgs(test, arm.clusterMode)], opts.timeoutMs);
  const proxyAfter = arm.proxyPids().length > 0 ? cpuSnapshot(arm.proxyPids()) : undefined;
  const proxyCpuSeconds = proxyAfter && cpuSecondsBetween(proxyBefore, proxyAfter);
  const proxySystemCpuSeconds = proxyAfter && systemCpuSecondsBetween(proxyBefore, proxyAfter);
  const backendCpuSeconds = cpuSecondsBetween(backendBefore, cpuSnapshot(arm.backendPids()));
  return { requestsPerSecond: row.requestsPerSecond, p50Ms: row.p50Ms, p99Ms: row.p99Ms, proxyCpuSeconds, proxySystemCpuSeconds, backendCpuSeconds, requests };
}

/**
 * One short unrecorded run of every test per arm, at the deepest pipeline with a tenth of a measured
 * run's requests there: connections open, JIT warm, keys there for GET and MGET.
 */
async function warmUp(opts: BenchOptions, arms: Arm[], notes: string[]): Promise<void> {
  const pipeline = opts.pipelines.at(-1) as number;
  const requests = Math.max(1000, Math.floor(requestsAt(opts, pipeline) / 10));
  console.log(`warming up (${requests} requests per test at -P ${pipeline})...`);
  for (const arm of arms) {
    for (const test of opts.tests) {
      try {
        await measureOnce(arm, opts, pipeline, test, requests);
      } catch (error) {
        console.error(`warm-up: ${arm.name}: ${(error as Error).message}`);
      }
    }
    if (arm.name.startsWith('slotgate')) {
      const count = processTree(arm.proxyPids()).length;
      if (count === 1) {
        notes.push(`${arm.name} ran as 1 process${arm.name === 'slotgate-all' ? `: --workers ${opts.workers} made no extra processes` : ''}`);
      } else {
        notes.push(`${arm.name} ran as ${count} processes (a supervising primary and ${count - 1} workers; its CPU is summed over all ${count})`);
      }
    }
  }
}

async function measure(opts: BenchOptions, arms: Arm[], results: Results, notes: string[], startedAt: number): Promise<number> {
  const fmt = (rps: number): string => Math.round(rps).toLocaleString('en-US');
  for (let round = 1; round <= opts.rounds; round++) {
    for (const pipeline of opts.pipelines) {
      for (const test of opts.tests) {
        const line: string[] = [];
        for (const arm of arms) {
          if (Date.now() - startedAt > opts.budgetMs) {
            notes.push(`**stopped early**: the --budget-s of ${opts.budgetMs / 1000} s ran out in round ${round}`);
            return round - 1;
          }
          try {
            const sample = await measureOnce(arm, opts, pipeline, test, requestsAt(opts, pipeline));
            results.add(arm.name, pipeline, test, sample);
            line.push(`${arm.name} ${fmt(sample.requestsPerSecond)}`);
          } catch (error) {
            results.fail(arm.name, pipeline, test, (error as Error).message);
            line.push(`${arm.name} failed`);
            console.error(`  ${(error as Error).message}`);
          }
        }
        console.log(`round ${round}/${opts.rounds} -P ${pipeline} ${test}: ${line.join(' | ')}`);
      }
    }
  }
  return opts.rounds;
}

/** How much of the machine the measured rounds had: what the bench's own processes used, and what others did. */
function otherLoad(since: number, busySeconds: number, oursSeconds: number): string {
  const wall = (Date.now() - since) / 1000;
  const others = Math.max(0, busySeconds - oursSeconds);
  return (
    `measured rounds: ${wall.toFixed(0)} s wall; the machine's CPUs were busy ${busySeconds.toFixed(0)} CPU-s, of which the bench's own ` +
    `processes (redis-benchmark, redis-servers, proxies, this script) ${oursSeconds.toFixed(0)} and other processes ${others.toFixed(0)} ` +
    `(${((others / wall) * 100).toFixed(0)}% of one core on average)`
  );
}

async function main(): Promise<void> {
  const opts = optionsOrExit();
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const tools = ensureBenchTools(opts.arms.includes('nutcracker'));
  if (!tools.redis) process.exit(1);

  const setup: Setup = { arms: [], cluster: undefined };
  const cleanup = async (): Promise<void> => {
    for (const arm of setup.arms) await arm.stop();
    await setup.cluster?.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the proxies and the Redis servers`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const notes: string[] = [];
  const results = new Results();
  try {
    await startArms(opts, setup, notes, tools.nutcracker);
    if (!setup.arms.some((arm) => arm.name !== 'direct')) throw new Error('no proxy arm started, so there is nothing to compare');
    await warmUp(opts, setup.arms, notes);
    const busyBefore = machineBusySeconds();
    const oursBefore = cpuSnapshot([process.pid]);
    const measuredFrom = Date.now();
    const roundsDone = await measure(opts, setup.arms, results, notes, startedAt.getTime());
    notes.push(otherLoad(measuredFrom, machineBusySeconds() - busyBefore, cpuSecondsBetween(oursBefore, cpuSnapshot([process.pid]))));
    const text = report({ startedAt, loadBefore, opts, arms: setup.arms, results, notes, roundsDone });
    console.log(`\n${text}`);
    if (!existsSync(opts.results)) {
      writeFileSync(opts.results, '# Benchmark results\n\nAppended by `npm run bench` (bench/run.ts), newest last.\n\n');
    }
    appendFileSync(opts.results, `${text}\n`);
    console.log(`appended to ${opts.results} (${Math.round((Date.now() - startedAt.getTime()) / 1000)} s)`);
  } catch (error) {
    console.error(`\nbench failed: ${(error as Error).message}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

await main();
