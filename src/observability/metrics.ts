import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { CommandTable } from '../commands/command-table.ts';
import type { ProxyInfo } from '../proxy/split/merge-info.ts';
import { LATENCY_BUCKETS_SECONDS, RequestLatency } from './request-latency.ts';

/**
 * Counters the data path bumps itself, as plain numbers: an increment costs a few nanoseconds,
 * against about half a microsecond for a prom-client call, so nothing from prom-client runs per
 * command. They are read and published only when /metrics is scraped (createMetricsRegistry).
 *
 * Facts already counted elsewhere for INFO (redirects, parked requests, refreshes) are not counted
 * twice: the registry reads them from there (MetricsState).
 */
export class ProxyMetrics {
  /** Requests per command, indexed by CommandSpec.id (subcommands have their own). */
  readonly commands: Float64Array;
  /** Clients turned away at maxClients. */
  clientsRefused = 0;
  /** Requests slotgate answered with an error itself (CROSSSLOT, unknown command, refused …). */
  localErrors = 0;
  /** Writes (or parts of split writes) whose connection died with them in flight. */
  inDoubtWrites = 0;
  /** Bytes read from clients, one add per read. */
  clientBytesRead = 0;
  /** Bytes written to clients, one add per flush. */
  clientBytesWritten = 0;
  /** How long requests the cluster answered took, per command. */
  readonly latency: RequestLatency;

  constructor(commandCount: number) {
    this.commands = new Float64Array(commandCount);
    this.latency = new RequestLatency(commandCount);
  }
}

export type BackendHealth = 'up' | 'idle' | 'suspect' | 'down';
export const BACKEND_HEALTHS: readonly BackendHealth[] = ['up', 'idle', 'suspect', 'down'];

/** Backend connections of one role by health. */
export type HealthCounts = Record<BackendHealth, number>;

/** What the registry reads at scrape time besides ProxyMetrics. */
export interface MetricsState {
  /** INFO's Proxy section: clients, redirects, parked requests. */
  info: ProxyInfo;
  clientsAccepted: number;
  topology: { refreshes: number; failures: number; mapChanges: number };
  backendConnections: { master: HealthCounts; replica: HealthCounts };
  /** Slots with a known master, of 16384. */
  slotsServed: number;
  /** Serving every slot and not shutting down (what /readyz says). */
  ready: boolean;
  /** When each certificate in use expires, in seconds since the epoch, by what it is for. */
  tlsExpiries: ReadonlyMap<string, number>;
}

type Scalar = { name: string; help: string; kind: 'counter' | 'gauge'; value(metrics: ProxyMetrics, state: MetricsState): number };

/** Every unlabelled metric: name, meaning, and where its value comes from. */
const scalars: Scalar[] = [
  { name: 'slotgate_client_connections', kind: 'gauge', help: 'Client connections open now.', value: (_, s) => s.info.clients },
  { name: 'slotgate_client_connections_accepted_total', kind: 'counter', help: 'Client connections accepted.', value: (_, s) => s.clientsAccepted },
  { name: 'slotgate_client_connections_refused_total', kind: 'counter', help: 'Client connections refused at maxClients.', value: (m) => m.clientsRefused },
  { name: 'slotgate_client_read_bytes_total', kind: 'counter', help: 'Bytes read from clients.', value: (m) => m.clientBytesRead },
  { name: 'slotgate_client_written_bytes_total', kind: 'counter', help: 'Bytes written to clients.', value: (m) => m.clientBytesWritten },
  {
    name: 'slotgate_local_errors_total',
    kind: 'counter',
    help: 'Requests slotgate answered with an error itself (CROSSSLOT, unknown command, wrong arity, refused command ...).',
    value: (m) => m.localErrors,
  },
  { name: 'slotgate_redirects_moved_total', kind: 'counter', help: 'MOVED redirects followed.', value: (_, s) => s.info.redirectsMoved },
  { name: 'slotgate_redirects_ask_total', kind: 'counter', help: 'ASK redirects followed.', value: (_, s) => s.info.redirectsAsk },
  { name: 'slotgate_parked_requests', kind: 'gauge', help: 'Requests waiting now for a node to serve them.', value: (_, s) => s.info.parkedNow },
  { name: 'slotgate_parked_requests_total', kind: 'counter', help: 'Requests parked to be retried (failover, migration, TRYAGAIN).', value: (_, s) => s.info.parkedTotal },
  {
    name: 'slotgate_retry_budget_expired_total',
    kind: 'counter',
    help: 'Parked requests that failed because no node served them within retryBudgetMs.',
    value: (_, s) => s.info.retryBudgetExpired,
  },
  {
    name: 'slotgate_in_doubt_writes_total',
    kind: 'counter',
    help: 'Writes failed because their connection died with them in flight (may or may not have been applied).',
    value: (m) => m.inDoubtWrites,
  },
  { name: 'slotgate_topology_refreshes_total', kind: 'counter', help: 'Slot maps read from the cluster.', value: (_, s) => s.topology.refreshes },
  { name: 'slotgate_topology_refresh_failures_total', kind: 'counter', help: 'Topology refreshes that got no agreed slot map.', value: (_, s) => s.topology.failures },
  { name: 'slotgate_slot_map_changes_total', kind: 'counter', help: 'Slot maps taken that changed the routing.', value: (_, s) => s.topology.mapChanges },
  { name: 'slotgate_masters', kind: 'gauge', help: 'Masters serving slots in the current map.', value: (_, s) => s.info.masters },
  { name: 'slotgate_slots_served', kind: 'gauge', help: 'Slots with a known master, of 16384.', value: (_, s) => s.slotsServed },
  {
    name: 'slotgate_ready',
    kind: 'gauge',
    help: 'Processes serving every slot and not shutting down (1 for one process; summed over workers).',
    value: (_, s) => (s.ready ? 1 : 0),
  },
];

