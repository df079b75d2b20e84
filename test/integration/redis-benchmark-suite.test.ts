/**
 * The whole default redis-benchmark suite (no -t) through slotgate, one request at a time and
 * pipelined 16 deep. With -r every key-based test spreads its keys over many slots, and MSET's ten
 * keys land on different masters, so the splitter is exercised too.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseRedisBenchmarkQuiet } from '../../bench/parse-redis-benchmark.ts';
import { missingRedisTools, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';

const run = promisify(execFile);

/** Requests per test. On the 2-core machine the two runs of 10,000 take 13 to 16 s together. */
const REQUESTS = 10_000;
const RUN_TIMEOUT_MS = 45_000;

/** Every test redis-benchmark 7.0 runs when no -t is given, as its -q summary names them. */
const DEFAULT_TESTS = [
  'PING_INLINE',
  'PING_MBULK',
  'SET',
  'GET',
  'INCR',
  'LPUSH',
  'RPUSH',
  'LPOP',
  'RPOP',
  'SADD',
  'HSET',
  'SPOP',
  'ZADD',
  'ZPOPMIN',
  'LPUSH (needed to benchmark LRANGE)',
  'LRANGE_100 (first 100 elements)',
  'LRANGE_300 (first 300 elements)',
  'LRANGE_500 (first 500 elements)',
  'LRANGE_600 (first 600 elements)',
  'MSET (10 keys)',
];

const ERROR_WORDS = /\bERR\b|error|CROSSSLOT|MOVED/i;

const haveBenchmark = !missingRedisTools().includes('redis-benchmark');
let cluster: RedisClusterHandle;
let proxy: RunningProxy;

beforeAll(async () => {
  if (!haveBenchmark) return;
  cluster = await startRedisCluster();
  proxy = await startTestProxy(cluster.seeds);
});

afterAll(async () => {
  await proxy?.close();
  await cluster?.stop();
});

async function runSuite(pipeline: number): Promise<string> {
  const args = ['-h', '127.0.0.1', '-p', String(proxy.port), '-q', '-r', '100000', '-n', String(REQUESTS), '-c', '20', '-P', String(pipeline)];
  try {
    const { stdout, stderr } = await run('redis-benchmark', args, { timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (error) {
    // It exits 1 on the first error reply ("Error from server: ..."), and is killed at the timeout.
    const { stdout = '', stderr = '', code, signal } = error as { stdout?: string; stderr?: string; code?: number; signal?: string };
    const tail = outputLines(stdout + stderr).filter((line) => !line.includes('rps=')).slice(-20).join('\n');
    throw new Error(`redis-benchmark ${args.join(' ')} failed (exit ${code ?? signal}):\n${tail}`);
  }
}

/** Output lines as redis-benchmark draws them: progress is redrawn with \r, summaries end with \n. */
function outputLines(output: string): string[] {
  return output.split(/[\r\n]+/).map((line) => line.trim()).filter(Boolean);
}

function checkSuite(output: string): void {
  const reported = new Map(parseRedisBenchmarkQuiet(output).map((line) => [line.test, line.requestsPerSecond]));
  const missing = DEFAULT_TESTS.filter((test) => !reported.has(test));
  expect(missing, `tests with no "requests per second" line:\n${output.slice(-1500)}`).toEqual([]);
  for (const test of DEFAULT_TESTS) expect(reported.get(test), test).toBeGreaterThan(0);
  expect(outputLines(output).filter((line) => ERROR_WORDS.test(line))).toEqual([]);
}

async function keysPerMaster(): Promise<number[]> {
  const counts: number[] = [];
  for (const node of cluster.nodes.slice(0, 3)) {
    const direct = new Redis({ host: node.host, port: node.port, lazyConnect: true });
    try {
      await direct.connect();
      counts.push(await direct.dbsize());
    } finally {
      direct.disconnect();
    }
  }
  return counts;
}

it.skipIf(!haveBenchmark)('runs every default redis-benchmark test one request at a time with no error', async () => {
  const started = Date.now();
  const output = await runSuite(1);
  console.log(`redis-benchmark -n ${REQUESTS} -c 20 -P 1: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  checkSuite(output);
  // -r 100000 spreads SET, INCR and MSET keys over the whole key space, so every master got some.
  for (const count of await keysPerMaster()) expect(count).toBeGreaterThan(100);
}, 60_000);

it.skipIf(!haveBenchmark)('runs every default redis-benchmark test pipelined 16 deep with no error', async () => {
  const started = Date.now();
  const output = await runSuite(16);
  console.log(`redis-benchmark -n ${REQUESTS} -c 20 -P 16: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  checkSuite(output);
}, 60_000);
