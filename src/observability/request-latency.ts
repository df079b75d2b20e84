import { performance } from 'node:perf_hooks';
import { scheduleFlush, type Flushable } from '../util/flush-scheduler.ts';

/** Upper bounds of the latency buckets, in seconds (Prometheus's unit); a last one, +Inf, is implied. */
export const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const BOUNDS_MS = LATENCY_BUCKETS_SECONDS.map((seconds) => seconds * 1000);
/** Counters per command: one per bucket, then +Inf. */
const SLOTS = BOUNDS_MS.length + 1;

/**
 * How long requests took, per command: from the read that brought a request in to the event-loop
 * turn that writes its reply out, so slotgate's own queueing counts as well as the node's time.
 *
 * Cheap enough for every request: the clock is read once per client read (the arrival time the
 * request carries) and once per event-loop turn here (performance.now() costs ~45 ns on the 2-core
 * VM), not per request. A request whose reply is complete is noted with two array pushes; at the
 * end of the turn, when the flush scheduler writes every reply out, this reads the clock once and
 * files what was noted. Replies slotgate makes itself (PING, errors it answers) are not counted:
 * they never wait for anything.
 */
export class RequestLatency implements Flushable {
  flushQueued = false;
  /** Per command id, SLOTS counts (not cumulative; the scrape sums them up). */
  readonly counts: Float64Array;
  /** Per command id, the total of the latencies in milliseconds. */
  readonly sumsMs: Float64Array;
  private readonly doneIds: number[] = [];
  private readonly doneArrivals: number[] = [];

  constructor(commandCount: number) {
    this.counts = new Float64Array(commandCount * SLOTS);
    this.sumsMs = new Float64Array(commandCount);
  }

  /** The reply of a request of command `commandId`, read at `arrivedAt` (performance.now()), leaves in this turn. */
  completed(commandId: number, arrivedAt: number): void {
    this.doneIds.push(commandId);
    this.doneArrivals.push(arrivedAt);
    if (!this.flushQueued) scheduleFlush(this);
  }

  flush(): void {
    const now = performance.now();
    const ids = this.doneIds;
    const arrivals = this.doneArrivals;
    for (let i = 0; i < ids.length; i++) {
      const elapsed = now - arrivals[i];
      let slot = 0;
      while (slot < BOUNDS_MS.length && elapsed > BOUNDS_MS[slot]) slot++;
      this.counts[ids[i] * SLOTS + slot]++;
      this.sumsMs[ids[i]] += elapsed;
    }
    ids.length = 0;
    arrivals.length = 0;
  }

  /** Cumulative bucket counts of one command (the last is the total), and its sum in seconds; null when it has none. */
  histogramOf(commandId: number): { cumulative: number[]; sumSeconds: number } | null {
    const base = commandId * SLOTS;
    const cumulative: number[] = [];
    let total = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      total += this.counts[base + slot];
      cumulative.push(total);
    }
    return total === 0 ? null : { cumulative, sumSeconds: this.sumsMs[commandId] / 1000 };
  }
}
