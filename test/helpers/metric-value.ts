/**
 * The value of one series in Prometheus text format, e.g. `slotgate_commands_total{command="get"}`
 * (labels as the exposition writes them), or undefined when the series is absent.
 */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** GET /metrics from the server on `port`. */
export async function scrapeMetrics(port: number, path = '/metrics'): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
}
