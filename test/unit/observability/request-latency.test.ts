import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { LATENCY_BUCKETS_SECONDS, RequestLatency } from '../../../src/observability/request-latency.ts';

it('files each reply at the end of its turn, in the bucket of its time since arrival', async () => {
  const latency = new RequestLatency(3);
  const now = performance.now();
  // Margins wide enough for a loaded machine, where the turn may end some milliseconds later.
  latency.completed(1, now);
  latency.completed(1, now - 30); // over 25 ms however soon the turn ends
  latency.completed(2, now - 60_000); // a minute: past every bound
  expect(latency.histogramOf(1)).toBeNull(); // nothing filed before the turn ends
  await nextTurn();

  const one = latency.histogramOf(1)!;
  const bucketOf = (seconds: number) => LATENCY_BUCKETS_SECONDS.findIndex((bound) => bound === seconds);
  expect(one.cumulative).toHaveLength(LATENCY_BUCKETS_SECONDS.length + 1);
  expect(one.cumulative[bucketOf(0.025)]).toBeLessThanOrEqual(1);
  expect(one.cumulative[bucketOf(0.25)]).toBe(2);
  expect(one.cumulative.at(-1)).toBe(2);
  expect(one.sumSeconds).toBeGreaterThanOrEqual(0.03);
  expect(one.sumSeconds).toBeLessThan(0.5);

  const two = latency.histogramOf(2)!;
  expect(two.cumulative.at(-2)).toBe(0);
  expect(two.cumulative.at(-1)).toBe(1);
  expect(latency.histogramOf(0)).toBeNull();
});

it('starts every turn afresh', async () => {
  const latency = new RequestLatency(1);
  latency.completed(0, performance.now());
  await nextTurn();
  latency.completed(0, performance.now());
  await nextTurn();
  expect(latency.histogramOf(0)?.cumulative.at(-1)).toBe(2);
});
