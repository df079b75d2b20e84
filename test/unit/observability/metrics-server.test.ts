import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../../src/observability/metrics-server.ts';

let server: MetricsServer;
let renders = 0;
let readiness = { ready: true, detail: 'ready' };

beforeAll(async () => {
  server = await startMetricsServer(0, '127.0.0.1', async () => {
    renders++;
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'slotgate_up 1\n' };
  }, async () => readiness, pino({ level: 'silent' }));
});

afterAll(() => server.close());

function fetchRaw(method: string, path: string, body?: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('serves GET /metrics from render()', async () => {
  const response = await fetchRaw('GET', '/metrics');
  expect(response).toEqual({ status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: 'slotgate_up 1\n' });
  expect((await fetchRaw('GET', '/metrics?name[]=x')).status).toBe(200);
});

it('answers 404 elsewhere and 405 for other methods, without rendering', async () => {
  const before = renders;
  expect((await fetchRaw('GET', '/')).status).toBe(404);
  expect((await fetchRaw('GET', '/metrics/x')).status).toBe(404);
  expect((await fetchRaw('POST', '/metrics', 'x'.repeat(100_000))).status).toBe(405);
  expect(renders).toBe(before);
});

it('answers /healthz while up, and /readyz by readiness(): 200 when ready, 503 with the reason when not', async () => {
  expect(await fetchRaw('GET', '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
  readiness = { ready: true, detail: 'ready' };
  expect(await fetchRaw('GET', '/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
  readiness = { ready: false, detail: '100 of 16384 slots have no known master' };
  expect(await fetchRaw('GET', '/readyz')).toMatchObject({ status: 503, body: '100 of 16384 slots have no known master\n' });
  expect((await fetchRaw('POST', '/readyz', 'x')).status).toBe(405);
});

it('drops idle connections within seconds, so a few can not keep the probes out for long', async () => {
  // As many idle connections as the server takes: the probe below waits until the timeouts free one.
  const idle = await Promise.all(
    Array.from({ length: 16 }, () => new Promise<Socket>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => resolve(socket));
      socket.on('error', () => {});
    })),
  );
  const started = Date.now();
  try {
    for (;;) {
      const answer = await fetchRaw('GET', '/healthz').catch(() => undefined);
      if (answer?.status === 200) break;
      if (Date.now() - started > 12_000) throw new Error('the probe stayed out for 12 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    for (const socket of idle) socket.destroy();
  }
}, 20_000);
