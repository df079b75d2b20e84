import type { ChildProcess } from 'node:child_process';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * Metrics across worker processes. Each worker keeps its own registry; the supervisor, which
 * serves /metrics, asks every worker for `getMetricsAsJSON()` over the IPC channel on each scrape
 * and sums the answers with prom-client's AggregatorRegistry.aggregate (which works on the JSON
 * alone; node:cluster is not involved). A worker that doesn't answer in time is left out of that
 * scrape, and slotgate_workers_reporting says how many did.
 */

/** How long a scrape waits for the workers. */
export const WORKER_METRICS_TIMEOUT_MS = 1000;

interface MetricsRequest {
  slotgateMetricsRequest: number;
}
interface MetricsReply {
  slotgateMetricsReply: number;
  metrics: object[];
}

/** In a worker: answer the supervisor's requests for `registry`'s metrics. */
export function answerMetricsRequests(registry: Registry): void {
  process.on('message', (message: MetricsRequest) => {
    if (typeof message?.slotgateMetricsRequest !== 'number') return;
    const id = message.slotgateMetricsRequest;
    registry.getMetricsAsJSON().then(
      // The supervisor may be gone by now (its death closes the channel): a send with a callback
      // reports that there instead of as an 'error' event nobody handles.
      (metrics) => {
        if (process.connected) process.send?.({ slotgateMetricsReply: id, metrics } satisfies MetricsReply, undefined, {}, () => {});
      },
      () => {},
    );
  });
}

let nextRequestId = 1;

/** In the supervisor: each worker's metrics as JSON, from those that answer within `timeoutMs`. */
export async function askWorkersForMetrics(workers: Iterable<ChildProcess>, timeoutMs = WORKER_METRICS_TIMEOUT_MS): Promise<object[][]> {
  const id = nextRequestId++;
  const answers = await Promise.all([...workers].map((worker) => askOne(worker, id, timeoutMs)));
  return answers.filter((answer): answer is object[] => answer !== null);
}

/**
 * Each scrape in flight listens on every worker for its answer (removed when it comes), and the
 * metrics server takes at most 16 connections: room for those, so Node doesn't warn of a leak.
 */
const LISTENERS_PER_WORKER = 40;

function askOne(worker: ChildProcess, id: number, timeoutMs: number): Promise<object[] | null> {
  if (!worker.connected) return Promise.resolve(null);
  if (worker.getMaxListeners() < LISTENERS_PER_WORKER) worker.setMaxListeners(LISTENERS_PER_WORKER);
  return new Promise((resolve) => {
    const finish = (answer: object[] | null): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(answer);
    };
    const onMessage = (message: MetricsReply): void => {
      if (message?.slotgateMetricsReply === id && Array.isArray(message.metrics)) finish(message.metrics);
    };
    const onExit = (): void => finish(null);
    const timer = setTimeout(() => finish(null), timeoutMs);
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    worker.send({ slotgateMetricsRequest: id } satisfies MetricsRequest, (error) => {
      if (error) finish(null);
    });
  });
}

/**
 * Readiness of a supervisor's `expected` workers, from their slotgate_ready gauges: ready when
 * every one answered and serves every slot (a client may land on any of them). A worker being
 * restarted is missing from `workers`, so that counts as not ready.
 */
export async function workersReadiness(
  workers: ChildProcess[],
  expected: number,
  timeoutMs = WORKER_METRICS_TIMEOUT_MS,
): Promise<{ ready: boolean; detail: string }> {
  const answers = await askWorkersForMetrics(workers, timeoutMs);
  const readyCount = answers.filter((metrics) => gaugeValue(metrics, 'slotgate_ready') === 1).length;
  if (readyCount === expected && expected > 0) return { ready: true, detail: `ready (${readyCount} workers)` };
  return { ready: false, detail: `${readyCount} of ${expected} workers ready (${answers.length} answered)` };
}

/** The value of an unlabelled gauge in one registry's getMetricsAsJSON(), or undefined. */
function gaugeValue(metrics: object[], name: string): number | undefined {
  const metric = metrics.find((entry) => (entry as { name?: string }).name === name) as { values?: { value: number }[] } | undefined;
  return metric?.values?.[0]?.value;
}

/** The workers' metrics summed into one Prometheus text, with how many workers answered. */
export async function aggregateWorkerMetrics(workers: Iterable<ChildProcess>, timeoutMs = WORKER_METRICS_TIMEOUT_MS): Promise<{ contentType: string; body: string }> {
  const answers = await askWorkersForMetrics(workers, timeoutMs);
  const reporting = {
    name: 'slotgate_workers_reporting',
    help: 'Worker processes whose metrics are in this scrape.',
    type: 'gauge',
    values: [{ value: answers.length, labels: {} }],
    aggregator: 'sum',
  };
  const registry = AggregatorRegistry.aggregate([...answers, [reporting]]);
  return { contentType: registry.contentType, body: await registry.metrics() };
}
