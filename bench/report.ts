/** The markdown the bench prints and appends to bench/RESULTS.md: the setup, then one table. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Arm } from './arms/arm.ts';
import { type ArmName, type BenchOptions, requestsAt, type TestName } from './options.ts';
import { loadArgs, shortCommand, testArgs } from './redis-benchmark.ts';
import type { Results, Summary } from './samples.ts';

/** Tests that redis-benchmark --cluster can only run with all keys of a request under one hash tag. */
const TAGGED_IN_CLUSTER_MODE: readonly TestName[] = ['mset', 'mget'];

/** Arms whose client (redis-benchmark) connects over a Unix domain socket; every other connection is loopback TCP. */
const UNIX_SOCKET_CLIENT: readonly ArmName[] = ['slotgate-unix'];

const TEST_LABELS: Record<TestName, string> = {
  set: 'SET',
  get: 'GET',
  incr: 'INCR',
  lpush: 'LPUSH',
  mset: 'MSET (10 keys)',
  mget: 'MGET (10 keys)',
};

function version(command: string, args: string[], pattern: RegExp): string {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  if (run.error) return 'not installed';
  return pattern.exec(`${run.stdout}${run.stderr}`)?.[1] ?? 'unknown';
}

export function loadAverage(): string {
  return loadavg()
    .map((load) => load.toFixed(2))
    .join(', ');
}

/** nproc, CPU model, memory, and the versions of everything the bench runs. */
export function machineDescription(): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown CPU';
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  const memKb = Number(/^MemTotal:\s*(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return [
    `nproc ${nproc}, ${model}, ${(memKb / 1024 / 1024).toFixed(1)} GiB, Linux ${kernel}`,
    `node ${process.version}`,
    `redis-server ${version('redis-server', ['--version'], /v=(\S+)/)}`,
    `redis-benchmark ${version('redis-benchmark', ['--version'], /redis-benchmark (\S+)/)}`,
    `nutcracker ${version('nutcracker', ['-V'], /nutcracker-(\S+)/)}`,
  ].join('; ');
}

/** How the bench itself was started, as the user would type it. */
export function benchInvocation(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node bench/run.ts${args ? ` ${args}` : ''}`;
}

function integer(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? 'n/a' : value.toFixed(digits);
}

/** Whether runs at different depths send different numbers of requests (then the report pairs them up). */
function sizedByDepth(opts: BenchOptions): boolean {
  return new Set(opts.pipelines.map((depth) => requestsAt(opts, depth))).size > 1;
}

/** For the report: how many requests each run sends, and why. */
export function runSizing(opts: BenchOptions): string {
  const n = (depth: number): string => integer(requestsAt(opts, depth));
  const factor = `--pipelined-requests-factor ${opts.pipelinedRequestsFactor}`;
  const pipelined = opts.pipelines.filter((depth) => depth > 1);
  if (pipelined.length === 0) return `requests per run (redis-benchmark -n): ${n(1)} (only -P 1 ran, so ${factor} did not apply)`;
  const perDepth = opts.pipelines.map((depth) => `${n(depth)} at -P ${depth}`).join(', ');
  return (
    `requests per run (redis-benchmark -n): ${perDepth}; --requests ${opts.requests} at -P 1, times ${factor} at deeper pipelines, ` +
    "so that a pipelined run lasts long enough for redis-benchmark's start-up (~0.25 s with --cluster, 50 connections) and /proc's 10 ms CPU tick to weigh little"
  );
}

/** The redis-benchmark command lines, as patterns: one per arm for the built-in tests, one for MGET. */
export function invocationPatterns(opts: BenchOptions, arms: Arm[]): string[] {
  const paired = sizedByDepth(opts);
  const depths = paired ? '<depth>' : opts.pipelines.length > 1 ? `{${opts.pipelines.join(',')}}` : String(opts.pipelines[0]);
  const load = loadArgs(opts, paired ? '<n>' : requestsAt(opts, opts.pipelines[0]), depths).join(' ');
  const builtIn = opts.tests.filter((test) => test !== 'mget');
  const lines: string[] = [];
  for (const arm of arms) {
    const forms: string[] = [];
    if (builtIn.length > 0) forms.push(`\`redis-benchmark ${arm.targetPattern} ${load} -t ${builtIn.length === 1 ? builtIn[0] : `{${builtIn.join(',')}}`}\``);
    if (opts.tests.includes('mget')) forms.push(`\`redis-benchmark ${arm.targetPattern} ${load} ${shortCommand(testArgs('mget', arm.clusterMode))}\``);
    lines.push(`${arm.name}: ${forms.join(' and ')}`);
  }
  return lines;
}

/** The arm column: the name, and for a Unix-socket client that it is one. */
function armLabel(arm: ArmName): string {
  return UNIX_SOCKET_CLIENT.includes(arm) ? `${arm} (Unix-socket client)` : arm;
}

