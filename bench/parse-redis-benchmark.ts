/**
 * Reads the summary lines of `redis-benchmark -q` output. Besides them the output holds progress
 * lines that redis-benchmark redraws with carriage returns even when stdout is not a terminal
 * ("SET: rps=44892.4 (overall: ...) avg_msec=..."), and in --cluster mode a list of masters.
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