/**
 * A prom-client registry that publishes `metrics` and `readState()` when scraped, plus Node's
 * process metrics (collectDefaultMetrics). Every value is computed in a collect() callback, so the
 * registry costs nothing between scrapes. Counters are rebuilt from the totals on each scrape.
 */
export function createMetricsRegistry(metrics: ProxyMetrics, table: CommandTable, readState: () => MetricsState): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const scalar of scalars) {
    const configuration = { name: scalar.name, help: scalar.help, registers: [registry] };
    if (scalar.kind === 'gauge') {
      new Gauge({ ...configuration, collect() { this.set(scalar.value(metrics, readState())); } });
    } else {
      new Counter({ ...configuration, collect() { this.reset(); this.inc(scalar.value(metrics, readState())); } });
    }
  }
  new Counter({
    name: 'slotgate_commands_total',
    help: 'Requests received, by command (a subcommand as container|sub, e.g. config|get).',
    labelNames: ['command'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = metrics.commands;
      for (let id = 0; id < counts.length; id++) {
        if (counts[id] > 0) this.inc({ command: table.getById(id)?.name ?? String(id) }, counts[id]);
      }
    },
  });
  registry.registerMetric(latencyHistogram(metrics.latency, table));
  new Gauge({
    name: 'slotgate_backend_connections',
    help: 'Connections to cluster nodes by role and health (up, idle: not needed yet, suspect: lost or connecting, down: refused).',
    labelNames: ['role', 'health'],
    registers: [registry],
    collect() {
      const { master, replica } = readState().backendConnections;
      for (const health of BACKEND_HEALTHS) {
        this.set({ role: 'master', health }, master[health]);
        this.set({ role: 'replica', health }, replica[health]);
      }
    },
  });
  new Gauge({
    name: 'slotgate_tls_certificate_expiry_timestamp_seconds',
    help: 'When each certificate slotgate uses stops being valid (notAfter, seconds since the epoch): the TLS port\'s (tls_port) and the one it shows nodes (backend). Reloaded on SIGHUP.',
    labelNames: ['certificate'],
    registers: [registry],
    // Across workers, the one that has not yet taken a rotated certificate is the one to alert on.
    aggregator: 'min',
    collect() {
      this.reset();
      for (const [certificate, seconds] of readState().tlsExpiries) this.set({ certificate }, seconds);
    },
  });
  return registry;
}

/**
 * slotgate_request_duration_seconds{command}, built at scrape time from RequestLatency's counts.
 * prom-client's Histogram can only take observations one at a time, so this is a metric of our own
 * that hands the registry the series in the shape Histogram.get() does (which is also what the
 * supervisor's AggregatorRegistry sums across workers).
 */
function latencyHistogram(latency: RequestLatency, table: CommandTable): Metric {
  const name = 'slotgate_request_duration_seconds';
  const help = "Time from reading a request to writing its reply, for requests the cluster answered (not slotgate's own replies), by command.";
  const get = async () => {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (let id = 0; id < latency.sumsMs.length; id++) {
      const histogram = latency.histogramOf(id);
      if (histogram === null) continue;
      const command = table.getById(id)?.name ?? String(id);
      histogram.cumulative.forEach((count, slot) => {
        const le = slot < LATENCY_BUCKETS_SECONDS.length ? LATENCY_BUCKETS_SECONDS[slot] : '+Inf';
        values.push({ labels: { le, command }, value: count, metricName: `${name}_bucket` });
      });
      values.push({ labels: { command }, value: histogram.sumSeconds, metricName: `${name}_sum` });
      values.push({ labels: { command }, value: histogram.cumulative[histogram.cumulative.length - 1], metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  };
  return { name, help, type: 'histogram', aggregator: 'sum', get, reset() {} } as unknown as Metric;
}
