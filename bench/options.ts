/** The bench's command line: what to run, how much of it, and where the report goes. */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ARM_NAMES = ['direct', 'slotgate', 'slotgate-unix', 'slotgate-all', 'nutcracker'] as const;
export type ArmName = (typeof ARM_NAMES)[number];
/** The arms run when --arms is not given: slotgate-unix only when asked for. */
export const DEFAULT_ARMS: readonly ArmName[] = ['direct', 'slotgate', 'slotgate-all', 'nutcracker'];

/** redis-benchmark's -n is a C int. */
const MAX_REQUESTS = 2 ** 31 - 1;

export const TEST_NAMES = ['set', 'get', 'incr', 'lpush', 'mset', 'mget'] as const;
export type TestName = (typeof TEST_NAMES)[number];

export interface BenchOptions {
  /** Requests per run at -P 1; see requestsAt(). */
  requests: number;
  /** Runs at a depth above 1 send requests × this. */
  pipelinedRequestsFactor: number;
  rounds: number;
  clients: number;
  keyspace: number;
  arms: ArmName[];
  tests: TestName[];
  pipelines: number[];
  /** Workers of the slotgate-all arm (its --workers). */
  workers: number;
  /** Limit for one redis-benchmark run. */
  timeoutMs: number;
  /** No new run starts after this much time; the report then holds the rounds done so far. */
  budgetMs: number;
  results: string;
}

export const usage = `usage: node bench/run.ts [options]      (npm run bench -- [options])
  --requests N      requests per test per run at -P 1 (redis-benchmark -n)   default 50000
                    (small N under-measures the direct arm: redis-benchmark --cluster takes ~0.25 s to get going)
  --pipelined-requests-factor F
                    runs at a depth P > 1 send N × F requests, so that they  default 4
                    last long enough to outweigh start-up and /proc's 10 ms CPU tick
  --rounds R        rounds; each runs every arm once per test and depth     default 3
  --arms LIST       of direct,slotgate,slotgate-unix,slotgate-all,nutcracker default all but slotgate-unix
                    (slotgate-unix: one slotgate process, redis-benchmark connecting over its Unix socket)
  --tests LIST      of set,get,incr,lpush,mset,mget                          default all six
  --pipelines LIST  redis-benchmark -P depths                                default 1,16
  --clients C       parallel connections (redis-benchmark -c)                default 50
  --keyspace K      random keys (redis-benchmark -r; 0 = one key)            default 100000
  --workers W       slotgate-all's --workers                                  default 2
  --timeout-s S     limit for each redis-benchmark run                       default 120
  --budget-s S      start no run after S seconds; report the rounds done      default 900
  --results FILE    where to append the markdown report                      default bench/RESULTS.md`;

/** A usage error: the message says which option and why. */
export class OptionsError extends Error {}

function list<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean);
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) throw new OptionsError(`--${name}: unknown ${unknown.join(', ')}; choose from ${allowed.join(',')}`);
  if (items.length === 0) throw new OptionsError(`--${name} needs at least one of ${allowed.join(',')}`);
  // In the canonical order, each once: the report's rows then always come out the same way.
  return allowed.filter((item) => items.includes(item));
}

function count(name: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min) throw new OptionsError(`--${name} must be an integer >= ${min}, got ${text}`);
  return n;
}

/** Parses argv (without node and the script); undefined for --help. Throws OptionsError on a bad option. */
export function parseBenchOptions(argv: string[]): BenchOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        requests: { type: 'string', default: '50000' },
        'pipelined-requests-factor': { type: 'string', default: '4' },
        rounds: { type: 'string', default: '3' },
        arms: { type: 'string', default: DEFAULT_ARMS.join(',') },
        tests: { type: 'string', default: TEST_NAMES.join(',') },
        pipelines: { type: 'string', default: '1,16' },
        clients: { type: 'string', default: '50' },
        keyspace: { type: 'string', default: '100000' },
        workers: { type: 'string', default: '2' },
        'timeout-s': { type: 'string', default: '120' },
        'budget-s': { type: 'string', default: '900' },
        results: { type: 'string', default: fileURLToPath(new URL('RESULTS.md', import.meta.url)) },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  if (values.help) return undefined;
  const pipelines = [...new Set(values.pipelines.split(',').map((depth) => count('pipelines', depth, 1)))].sort((a, b) => a - b);
  const requests = count('requests', values.requests, 1);
  const pipelinedRequestsFactor = count('pipelined-requests-factor', values['pipelined-requests-factor'], 1);
  if (requests > MAX_REQUESTS) throw new OptionsError(`--requests must be at most ${MAX_REQUESTS} (redis-benchmark's -n), got ${requests}`);
  if (pipelines.some((depth) => depth > 1) && requests * pipelinedRequestsFactor > MAX_REQUESTS) {
    throw new OptionsError(`--requests × --pipelined-requests-factor must be at most ${MAX_REQUESTS} (redis-benchmark's -n), got ${requests * pipelinedRequestsFactor}`);
  }
  return {
    requests,
    pipelinedRequestsFactor,
    rounds: count('rounds', values.rounds, 1),
    clients: count('clients', values.clients, 1),
    keyspace: count('keyspace', values.keyspace, 0),
    arms: list('arms', values.arms, ARM_NAMES),
    tests: list('tests', values.tests, TEST_NAMES),
    pipelines,
    workers: count('workers', values.workers, 1),
    timeoutMs: count('timeout-s', values['timeout-s'], 1) * 1000,
    budgetMs: count('budget-s', values['budget-s'], 1) * 1000,
    results: values.results,
  };
}

/** redis-benchmark's -n for a measured run at this depth: --requests, times the factor above -P 1. */
export function requestsAt(opts: Pick<BenchOptions, 'requests' | 'pipelinedRequestsFactor'>, pipeline: number): number {
  return pipeline > 1 ? opts.requests * opts.pipelinedRequestsFactor : opts.requests;
}
