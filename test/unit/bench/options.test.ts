import { describe, expect, it } from 'vitest';
import { OptionsError, parseBenchOptions, requestsAt, usage } from '../../../bench/options.ts';

describe('parseBenchOptions', () => {
  it('defaults to every arm but slotgate-unix, every test and both depths', () => {
    const opts = parseBenchOptions([]);
    expect(opts).toMatchObject({
      requests: 50000,
      pipelinedRequestsFactor: 4,
      rounds: 3,
      clients: 50,
      keyspace: 100000,
      arms: ['direct', 'slotgate', 'slotgate-all', 'nutcracker'],
      tests: ['set', 'get', 'incr', 'lpush', 'mset', 'mget'],
      pipelines: [1, 16],
      workers: 2,
      timeoutMs: 120_000,
    });
    expect(opts?.results).toMatch(/bench\/RESULTS\.md$/);
  });

  it('keeps lists in the canonical order, once each, case-insensitively', () => {
    const opts = parseBenchOptions(['--arms', 'nutcracker,DIRECT,direct', '--tests', 'mget,set', '--pipelines', '16,1,16', '--requests', '1000']);
    expect(opts).toMatchObject({ arms: ['direct', 'nutcracker'], tests: ['set', 'mget'], pipelines: [1, 16], requests: 1000 });
  });

  it('runs slotgate-unix when asked for, beside slotgate', () => {
    expect(parseBenchOptions(['--arms', 'slotgate-unix,direct,slotgate'])?.arms).toEqual(['direct', 'slotgate', 'slotgate-unix']);
  });

  it('sizes pipelined runs by --pipelined-requests-factor, -P 1 runs by --requests alone', () => {
    const opts = parseBenchOptions(['--requests', '5000', '--pipelined-requests-factor', '3', '--pipelines', '1,4,16'])!;
    expect(opts.pipelinedRequestsFactor).toBe(3);
    expect(opts.pipelines.map((depth) => requestsAt(opts, depth))).toEqual([5000, 15000, 15000]);
    const plain = parseBenchOptions(['--requests', '5000', '--pipelined-requests-factor', '1'])!;
    expect(requestsAt(plain, 16)).toBe(5000);
    expect(requestsAt(parseBenchOptions([])!, 16)).toBe(200000);
  });

  it('documents both in the usage text', () => {
    expect(usage).toMatch(/--pipelined-requests-factor F\n.*N × F requests.*default 4/);
    expect(usage).toContain('slotgate-unix');
  });

  it('returns undefined for --help', () => {
    expect(parseBenchOptions(['--help'])).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(() => parseBenchOptions(['--arms', 'direct,envoy'])).toThrow(/--arms: unknown envoy; choose from direct,slotgate,slotgate-unix,slotgate-all,nutcracker/);
    expect(() => parseBenchOptions(['--pipelined-requests-factor', '0'])).toThrow(/--pipelined-requests-factor must be an integer >= 1, got 0/);
    expect(() => parseBenchOptions(['--pipelined-requests-factor', '2.5'])).toThrow(OptionsError);
    // redis-benchmark's -n is a C int: N × F must fit, but only if some depth above 1 uses it.
    expect(() => parseBenchOptions(['--requests', '1000000000', '--pipelined-requests-factor', '3'])).toThrow(/at most 2147483647 .*got 3000000000/);
    expect(parseBenchOptions(['--requests', '1000000000', '--pipelined-requests-factor', '3', '--pipelines', '1'])?.requests).toBe(1e9);
    expect(() => parseBenchOptions(['--requests', '3000000000', '--pipelines', '1'])).toThrow(/--requests must be at most 2147483647/);
    expect(() => parseBenchOptions(['--tests', ','])).toThrow(/--tests needs at least one/);
    expect(() => parseBenchOptions(['--rounds', '0'])).toThrow(/--rounds must be an integer >= 1, got 0/);
    expect(() => parseBenchOptions(['--pipelines', '1,x'])).toThrow(/--pipelines must be an integer >= 1, got x/);
    expect(() => parseBenchOptions(['--requests', ''])).toThrow(OptionsError);
    expect(() => parseBenchOptions(['--frobnicate'])).toThrow(OptionsError);
  });
});
