import { describe, expect, it } from 'vitest';
import { OptionsError, parseBenchOptions } from '../../../bench/options.ts';

describe('parseBenchOptions', () => {
  it('defaults to every arm, test and both depths', () => {
    const opts = parseBenchOptions([]);
    expect(opts).toMatchObject({
      requests: 50000,
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

  it('returns undefined for --help', () => {
    expect(parseBenchOptions(['--help'])).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(() => parseBenchOptions(['--arms', 'direct,envoy'])).toThrow(/--arms: unknown envoy; choose from direct,slotgate,slotgate-all,nutcracker/);
    expect(() => parseBenchOptions(['--tests', ','])).toThrow(/--tests needs at least one/);
    expect(() => parseBenchOptions(['--rounds', '0'])).toThrow(/--rounds must be an integer >= 1, got 0/);
    expect(() => parseBenchOptions(['--pipelines', '1,x'])).toThrow(/--pipelines must be an integer >= 1, got x/);
    expect(() => parseBenchOptions(['--requests', ''])).toThrow(OptionsError);
    expect(() => parseBenchOptions(['--frobnicate'])).toThrow(OptionsError);
  });
});