function row(pipeline: number, test: TestName, arm: ArmName, summary: Summary | undefined, direct: Summary | undefined, errors: string[], directTagged: boolean): string {
  const mark = directTagged ? '†' : '';
  const transportMark = UNIX_SOCKET_CLIENT.includes(arm) ? '‡' : '';
  const label = `${TEST_LABELS[test]}`;
  if (!summary) return `| ${pipeline} | ${label} | ${armLabel(arm)} | failed${errors.length > 0 ? ` (${errors.length})` : ''} | | | | | | |`;
  const partial = summary.failed > 0 ? ` (${summary.rounds} of ${summary.rounds + summary.failed} rounds)` : '';
  const rps = `${integer(summary.requestsPerSecond)}${arm === 'direct' ? mark : ''}${partial}`;
  const ratio = arm === 'direct' ? '1.00' : direct ? `${(summary.requestsPerSecond / direct.requestsPerSecond).toFixed(2)}${mark}${transportMark}` : 'n/a';
  const proxyCpu = arm === 'direct' ? '–' : fixed(summary.proxyCpuPerMillion, 1);
  const proxyKernel = arm === 'direct' ? '–' : fixed(summary.proxySystemCpuPerMillion, 1);
  return `| ${pipeline} | ${label} | ${armLabel(arm)} | ${rps} | ${ratio} | ${fixed(summary.p50Ms, 3)} | ${fixed(summary.p99Ms, 3)} | ${proxyCpu} | ${proxyKernel} | ${fixed(summary.backendCpuPerMillion, 1)} |`;
}

export function resultsTable(opts: BenchOptions, arms: ArmName[], results: Results): string {
  const lines = [
    '| -P | test | arm | req/s | ÷ direct | p50 ms | p99 ms | proxy CPU s / M req | of which kernel | backends CPU s / M req |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const pipeline of opts.pipelines) {
    for (const test of opts.tests) {
      const direct = arms.includes('direct') ? results.summary('direct', pipeline, test) : undefined;
      const tagged = TAGGED_IN_CLUSTER_MODE.includes(test) && direct !== undefined;
      for (const arm of arms) {
        lines.push(row(pipeline, test, arm, results.summary(arm, pipeline, test), direct, results.errors(arm, pipeline, test), tagged));
      }
    }
  }
  return lines.join('\n');
}

/** Failures, each distinct message once with where it happened. */
export function failureNotes(opts: BenchOptions, arms: ArmName[], results: Results): string[] {
  const where = new Map<string, string[]>();
  for (const arm of arms) {
    for (const pipeline of opts.pipelines) {
      for (const test of opts.tests) {
        for (const error of results.errors(arm, pipeline, test)) {
          const message = error.replace(/\s+/g, ' ').slice(0, 300);
          where.set(message, [...(where.get(message) ?? []), `${arm} -P ${pipeline} ${test}`]);
        }
      }
    }
  }
  return [...where].map(([message, places]) => `failed (${places.length}×: ${[...new Set(places)].join(', ')}): ${message}`);
}

export interface ReportInput {
  startedAt: Date;
  loadBefore: string;
  opts: BenchOptions;
  arms: Arm[];
  results: Results;
  /** Lines about the run: arms that did not start, the budget running out, process counts. */
  notes: string[];
  roundsDone: number;
}

export function report(input: ReportInput): string {
  const { opts, arms, results } = input;
  const names = arms.map((arm) => arm.name);
  const hasDirect = names.includes('direct');
  const taggedTests = opts.tests.filter((test) => TAGGED_IN_CLUSTER_MODE.includes(test));
  const unixArms = names.filter((name) => UNIX_SOCKET_CLIENT.includes(name));
  return [
    `## ${input.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}: ${names.join(', ')}`,
    '',
    `- machine: ${machineDescription()}`,
    `- load average before ${input.loadBefore}, after ${loadAverage()} (redis-benchmark, every redis-server and the proxies share these cores)`,
    `- command: \`${benchInvocation()}\``,
    `- ${input.roundsDone} of ${opts.rounds} rounds; in each, for every depth and test, the arms run one after another (${names.join(', ')}); medians over the rounds`,
    `- ${runSizing(opts)}`,
    `- redis-benchmark invocations (one test per run; the proxy and backend CPU is read from /proc around each run${sizedByDepth(opts) ? '; <n> is the requests per run at that <depth>, above' : ''}):`,
    ...invocationPatterns(opts, arms).map((line) => `  - ${line}`),
    '- arms:',
    ...arms.map((arm) => `  - ${arm.name}: ${arm.description}`),
    '- CPU columns: utime+stime from /proc/<pid>/stat per million requests (an MSET or MGET of 10 keys is one request); proxy = its process and all descendants; backends = every redis-server behind the arm (the cluster arms: 3 masters and their 3 replicas, which receive the writes; nutcracker: 3 standalone servers)',
    "- of which kernel: stime of the proxy's processes alone, per million requests, i.e. its system calls (on loopback a write also runs the receiver's TCP input and wake-up)",
    ...(hasDirect && taggedTests.length > 0
      ? [
          `- † direct ${taggedTests.map((test) => TEST_LABELS[test]).join(' and ')}: redis-benchmark --cluster cannot send a request whose keys are in different slots, so there every key of a request carries the same {tag} (one slot, one node, no split); the proxies get keys spread over the whole keyspace and split each request over the backends. The ratio compares unlike work.`,
        ]
      : []),
    ...(unixArms.length > 0
      ? [
          `- ‡ ${unixArms.join(', ')}: redis-benchmark connects to the proxy over a Unix domain socket; the proxy's connections to the cluster are loopback TCP as in every other arm, and the direct arm is TCP throughout. Its ÷ direct, and any comparison with the other arms, compares unlike client transports: a Unix-socket write skips TCP's segments, acknowledgements and softirq delivery, which docs/PROFILE.md measured as 10-20 % less proxy CPU per request, all of it kernel time.`,
        ]
      : []),
    ...input.notes.map((note) => `- ${note}`),
    ...failureNotes(opts, names, results).map((note) => `- ${note}`),
    '',
    resultsTable(opts, names, results),
    '',
  ].join('\n');
}
