/**
 * Reads redis-benchmark's results: the summary lines of `-q` output, and the rows of `--csv` output
 * (throughput with p50/p95/p99 latency, which the bench uses). Besides them the output holds progress
 * lines that redis-benchmark redraws with carriage returns even when stdout is not a terminal
 * ("SET: rps=44892.4 (overall: ...) avg_msec=..."; not with --csv), and in --cluster mode a list of masters.
 */

export interface BenchmarkLine {
  /** The test as redis-benchmark names it: "SET", "GET", "MSET (10 keys)", "LRANGE_100 (first 100 elements)". */
  test: string;
  requestsPerSecond: number;
  /** Median latency, when this redis-benchmark prints it (6.2 and later). */
  p50Ms: number | undefined;
}

const SUMMARY = /^(.+?): ([0-9]+(?:\.[0-9]+)?) requests per second(?:, p50=([0-9]+(?:\.[0-9]+)?) msec)?/;

/** Every summary line, in output order. Lines that are not summaries are ignored. */
export function parseRedisBenchmarkQuiet(output: string): BenchmarkLine[] {
  const results: BenchmarkLine[] = [];
  for (const rawLine of output.split(/[\r\n]+/)) {
    const match = SUMMARY.exec(rawLine.trim());
    if (!match) continue;
    results.push({
      test: match[1],
      requestsPerSecond: Number(match[2]),
      p50Ms: match[3] === undefined ? undefined : Number(match[3]),
    });
  }
  return results;
}

/** Requests per second by test name; throws naming what is missing if a requested test has no summary. */
export function requestsPerSecondByTest(output: string, tests: string[]): Map<string, number> {
  const byTest = new Map(parseRedisBenchmarkQuiet(output).map((line) => [line.test.toUpperCase(), line.requestsPerSecond]));
  const missing = tests.filter((test) => !byTest.has(test.toUpperCase()));
  if (missing.length > 0) {
    throw new Error(`redis-benchmark output has no result for ${missing.join(', ')}:\n${output.slice(-500)}`);
  }
  return new Map(tests.map((test) => [test.toUpperCase(), byTest.get(test.toUpperCase()) as number]));
}

/** One row of `redis-benchmark --csv` (7.x): throughput and the latency summary, in milliseconds. */
export interface BenchmarkCsvRow {
  /** "SET", "MSET (10 keys)", or for a custom command the command line itself ("MGET key:__rand_int__ ..."). */
  test: string;
  requestsPerSecond: number;
  avgMs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

const CSV_COLUMNS = {
  requestsPerSecond: 'rps',
  avgMs: 'avg_latency_ms',
  minMs: 'min_latency_ms',
  p50Ms: 'p50_latency_ms',
  p95Ms: 'p95_latency_ms',
  p99Ms: 'p99_latency_ms',
  maxMs: 'max_latency_ms',
} as const;

/** Splits one CSV line of double-quoted fields ("" inside a field is a quote); undefined if it is not one. */
function csvFields(line: string): string[] | undefined {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (line[at] !== '"') return undefined;
    let value = '';
    let i = at + 1;
    for (;;) {
      const quote = line.indexOf('"', i);
      if (quote < 0) return undefined;
      value += line.slice(i, quote);
      if (line[quote + 1] === '"') {
        value += '"';
        i = quote + 2;
        continue;
      }
      at = quote + 1;
      break;
    }
    fields.push(value);
    if (at === line.length) return fields;
    if (line[at] !== ',') return undefined;
    at++;
  }
}

/**
 * Every result row of `redis-benchmark --csv` output, in order. Columns are found by the header
 * line's names, so their order does not matter; the master list that --cluster prints first, blank
 * lines and anything else that is not a quoted CSV line are skipped. Throws if the header lacks a
 * column we need (an older redis-benchmark whose CSV has only "test","rps").
 */
export function parseRedisBenchmarkCsv(output: string): BenchmarkCsvRow[] {
  const rows: BenchmarkCsvRow[] = [];
  let header: string[] | undefined;
  for (const rawLine of output.split(/[\r\n]+/)) {
    const fields = csvFields(rawLine.trim());
    if (!fields) continue;
    if (fields[0] === 'test') {
      const missing = Object.values(CSV_COLUMNS).filter((name) => !fields.includes(name));
      if (missing.length > 0) throw new Error(`redis-benchmark --csv output lacks ${missing.join(', ')} (redis-benchmark 7 or later needed)`);
      header = fields;
      continue;
    }
    if (!header) continue;
    const number = (name: string): number => {
      const value = Number(fields[(header as string[]).indexOf(name)]);
      if (!Number.isFinite(value)) throw new Error(`redis-benchmark --csv: ${name} of "${fields[0]}" is not a number: ${rawLine.trim()}`);
      return value;
    };
    rows.push({
      test: fields[0],
      requestsPerSecond: number(CSV_COLUMNS.requestsPerSecond),
      avgMs: number(CSV_COLUMNS.avgMs),
      minMs: number(CSV_COLUMNS.minMs),
      p50Ms: number(CSV_COLUMNS.p50Ms),
      p95Ms: number(CSV_COLUMNS.p95Ms),
      p99Ms: number(CSV_COLUMNS.p99Ms),
      maxMs: number(CSV_COLUMNS.maxMs),
    });
  }
  return rows;
}
