import { createServer, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/** The text of one scrape and its Content-Type. */
export type RenderMetrics = () => Promise<{ contentType: string; body: string }>;

/** Whether slotgate can serve requests now, and a line saying why (not). */
export type CheckReadiness = () => Promise<{ ready: boolean; detail: string }>;

export interface MetricsServer {
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

/** Scrapers are few; connections beyond this many are closed as they arrive. */
const MAX_CONNECTIONS = 16;
/** A request must arrive whole, and be answered, within this long. */
const REQUEST_TIMEOUT_MS = 5000;
const MAX_HEADER_BYTES = 8 * 1024;

/**
 * A small HTTP server for Prometheus and probes: GET /metrics answers `render()`; GET /healthz 200
 * while the process answers at all (liveness); GET /readyz 200 when `readiness()` says slotgate can
 * serve, 503 with the reason otherwise (readiness: a map covering every slot, not shutting down).
 * Anything else 404 (405 for another method on those paths). Bounded: request bodies are never
 * read (the connection is closed after answering a request that could carry one), headers are
 * capped at 8 KB, requests time out, and connections are few.
 */
export function startMetricsServer(port: number, host: string, render: RenderMetrics, readiness: CheckReadiness, logger: Logger): Promise<MetricsServer> {
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: REQUEST_TIMEOUT_MS,
      // Node enforces the two timeouts above only on this check, every 30 s by default: long enough
      // for MAX_CONNECTIONS idle connections to keep the probes out.
      connectionsCheckingInterval: 1000,
    },
    (request, response) => {
      const path = (request.url ?? '').split('?', 1)[0];
      if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
        return answer(response, 404, 'not found; try /metrics, /healthz or /readyz\n', request.method !== 'GET');
      }
      if (request.method !== 'GET') {
        response.setHeader('Allow', 'GET');
        return answer(response, 405, 'only GET\n', true);
      }
      if (path === '/healthz') return answer(response, 200, 'ok\n', false);
      if (path === '/readyz') {
        readiness().then(
          ({ ready, detail }) => answer(response, ready ? 200 : 503, `${detail}\n`, false),
          (error: Error) => answer(response, 503, `could not tell: ${error.message}\n`, false),
        );
        return;
      }
      render().then(
        ({ contentType, body }) => answer(response, 200, body, false, contentType),
        (error: Error) => {
          logger.warn({ err: error.message }, 'could not render metrics');
          answer(response, 500, 'could not render metrics\n', false);
        },
      );
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      server.on('error', (error) => logger.warn({ err: error.message }, 'metrics server error'));
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      logger.info({ bind: host, port: bound }, 'serving /metrics, /healthz and /readyz');
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** `close`: end the connection after answering, so an unread request body can't be taken for the next request. */
function answer(response: ServerResponse, status: number, body: string, close: boolean, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    ...(close ? { Connection: 'close' } : {}),
  });
  response.end(body);
}
