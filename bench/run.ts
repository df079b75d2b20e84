/**
 * `npm run bench [-- --requests N --rounds R ...]`: redis-benchmark SET/GET through slotgate versus
 * straight at the cluster (redis-benchmark --cluster), on a throwaway 3+3 Redis Cluster.
 *
 * The arms alternate (slotgate, direct, slotgate, direct, ...) for every pipeline depth in every
 * round, so drift on the machine (other load, CPU boost, a warming JIT) hits both alike; we report
 * medians. slotgate's CPU use is read from /proc around each of its runs: its cost per request
 * is what a proxy adds, and unlike requests/s it does not hinge on how much CPU the rest of the
 * machine leaves it. The result is printed and appended to bench/RESULTS.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureRedisTools, type SlotgateProcess, startSlotgate } from '../scripts/demo.ts';
import { type RedisClusterHandle, startRedisCluster } from '../test/helpers/redis-cluster.ts';
import { requestsPerSecondByTest } from './parse-redis-benchmark.ts';

const TESTS = ['SET', 'GET'];
const PIPELINES = [1, 16];
const ARMS = ['slotgate', 'direct'] as const;
type Arm = (typeof ARMS)[number];

const usage = `usage: node bench/run.ts [options]
  --requests N     requests per test per run (redis-benchmark -n)       default 100000
  --rounds R       rounds of (slotgate, direct) per pipeline depth        default 3
  --clients C      parallel connections (redis-benchmark -c)             default 50
  --keyspace K     random keys (redis-benchmark -r; 0 = one key)          default 100000
  --timeout-s S    limit for each redis-benchmark run                     default 300
  --port P         slotgate's port                                        default: a free one
  --results FILE   where to append the markdown report                   default bench/RESULTS.md`;

function options() {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '3' },
      clients: { type: 'string', default: '50' },
      keyspace: { type: 'string', default: '100000' },
      'timeout-s': { type: 'string', default: '300' },
      port: { type: 'string' },
      results: { type: 'string', default: fileURLToPath(new URL('RESULTS.md', import.meta.url)) },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const count = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      console.error(`--${name} must be an integer >= ${min}, got ${value}\n${usage}`);
      process.exit(2);
    }
    return n;
  };
  return {
    requests: count('requests', values.requests, 1),
    rounds: count('rounds', values.rounds, 1),
    clients: count('clients', values.clients, 1),
    keyspace: count('keyspace', values.keyspace, 0),
    timeoutMs: count('timeout-s', values['timeout-s'], 1) * 1000,
    port: values.port === undefined ? undefined : count('port', values.port, 1),
    results: values.results,
  };
}
type Options = ReturnType<typeof options>;

// ---- measuring ----

function benchmarkArgs(opts: Options, pipeline: number | string, requests = opts.requests): string[] {
  const keys = opts.keyspace > 0 ? ['-r', String(opts.keyspace)] : [];
  return ['-t', TESTS.join(',').toLowerCase(), '-c', String(opts.clients), '-n', String(requests), ...keys, '-P', String(pipeline), '-q'];
}

/** Runs redis-benchmark; rejects on a non-zero exit, a timeout or output without the expected results. */
function redisBenchmark(args: string[], timeoutMs: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const command = `redis-benchmark ${args.join(' ')}`;
      if (signal === 'SIGKILL') return reject(new Error(`${command} timed out after ${timeoutMs / 1000} s`));
      if (code !== 0) return reject(new Error(`${command} failed (${code ?? signal}): ${stderr.trim() || stdout.slice(-300)}`));
      try {
        resolve(requestsPerSecondByTest(stdout, TESTS));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** utime+stime, in clock ticks, of a process and its live descendants (in case slotgate runs workers), plus children it has reaped. */
function cpuTicks(rootPid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number; reaped: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after the command name, which may itself hold spaces and parentheses: state is [0],
    // ppid [1], utime [11], stime [12], cutime [13], cstime [14].
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    stats.set(Number(entry), {
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    });
  }
  const root = stats.get(rootPid);
  if (!root) throw new Error(`slotgate (pid ${rootPid}) is gone`);
  let total = root.ticks + root.reaped;
  const pending = [rootPid];
  while (pending.length > 0) {
    const parent = pending.pop();
    for (const [pid, stat] of stats) {
      if (stat.ppid !== parent) continue;
      total += stat.ticks;
      pending.push(pid);
    }
  }
  return total;
}

const clockTicksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// ---- reporting ----

const loadBefore = loadavg();

interface Samples {
  /** `${arm} ${pipeline} ${test}` -> requests/s of each round */
  rps: Map<string, number[]>;
  /** pipeline -> slotgate CPU µs per request (SET and GET together) of each round */
  cpuMicros: Map<number, number[]>;
}

function record<K>(map: Map<K, number[]>, key: K, value: number): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

function formatRps(value: number | undefined): string {
  return value === undefined ? 'n/a' : Math.round(value).toLocaleString('en-US');
}

function table(samples: Samples): string {
  const rows = [
    '| pipeline | test | slotgate req/s | direct req/s | slotgate / direct | slotgate CPU µs/req (SET+GET) |',
    '|---:|---|---:|---:|---:|---:|',
  ];
  for (const pipeline of PIPELINES) {
    for (const test of TESTS) {
      const rounds = (arm: Arm): number[] => samples.rps.get(`${arm} ${pipeline} ${test}`) ?? [];
      const proxy = rounds('slotgate').length > 0 ? median(rounds('slotgate')) : undefined;
      const direct = rounds('direct').length > 0 ? median(rounds('direct')) : undefined;
      const ratio = proxy !== undefined && direct ? (proxy / direct).toFixed(2) : 'n/a';
      const cpu = samples.cpuMicros.get(pipeline);
      const cpuText = cpu && cpu.length > 0 ? median(cpu).toFixed(1) : 'n/a';
      rows.push(`| ${pipeline} | ${test} | ${formatRps(proxy)} | ${formatRps(direct)} | ${ratio} | ${cpuText} |`);
    }
  }
  return rows.join('\n');
}

function machine(): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown CPU';
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  const redis = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  const benchmark = execFileSync('redis-benchmark', ['--version'], { encoding: 'utf8' }).trim();
  return `nproc ${nproc}, ${model}; node ${process.version}; redis-server ${redis}; ${benchmark}`;
}

