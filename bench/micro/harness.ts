/**
 * A minimal timing harness for the micro-benchmarks: plain process.hrtime.bigint() loops, no
 * framework. Each case is warmed up (so the JIT has optimised it), calibrated so one sample lasts
 * about `sampleMs`, then timed in 5 samples; we report the median ns per operation and the spread
 * (max - min) / median of the samples.
 */

export interface CaseResult {
  group: string;
  name: string;
  /** What one "op" is, e.g. "request", "reply", "batch". */
  unit: string;
  /** Median of the samples, in nanoseconds per op. */
  nsPerOp: number;
  /** (max - min) / median of the samples. */
  spread: number;
  /** Ops timed per sample. */
  opsPerSample: number;
  note?: string;
}

export interface TimingOptions {
  warmupMs: number;
  sampleMs: number;
  samples: number;
}

export const defaultTiming: TimingOptions = { warmupMs: 300, sampleMs: 100, samples: 5 };

/** Results flow into here so the optimiser cannot drop the work being measured. */
export let blackhole = 0;
export function consume(value: number): void {
  blackhole = (blackhole + value) | 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(group: string, name: string, unit: string, samples: number[], opsPerSample: number, note?: string): CaseResult {
  const mid = median(samples);
  const spread = mid > 0 ? (Math.max(...samples) - Math.min(...samples)) / mid : 0;
  return { group, name, unit, nsPerOp: mid, spread, opsPerSample, note };
}

/** Largest number of calls in one sample, whatever the calibration says: bounds every loop. */
const MAX_CALLS_PER_SAMPLE = 50_000_000;

/**
 * Times a synchronous `fn` that performs `opsPerCall` operations per call and returns a number
 * (fed to the blackhole).
 */
export function measure(
  group: string,
  name: string,
  unit: string,
  opsPerCall: number,
  fn: () => number,
  timing: TimingOptions = defaultTiming,
  note?: string,
): CaseResult {
  // Warm-up, which also calibrates: how long does one call take?
  const warmupEnd = process.hrtime.bigint() + BigInt(Math.round(timing.warmupMs * 1e6));
  let calls = 0;
  let acc = 0;
  const warmStart = process.hrtime.bigint();
  let now = warmStart;
  while (now < warmupEnd && calls < MAX_CALLS_PER_SAMPLE) {
    for (let i = 0; i < 16; i++) acc += fn();
    calls += 16;
    now = process.hrtime.bigint();
  }
  consume(acc);
  const nsPerCall = Number(now - warmStart) / calls;
  const callsPerSample = Math.max(1, Math.min(MAX_CALLS_PER_SAMPLE, Math.round((timing.sampleMs * 1e6) / nsPerCall)));

  const samples: number[] = [];
  for (let s = 0; s < timing.samples; s++) {
    acc = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < callsPerSample; i++) acc += fn();
    const elapsed = Number(process.hrtime.bigint() - start);
    consume(acc);
    samples.push(elapsed / (callsPerSample * opsPerCall));
  }
  return summarize(group, name, unit, samples, callsPerSample * opsPerCall, note);
}

/**
 * Times an operation that may have to wait (socket writes waiting for 'drain'): only the time
 * inside `op` is counted, summed over the sample; `settle` runs untimed after each op and may
 * wait. Each sample runs ops until `sampleMs` of timed work or `maxOps`, whichever comes first.
 */
export async function measureAsync(
  group: string,
  name: string,
  unit: string,
  op: () => number,
  settle: () => Promise<void> | undefined,
  timing: TimingOptions = defaultTiming,
  maxOps = 200_000,
  note?: string,
): Promise<CaseResult> {
  const runFor = async (budgetNs: number): Promise<{ ns: number; ops: number }> => {
    let timed = 0;
    let ops = 0;
    const wallLimit = Date.now() + Math.max(2000, (budgetNs / 1e6) * 20);
    while (timed < budgetNs && ops < maxOps && Date.now() < wallLimit) {
      const start = process.hrtime.bigint();
      consume(op());
      timed += Number(process.hrtime.bigint() - start);
      ops++;
      const waiting = settle();
      if (waiting !== undefined) await waiting;
    }
    return { ns: timed, ops };
  };
  await runFor(timing.warmupMs * 1e6);
  const samples: number[] = [];
  let total = 0;
  for (let s = 0; s < timing.samples; s++) {
    const { ns, ops } = await runFor(timing.sampleMs * 1e6);
    samples.push(ns / Math.max(1, ops));
    total += ops;
  }
  return summarize(group, name, unit, samples, Math.round(total / timing.samples), note);
}

/** "1,234" for big numbers, 3 significant digits below 100. */
export function formatNs(ns: number): string {
  if (ns >= 100) return Math.round(ns).toLocaleString('en-US');
  if (ns >= 10) return ns.toFixed(1);
  return ns.toFixed(2);
}

export function markdownTable(results: readonly CaseResult[]): string {
  const lines = [
    '| group | case | ns/op (median of 5) | spread | op | notes |',
    '|---|---|---:|---:|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.group} | ${r.name} | ${formatNs(r.nsPerOp)} | ${(r.spread * 100).toFixed(0)}% | ${r.unit} | ${r.note ?? ''} |`,
    );
  }
  return lines.join('\n');
}
