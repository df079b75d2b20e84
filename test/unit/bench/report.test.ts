import { describe, expect, it } from 'vitest';
import type { Arm } from '../../../bench/arms/arm.ts';
import { parseBenchOptions } from '../../../bench/options.ts';
import { loadArgs, shortCommand, testArgs } from '../../../bench/redis-benchmark.ts';
import { failureNotes, invocationPatterns, report, resultsTable, runSizing } from '../../../bench/report.ts';
import { median, Results } from '../../../bench/samples.ts';

const opts = { ...parseBenchOptions(['--tests', 'set,mget', '--pipelines', '16', '--requests', '1000'])!, results: '/dev/null' };

const sample = (rps: number, proxyCpuSeconds: number | undefined, backendCpuSeconds = 0.01) => ({
  requestsPerSecond: rps,
  p50Ms: rps / 1e5,
  p99Ms: rps / 1e4,
  proxyCpuSeconds,
  proxySystemCpuSeconds: proxyCpuSeconds === undefined ? undefined : proxyCpuSeconds * 0.6,
  backendCpuSeconds,
  requests: 1000,
});

const arm = (name: Arm['name'], target: string, clusterMode = false): Arm => ({
  name,
  target: [],
  targetPattern: target,
  clusterMode,
  proxyPids: () => [],
  backendPids: () => [],
  description: name,
  stop: async () => {},
});

describe('redis-benchmark arguments', () => {
  it('select a built-in test with -t and run MGET of 10 keys as a custom command, hash-tagged in cluster mode', () => {
    expect(testArgs('mset', true)).toEqual(['-t', 'mset']);
    expect(testArgs('mget', false)).toEqual(['MGET', ...Array(10).fill('key:__rand_int__')]);
    expect(testArgs('mget', true)).toEqual(['MGET', ...Array(10).fill('key:{tag}:__rand_int__')]);
    expect(shortCommand(testArgs('mget', true))).toBe('MGET key:{tag}:__rand_int__ ×10');
  });

  it('ask for CSV output and leave -r out for a keyspace of 0', () => {
    expect(loadArgs({ clients: 50, keyspace: 100000 }, 1000, 16)).toEqual(['-c', '50', '-n', '1000', '-r', '100000', '-P', '16', '--csv']);
    expect(loadArgs({ clients: 5, keyspace: 0 }, 10, 1)).toEqual(['-c', '5', '-n', '10', '-P', '1', '--csv']);
  });
});

describe('Results', () => {
  it('takes medians per cell and CPU per million requests', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const results = new Results();
    results.add('slotgate', 16, 'set', sample(100, 0.02));
    results.add('slotgate', 16, 'set', sample(300, 0.04));
    results.add('slotgate', 16, 'set', sample(200, 0.03));
    results.fail('slotgate', 16, 'set', 'boom');
    expect(results.summary('slotgate', 16, 'set')).toEqual({
      rounds: 3,
      failed: 1,
      requestsPerSecond: 200,
      p50Ms: 0.002,
      p99Ms: 0.02,
      proxyCpuPerMillion: 30,
      proxySystemCpuPerMillion: 18,
      backendCpuPerMillion: 10,
    });
    expect(results.summary('direct', 16, 'set')).toBeUndefined();
  });
});

