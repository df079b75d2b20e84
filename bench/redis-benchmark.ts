/**
 * One redis-benchmark run of one test: its arguments and running it with a time limit.
 *
 * Every run is a single test, so the CPU read from /proc around it belongs to that test alone.
 * MGET is not one of redis-benchmark's tests: it runs as a custom command of 10 random keys, like
 * the built-in MSET's 10. With --cluster, redis-benchmark replaces "{tag}" in a key with a hash tag
 * of the node each client talks to (its built-in MSET does this by itself), so there MSET and MGET
 * touch one slot per request, where the proxies get 10 keys spread over the whole keyspace.
 */
import { spawn } from 'node:child_process';
import type { BenchOptions, TestName } from './options.ts';
import { type BenchmarkCsvRow, parseRedisBenchmarkCsv } from './parse-redis-benchmark.ts';

const MULTI_KEYS = 10;

/** redis-benchmark's arguments selecting the test; a custom command must come last. */
export function testArgs(test: TestName, clusterMode: boolean): string[] {
  if (test !== 'mget') return ['-t', test];
  const key = clusterMode ? 'key:{tag}:__rand_int__' : 'key:__rand_int__';
  return ['MGET', ...Array.from({ length: MULTI_KEYS }, () => key)];
}

/** The load: connections, requests, key space, pipeline depth, and CSV output (which has the percentiles). */
export function loadArgs(opts: Pick<BenchOptions, 'clients' | 'keyspace'>, requests: number | string, pipeline: number | string): string[] {
  const keys = opts.keyspace > 0 ? ['-r', String(opts.keyspace)] : [];
  return ['-c', String(opts.clients), '-n', String(requests), ...keys, '-P', String(pipeline), '--csv'];
}

/** For the report: MGET's ten keys written once. */
export function shortCommand(args: string[]): string {
  const text = args.join(' ');
  return text.replace(/((?:key:(?:\{tag\}:)?__rand_int__ ?){10})/, (keys) => `${keys.trim().split(' ')[0]} ×10 `).trim();
}

/**
 * Runs `redis-benchmark <args>` and returns its one CSV row. Rejects on a non-zero exit (redis-benchmark
 * 7 exits at the first error reply), a timeout, or output without exactly one result.
 */
export function runRedisBenchmark(args: string[], timeoutMs: number): Promise<BenchmarkCsvRow> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const command = `redis-benchmark ${shortCommand(args)}`;
      const said = (stderr.trim() || stdout.trim()).split('\n').filter((line) => !/^(Cluster has|Master \d|"|$)/.test(line));
      if (timedOut) return reject(new Error(`${command}: timed out after ${timeoutMs / 1000} s`));
      if (code !== 0) return reject(new Error(`${command}: exit ${code ?? signal}: ${said.slice(-3).join(' / ') || '(no output)'}`));
      try {
        const rows = parseRedisBenchmarkCsv(stdout);
        if (rows.length !== 1) throw new Error(`${command}: expected one result, got ${rows.length}:\n${stdout.slice(-500)}`);
        resolve(rows[0]);
      } catch (error) {
        reject(error);
      }
    });
  });
}
