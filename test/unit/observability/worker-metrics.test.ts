import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { aggregateWorkerMetrics, workersReadiness } from '../../../src/observability/worker-metrics.ts';

const workerModule = new URL('../../../src/observability/worker-metrics.ts', import.meta.url).pathname;
const promClient = import.meta.resolve('prom-client');

const dirs: string[] = [];

/** A child that answers like a worker, its counter at `count`; `silent` ones never answer. */
function child(count: number, silent = false): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'slotgate-worker-metrics-'));
  dirs.push(dir);
  const script = join(dir, 'worker.mjs');
  writeFileSync(
    script,
    silent
      ? 'process.on("message", () => {});\n'
      : `import client from ${JSON.stringify(promClient)};
import { answerMetricsRequests } from ${JSON.stringify(workerModule)};
const registry = new client.Registry();
new client.Counter({ name: 'slotgate_commands_total', help: 'h', labelNames: ['command'], registers: [registry] }).inc({ command: 'get' }, ${count});
new client.Gauge({ name: 'slotgate_client_connections', help: 'h', registers: [registry] }).set(${count});
new client.Gauge({ name: 'slotgate_ready', help: 'h', registers: [registry] }).set(1);
answerMetricsRequests(registry);
process.send('ready');
`,
  );
  return fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

let workers: ChildProcess[];

beforeAll(async () => {
  workers = [child(2), child(3), child(0, true)];
  await Promise.all(workers.slice(0, 2).map((worker) => new Promise((resolve) => worker.once('message', resolve))));
});

afterAll(() => {
  for (const worker of workers) worker.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

it('sums what every answering worker reports and leaves out one that does not answer', async () => {
  const started = Date.now();
  const { contentType, body } = await aggregateWorkerMetrics(workers, 300);
  expect(Date.now() - started).toBeLessThan(2000);
  expect(contentType).toContain('text/plain');
  expect(body).toContain('slotgate_commands_total{command="get"} 5');
  expect(body).toContain('slotgate_client_connections 5');
  expect(body).toContain('slotgate_workers_reporting 2');
});

it('is ready only when every expected worker answers ready', async () => {
  const answering = workers.slice(0, 2);
  expect(await workersReadiness(answering, 2, 300)).toEqual({ ready: true, detail: 'ready (2 workers)' });
  // One being restarted (not among the children), or one that does not answer.
  expect(await workersReadiness(answering, 3, 300)).toEqual({ ready: false, detail: '2 of 3 workers ready (2 answered)' });
  expect((await workersReadiness(workers, 3, 300)).ready).toBe(false);
});