function invocation(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node bench/run.ts${args ? ` ${args}` : ''}`;
}

function report(opts: Options, samples: Samples, notes: string[]): string {
  const args = (pipeline: string): string => benchmarkArgs(opts, pipeline).join(' ');
  return [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `- machine: ${machine()}`,
    `- command: \`${invocation()}\``,
    `- slotgate arm: \`redis-benchmark -p <slotgate> ${args('{1,16}')}\``,
    `- direct arm: \`redis-benchmark --cluster -p <a master> ${args('{1,16}')}\``,
    `- 3 masters + 3 replicas on this machine; ${opts.rounds} rounds, arms interleaved; medians`,
    `- load average before the run ${loadBefore.map((load) => load.toFixed(2)).join(', ')} (other work on the machine skews both arms)`,
    ...notes.map((note) => `- ${note}`),
    '',
    table(samples),
    '',
  ].join('\n');
}

// ---- the run ----

async function measure(opts: Options, cluster: RedisClusterHandle, proxy: SlotgateProcess | undefined): Promise<Samples> {
  const samples: Samples = { rps: new Map(), cpuMicros: new Map() };
  const target = (arm: Arm): string[] =>
    arm === 'slotgate' ? ['-p', String(proxy?.port)] : ['--cluster', '-p', String(cluster.nodes[0].port)];
  const arms = ARMS.filter((arm) => arm === 'direct' || proxy !== undefined);

  // One short unrecorded run per arm and depth: connections opened, slotgate's JIT warm.
  console.log('warming up...');
  const warmup = Math.max(1000, Math.floor(opts.requests / 10));
  for (const pipeline of PIPELINES) {
    for (const arm of arms) await redisBenchmark([...target(arm), ...benchmarkArgs(opts, pipeline, warmup)], opts.timeoutMs);
  }

  for (let round = 1; round <= opts.rounds; round++) {
    for (const pipeline of PIPELINES) {
      const line: string[] = [];
      for (const arm of arms) {
        const before = arm === 'slotgate' && proxy ? cpuTicks(proxy.process.pid as number) : 0;
        const rps = await redisBenchmark([...target(arm), ...benchmarkArgs(opts, pipeline)], opts.timeoutMs);
        if (arm === 'slotgate' && proxy) {
          const seconds = (cpuTicks(proxy.process.pid as number) - before) / clockTicksPerSecond;
          record(samples.cpuMicros, pipeline, (seconds * 1e6) / (opts.requests * TESTS.length));
        }
        for (const test of TESTS) record(samples.rps, `${arm} ${pipeline} ${test}`, rps.get(test) as number);
        line.push(`${arm} ${TESTS.map((test) => `${test} ${formatRps(rps.get(test))}`).join(' ')}`);
      }
      console.log(`round ${round}/${opts.rounds} -P ${pipeline}: ${line.join(' | ')}`);
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const opts = options();
  if (!ensureRedisTools()) process.exit(1);

  let cluster: RedisClusterHandle | undefined;
  let proxy: SlotgateProcess | undefined;
  const cleanup = async (): Promise<void> => {
    await proxy?.stop();
    await cluster?.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping slotgate and the cluster`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    console.log('starting a Redis Cluster: 3 masters, 3 replicas...');
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    const notes: string[] = [];
    const port = opts.port ?? (await freePort());
    try {
      proxy = await startSlotgate({ seeds: cluster.seeds, port, logFile: join(cluster.dir, 'slotgate.log') });
      console.log(`slotgate on port ${port} (pid ${proxy.process.pid}), cluster ${cluster.seeds.join(' ')}`);
    } catch (error) {
      console.error(`slotgate did not start, so only the direct arm runs:\n${(error as Error).message}`);
      notes.push('slotgate did not start; direct arm only');
    }

    const samples = await measure(opts, cluster, proxy);
    const text = report(opts, samples, notes);
    console.log(`\n${text}`);
    if (proxy) {
      if (!existsSync(opts.results)) {
        writeFileSync(opts.results, '# Benchmark results\n\nAppended by `npm run bench` (bench/run.ts), newest last.\n\n');
      }
      appendFileSync(opts.results, text + '\n');
      console.log(`appended to ${opts.results}`);
    } else {
      console.log('not appended to the results file: without slotgate there is nothing to compare');
    }
  } catch (error) {
    console.error(`\nbench failed: ${(error as Error).message}`);
    if (proxy) console.error(`slotgate's log is ${proxy.logFile} (removed on exit); its tail:\n${tailOf(proxy.logFile)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

function tailOf(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  } catch {
    return '(none)';
  }
}

await main();
