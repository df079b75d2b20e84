import { describe, expect, it } from 'vitest';
import { parseRedisBenchmarkCsv, parseRedisBenchmarkQuiet, requestsPerSecondByTest } from '../../../bench/parse-redis-benchmark.ts';

// Captured from redis-benchmark 7.0.15 --cluster -q -t set,get -P 16 (progress lines shortened).
const clusterOutput =
  'Cluster has 3 master nodes:\n\nMaster 0: b46fec1e85b3733f8a66b0b6103f03cc22b3c7ae 127.0.0.1:21464\n' +
  'Master 1: 897d477e0e412cdb874aff99bbb8cc59cec9f12d 127.0.0.1:21463\n\n' +
  ' \rSET: rps=0.0 (overall: 0.0) avg_msec=-nan (overall: -nan)\r          ' +
  '\rSET: rps=252761.9 (overall: 248812.5) avg_msec=3.008 (overall: 3.008)\r          ' +
  '\rSET: 193423.59 requests per second, p50=1.807 msec\n' +
  ' \rGET: rps=0.0 (overall: 0.0) avg_msec=-nan (overall: -nan)\r          ' +
  '\rGET: 395256.94 requests per second, p50=1.063 msec\n\n';

describe('parseRedisBenchmarkQuiet', () => {
  it('reads the summaries and skips progress lines and the master list', () => {
    expect(parseRedisBenchmarkQuiet(clusterOutput)).toEqual([
      { test: 'SET', requestsPerSecond: 193423.59, p50Ms: 1.807 },
      { test: 'GET', requestsPerSecond: 395256.94, p50Ms: 1.063 },
    ]);
  });

  it('keeps test names with spaces and brackets, and works without p50 (Redis before 6.2)', () => {
    const output = 'PING_INLINE: 81967.21 requests per second\r\nMSET (10 keys): 51282.05 requests per second, p50=0.5 msec\n';
    expect(parseRedisBenchmarkQuiet(output)).toEqual([
      { test: 'PING_INLINE', requestsPerSecond: 81967.21, p50Ms: undefined },
      { test: 'MSET (10 keys)', requestsPerSecond: 51282.05, p50Ms: 0.5 },
    ]);
  });

  it('returns nothing for output without summaries', () => {
    expect(parseRedisBenchmarkQuiet(' \rSET: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r')).toEqual([]);
    expect(parseRedisBenchmarkQuiet('')).toEqual([]);
  });
});

describe('requestsPerSecondByTest', () => {
  it('maps the requested tests, case-insensitively', () => {
    expect(requestsPerSecondByTest(clusterOutput, ['set', 'get'])).toEqual(
      new Map([
        ['SET', 193423.59],
        ['GET', 395256.94],
      ]),
    );
  });

  it('names the tests that have no summary', () => {
    expect(() => requestsPerSecondByTest('SET: 1.00 requests per second\n', ['set', 'get'])).toThrow(/no result for get/);
  });
});

// Captured from redis-benchmark 7.0.15 --cluster --csv (master ids shortened), and a custom command.
const csvHeader = '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n';
const clusterCsv =
  'Cluster has 3 master nodes:\n\nMaster 0: 6b6ffb9a 127.0.0.1:21212\nMaster 1: 1df3c800 127.0.0.1:21211\n\n' +
  csvHeader +
  '"SET","19685.04","0.237","0.032","0.215","0.479","0.711","5.175"\n' +
  '"MSET (10 keys)","19607.84","0.403","0.024","0.351","0.807","1.271","7.999"\n';

describe('parseRedisBenchmarkCsv', () => {
  it('reads every row with its latency percentiles and skips the master list', () => {
    expect(parseRedisBenchmarkCsv(clusterCsv)).toEqual([
      { test: 'SET', requestsPerSecond: 19685.04, avgMs: 0.237, minMs: 0.032, p50Ms: 0.215, p95Ms: 0.479, p99Ms: 0.711, maxMs: 5.175 },
      { test: 'MSET (10 keys)', requestsPerSecond: 19607.84, avgMs: 0.403, minMs: 0.024, p50Ms: 0.351, p95Ms: 0.807, p99Ms: 1.271, maxMs: 7.999 },
    ]);
  });

  it('names a custom command by its command line, quotes and commas included', () => {
    const output = csvHeader + '"MGET key:__rand_int__ key:__rand_int__","42553.19","0.130","0.032","0.119","0.191","0.359","0.663"\r\n' +
      '"ECHO ""a,b""","1.00","1","1","2","3","4","5"\n';
    const rows = parseRedisBenchmarkCsv(output);
    expect(rows.map((row) => row.test)).toEqual(['MGET key:__rand_int__ key:__rand_int__', 'ECHO "a,b"']);
    expect(rows[0]).toMatchObject({ requestsPerSecond: 42553.19, p50Ms: 0.119, p99Ms: 0.359 });
    expect(rows[1]).toMatchObject({ p50Ms: 2, p95Ms: 3, p99Ms: 4 });
  });

  it('finds columns by the header, whatever their order', () => {
    const output = '"test","p99_latency_ms","rps","p50_latency_ms","avg_latency_ms","min_latency_ms","p95_latency_ms","max_latency_ms"\n"GET","9","1000","2","3","1","8","10"\n';
    expect(parseRedisBenchmarkCsv(output)[0]).toMatchObject({ test: 'GET', requestsPerSecond: 1000, p50Ms: 2, p99Ms: 9 });
  });

  it('ignores rows before a header and returns nothing without one', () => {
    expect(parseRedisBenchmarkCsv('"SET","1.00","1","1","1","1","1","1"\n')).toEqual([]);
    expect(parseRedisBenchmarkCsv('')).toEqual([]);
  });

  it('refuses the CSV of an old redis-benchmark that has no latency columns', () => {
    expect(() => parseRedisBenchmarkCsv('"test","rps"\n"SET","1000.00"\n')).toThrow(/lacks avg_latency_ms.*p99_latency_ms/);
  });

  it('refuses a row whose numbers are not numbers', () => {
    expect(() => parseRedisBenchmarkCsv(csvHeader + '"SET","-nan","1","1","1","1","1","1"\n')).toThrow(/rps of "SET" is not a number/);
  });
});