describe('the report', () => {
  const results = new Results();
  results.add('direct', 16, 'set', sample(400_000, undefined));
  results.add('slotgate', 16, 'set', sample(200_000, 0.005));
  results.add('direct', 16, 'mget', sample(100_000, undefined));
  results.fail('slotgate', 16, 'mget', 'redis-benchmark MGET: exit 1: Error from server: ERR x');

  it('has a row per depth, test and arm, with ratios to direct and † on the hash-tagged multi-key tests', () => {
    const table = resultsTable(opts, ['direct', 'slotgate'], results).split('\n');
    expect(table).toHaveLength(6);
    expect(table[0]).toContain('| proxy CPU s / M req | of which kernel | backends CPU s / M req |');
    expect(table[2]).toBe('| 16 | SET | direct | 400,000 | 1.00 | 4.000 | 40.000 | – | – | 10.0 |');
    expect(table[3]).toBe('| 16 | SET | slotgate | 200,000 | 0.50 | 2.000 | 20.000 | 5.0 | 3.0 | 10.0 |');
    expect(table[4]).toMatch(/^\| 16 \| MGET \(10 keys\) \| direct \| 100,000† \| 1.00 \|/);
    expect(table[5]).toBe('| 16 | MGET (10 keys) | slotgate | failed (1) | | | | | | |');
  });

  it('labels the Unix-socket client arm in its rows and marks its ratio ‡, beside † where both apply', () => {
    const withUnix = new Results();
    withUnix.add('direct', 16, 'set', sample(400_000, undefined));
    withUnix.add('slotgate-unix', 16, 'set', sample(300_000, 0.004));
    withUnix.add('direct', 16, 'mget', sample(100_000, undefined));
    withUnix.add('slotgate-unix', 16, 'mget', sample(50_000, 0.01));
    const table = resultsTable(opts, ['direct', 'slotgate-unix'], withUnix).split('\n');
    expect(table[3]).toBe('| 16 | SET | slotgate-unix (Unix-socket client) | 300,000 | 0.75‡ | 3.000 | 30.000 | 4.0 | 2.4 | 10.0 |');
    expect(table[5]).toMatch(/^\| 16 \| MGET \(10 keys\) \| slotgate-unix \(Unix-socket client\) \| 50,000 \| 0\.50†‡ \|/);
    const failed = new Results();
    failed.fail('slotgate-unix', 16, 'set', 'boom');
    expect(resultsTable(opts, ['slotgate-unix'], failed).split('\n')[2]).toBe('| 16 | SET | slotgate-unix (Unix-socket client) | failed (1) | | | | | | |');
  });

  it('lists each failure with where it happened', () => {
    expect(failureNotes(opts, ['direct', 'slotgate'], results)).toEqual([
      'failed (1×: slotgate -P 16 mget): redis-benchmark MGET: exit 1: Error from server: ERR x',
    ]);
  });

  it('shows every redis-benchmark command line pattern', () => {
    expect(invocationPatterns(opts, [arm('direct', '--cluster -p <a master>', true), arm('nutcracker', '-p <nutcracker>')])).toEqual([
      'direct: `redis-benchmark --cluster -p <a master> -c 50 -n 4000 -r 100000 -P 16 --csv -t set` and `redis-benchmark --cluster -p <a master> -c 50 -n 4000 -r 100000 -P 16 --csv MGET key:{tag}:__rand_int__ ×10`',
      'nutcracker: `redis-benchmark -p <nutcracker> -c 50 -n 4000 -r 100000 -P 16 --csv -t set` and `redis-benchmark -p <nutcracker> -c 50 -n 4000 -r 100000 -P 16 --csv MGET key:__rand_int__ ×10`',
    ]);
  });

  it('pairs -n with -P when depths send different numbers of requests, and says how many', () => {
    const mixed = { ...parseBenchOptions(['--tests', 'get', '--pipelines', '1,16', '--requests', '1000'])!, results: '/dev/null' };
    expect(invocationPatterns(mixed, [arm('slotgate-unix', '-s <temp dir>/slotgate-unix.sock')])).toEqual([
      'slotgate-unix: `redis-benchmark -s <temp dir>/slotgate-unix.sock -c 50 -n <n> -r 100000 -P <depth> --csv -t get`',
    ]);
    expect(runSizing(mixed)).toMatch(/^requests per run \(redis-benchmark -n\): 1,000 at -P 1, 4,000 at -P 16; --requests 1000 at -P 1, times --pipelined-requests-factor 4 at deeper pipelines/);
    const flat = { ...mixed, pipelinedRequestsFactor: 1 };
    expect(invocationPatterns(flat, [arm('slotgate', '-p <slotgate>')])[0]).toContain('-n 1000 -r 100000 -P {1,16} --csv');
    expect(runSizing({ ...mixed, pipelines: [1] })).toBe('requests per run (redis-benchmark -n): 1,000 (only -P 1 ran, so --pipelined-requests-factor 4 did not apply)');
  });

  it('states the run sizing in its header, and explains ‡ when a Unix-socket client arm ran', () => {
    const withUnix = new Results();
    withUnix.add('slotgate-unix', 16, 'set', sample(300_000, 0.004));
    const input = { startedAt: new Date(0), loadBefore: '0.00', results: withUnix, notes: [], roundsDone: 1 };
    const text = report({ ...input, opts, arms: [arm('direct', '--cluster -p <a master>', true), arm('slotgate-unix', '-s <sock>')] });
    expect(text).toContain('- requests per run (redis-benchmark -n): 4,000 at -P 16;');
    expect(text).toMatch(/^- ‡ slotgate-unix: redis-benchmark connects to the proxy over a Unix domain socket; .*compares unlike client transports/m);
    expect(report({ ...input, opts, arms: [arm('slotgate', '-p <slotgate>')] })).not.toContain('‡');
  });
});
