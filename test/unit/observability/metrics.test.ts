import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { CommandTable } from '../../../src/commands/command-table.ts';
import { parseCommandReply } from '../../../src/commands/parse-command-reply.ts';
import { metricValue as valueOf } from '../../helpers/metric-value.ts';
import { createMetricsRegistry, ProxyMetrics, type MetricsState } from '../../../src/observability/metrics.ts';

const fixture = new URL('../../fixtures/command-reply-redis-7.0.json', import.meta.url);
const table = CommandTable.fromSpecs(parseCommandReply(JSON.parse(readFileSync(fixture, 'utf8')) as unknown[]));

function state(overrides: Partial<MetricsState['info']> = {}): MetricsState {
  return {
    info: {
      version: 'test',
      masters: 3,
      clients: 4,
      redirectsMoved: 5,
      redirectsAsk: 6,
      parkedNow: 1,
      parkedTotal: 7,
      retryBudgetExpired: 2,
      longestParkMs: 0,
      nodes: [],
      ...overrides,
    },
    clientsAccepted: 9,
    topology: { refreshes: 11, failures: 1, mapChanges: 2 },
    backendConnections: { master: { up: 5, idle: 1, suspect: 0, down: 0 }, replica: { up: 0, idle: 0, suspect: 0, down: 3 } },
    slotsServed: 16384,
    ready: true,
    tlsExpiries: new Map([['tls_port', 1900000000]]),
  };
}

describe('ProxyMetrics', () => {
  it('has one command counter per spec, subcommands included', () => {
    const metrics = new ProxyMetrics(table.size);
    expect(metrics.commands.length).toBe(table.allSpecs().length);
    expect(metrics.commands.every((count) => count === 0)).toBe(true);
  });
});

describe('createMetricsRegistry', () => {
  it('publishes the counters and the state read at scrape time', async () => {
    const metrics = new ProxyMetrics(table.size);
    const get = table.get('get')!;
    const configGet = table.get('config|get')!;
    metrics.commands[get.id] += 3;
    metrics.commands[configGet.id]++;
    metrics.localErrors = 2;
    metrics.clientsRefused = 1;
    metrics.inDoubtWrites = 4;
    metrics.clientBytesRead = 100;
    metrics.clientBytesWritten = 200;
    const registry = createMetricsRegistry(metrics, table, () => state());
    const text = await registry.metrics();

    expect(valueOf(text, 'slotgate_commands_total{command="get"}')).toBe(3);
    expect(valueOf(text, 'slotgate_commands_total{command="config|get"}')).toBe(1);
    // Commands never seen are not emitted.
    expect(valueOf(text, 'slotgate_commands_total{command="set"}')).toBeUndefined();
    expect(valueOf(text, 'slotgate_local_errors_total')).toBe(2);
    expect(valueOf(text, 'slotgate_client_connections_refused_total')).toBe(1);
    expect(valueOf(text, 'slotgate_in_doubt_writes_total')).toBe(4);
    expect(valueOf(text, 'slotgate_client_read_bytes_total')).toBe(100);
    expect(valueOf(text, 'slotgate_client_written_bytes_total')).toBe(200);
    expect(valueOf(text, 'slotgate_client_connections')).toBe(4);
    expect(valueOf(text, 'slotgate_client_connections_accepted_total')).toBe(9);
    expect(valueOf(text, 'slotgate_redirects_moved_total')).toBe(5);
    expect(valueOf(text, 'slotgate_redirects_ask_total')).toBe(6);
    expect(valueOf(text, 'slotgate_parked_requests')).toBe(1);
    expect(valueOf(text, 'slotgate_parked_requests_total')).toBe(7);
    expect(valueOf(text, 'slotgate_retry_budget_expired_total')).toBe(2);
    expect(valueOf(text, 'slotgate_topology_refreshes_total')).toBe(11);
    expect(valueOf(text, 'slotgate_topology_refresh_failures_total')).toBe(1);
    expect(valueOf(text, 'slotgate_slot_map_changes_total')).toBe(2);
    expect(valueOf(text, 'slotgate_masters')).toBe(3);
    expect(valueOf(text, 'slotgate_backend_connections{role="master",health="up"}')).toBe(5);
    expect(valueOf(text, 'slotgate_backend_connections{role="master",health="idle"}')).toBe(1);
    expect(valueOf(text, 'slotgate_backend_connections{role="replica",health="down"}')).toBe(3);
    expect(valueOf(text, 'slotgate_tls_certificate_expiry_timestamp_seconds{certificate="tls_port"}')).toBe(1900000000);
    expect(valueOf(text, 'slotgate_tls_certificate_expiry_timestamp_seconds{certificate="backend"}')).toBeUndefined();
    expect(text).toContain('# TYPE slotgate_commands_total counter');
    expect(text).toContain('# TYPE slotgate_client_connections gauge');
    // Node's process metrics come with it.
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('publishes request latency as a histogram per command the cluster answered', async () => {
    const metrics = new ProxyMetrics(table.size);
    const get = table.get('get')!;
    metrics.latency.completed(get.id, performance.now() - 2); // 2 ms
    metrics.latency.completed(get.id, performance.now() - 2000); // 2 s
    await new Promise((resolve) => setImmediate(resolve));
    const text = await createMetricsRegistry(metrics, table, () => state()).metrics();
    const series = (suffix: string) => `slotgate_request_duration_seconds_${suffix}`;
    expect(text).toContain('# TYPE slotgate_request_duration_seconds histogram');
    // Wide margins: on a loaded machine the turn may end some milliseconds after the replies.
    expect(valueOf(text, `${series('bucket')}{le="0.001",command="get"}`)).toBe(0);
    expect(valueOf(text, `${series('bucket')}{le="0.25",command="get"}`)).toBe(1);
    expect(valueOf(text, `${series('bucket')}{le="1",command="get"}`)).toBe(1);
    expect(valueOf(text, `${series('bucket')}{le="2.5",command="get"}`)).toBe(2);
    expect(valueOf(text, `${series('bucket')}{le="+Inf",command="get"}`)).toBe(2);
    expect(valueOf(text, `${series('count')}{command="get"}`)).toBe(2);
    expect(valueOf(text, `${series('sum')}{command="get"}`)).toBeGreaterThan(2);
    // Commands with no timed reply are not emitted.
    expect(valueOf(text, `${series('count')}{command="set"}`)).toBeUndefined();
  });

  it('reports totals, not increments, on every scrape', async () => {
    const metrics = new ProxyMetrics(table.size);
    const get = table.get('get')!;
    let clients = 1;
    const registry = createMetricsRegistry(metrics, table, () => state({ clients }));
    metrics.commands[get.id] = 2;
    await registry.metrics();
    metrics.commands[get.id] = 5;
    clients = 0;
    const text = await registry.metrics();
    expect(valueOf(text, 'slotgate_commands_total{command="get"}')).toBe(5);
    expect(valueOf(text, 'slotgate_client_connections')).toBe(0);
  });
});
