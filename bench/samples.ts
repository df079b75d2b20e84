/** What each (arm, pipeline depth, test) measured, round by round, and the medians the report shows. */
import type { ArmName, TestName } from './options.ts';

export interface Sample {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU-seconds of the proxy's processes during the run; undefined for the direct arm. */
  proxyCpuSeconds: number | undefined;
  /** The kernel (stime) part of proxyCpuSeconds; undefined for the direct arm. */
  proxySystemCpuSeconds: number | undefined;
  /** CPU-seconds of the redis-servers behind the arm during the run. */
  backendCpuSeconds: number;
  requests: number;
}

export interface Cell {
  samples: Sample[];
  errors: string[];
}

export interface Summary {
  rounds: number;
  failed: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU-seconds per million requests. */
  proxyCpuPerMillion: number | undefined;
  /** The kernel part of proxyCpuPerMillion (its own median over the rounds). */
  proxySystemCpuPerMillion: number | undefined;
  backendCpuPerMillion: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export class Results {
  private readonly cells = new Map<string, Cell>();

  private cell(arm: ArmName, pipeline: number, test: TestName): Cell {
    const key = `${arm} ${pipeline} ${test}`;
    let cell = this.cells.get(key);
    if (!cell) this.cells.set(key, (cell = { samples: [], errors: [] }));
    return cell;
  }

  add(arm: ArmName, pipeline: number, test: TestName, sample: Sample): void {
    this.cell(arm, pipeline, test).samples.push(sample);
  }

  fail(arm: ArmName, pipeline: number, test: TestName, message: string): void {
    this.cell(arm, pipeline, test).errors.push(message);
  }

  /** Medians over the rounds that succeeded; undefined if none did. */
  summary(arm: ArmName, pipeline: number, test: TestName): Summary | undefined {
    const { samples, errors } = this.cell(arm, pipeline, test);
    if (samples.length === 0) return undefined;
    const perMillion = (seconds: number, requests: number): number => (seconds * 1e6) / requests;
    /** Median per million requests of a proxy figure, over the samples that have it. */
    const proxyPerMillion = (seconds: (s: Sample) => number | undefined): number | undefined => {
      const values: number[] = [];
      for (const s of samples) {
        const value = seconds(s);
        if (value !== undefined) values.push(perMillion(value, s.requests));
      }
      return values.length > 0 ? median(values) : undefined;
    };
    return {
      rounds: samples.length,
      failed: errors.length,
      requestsPerSecond: median(samples.map((s) => s.requestsPerSecond)),
      p50Ms: median(samples.map((s) => s.p50Ms)),
      p99Ms: median(samples.map((s) => s.p99Ms)),
      proxyCpuPerMillion: proxyPerMillion((s) => s.proxyCpuSeconds),
      proxySystemCpuPerMillion: proxyPerMillion((s) => s.proxySystemCpuSeconds),
      backendCpuPerMillion: median(samples.map((s) => perMillion(s.backendCpuSeconds, s.requests))),
    };
  }

  errors(arm: ArmName, pipeline: number, test: TestName): string[] {
    return this.cell(arm, pipeline, test).errors;
  }
}
