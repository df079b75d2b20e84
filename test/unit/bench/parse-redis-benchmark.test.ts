import { describe, expect, it } from 'vitest';
import { parseRedisBenchmarkQuiet, requestsPerSecondByTest } from '../../../bench/parse-redis-benchmark.ts';

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
