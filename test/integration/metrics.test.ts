import { expect, it } from 'vitest';
import { nodeCommand, ownerOfSlot } from '../helpers/cluster-admin.ts';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';
import { freePort } from '../helpers/free-port.ts';
import { metricValue, scrapeMetrics } from '../helpers/metric-value.ts';
import { RawClient } from '../helpers/raw-client.ts';

const metricsPort = await freePort();
const setup = clusterWithProxy({ metricsPort, connectionsPerNode: 2, topologyRefreshIntervalSeconds: 1 });

it('serves /metrics on metricsPort with commands, errors, clients and backend health', async () => {
  expect(setup.proxy.metricsPort).toBe(metricsPort);
  const client = await RawClient.open(setup.proxy.port);
  try {
    for (let i = 0; i < 5; i++) await client.command('GET', `metrics:${i}`);
    expect(String(await client.command('SINTER', 'a', 'b'))).toMatch(/CROSSSLOT/);
    expect(String(await client.command('NOSUCHCOMMAND'))).toMatch(/unknown command/);

    const { status, text } = await scrapeMetrics(metricsPort);
    expect(status).toBe(200);
    expect(metricValue(text, 'slotgate_commands_total{command="get"}')).toBe(5);
    expect(metricValue(text, 'slotgate_commands_total{command="sinter"}')).toBe(1);
    expect(metricValue(text, 'slotgate_commands_total{command="set"}')).toBeUndefined();
    expect(metricValue(text, 'slotgate_local_errors_total')).toBe(2);
    expect(metricValue(text, 'slotgate_client_connections')).toBe(1);
    expect(metricValue(text, 'slotgate_client_connections_accepted_total')).toBe(1);
    expect(metricValue(text, 'slotgate_client_read_bytes_total')).toBeGreaterThan(0);
    expect(metricValue(text, 'slotgate_client_written_bytes_total')).toBeGreaterThan(0);
    expect(metricValue(text, 'slotgate_masters')).toBe(3);
    // Three masters, two connections each: the GETs brought some up, the others are not needed yet.
    const master = ['up', 'idle', 'suspect', 'down'].map((health) => metricValue(text, `slotgate_backend_connections{role="master",health="${health}"}`) ?? 0);
    expect(master.reduce((sum, count) => sum + count, 0)).toBe(6);
    expect(master[0]).toBeGreaterThan(0);
    expect(master[3]).toBe(0);
    expect(text).toContain('process_resident_memory_bytes');
    // Timed: the GETs the cluster answered; not the errors slotgate made itself.
    expect(metricValue(text, 'slotgate_request_duration_seconds_count{command="get"}')).toBe(5);
    expect(metricValue(text, 'slotgate_request_duration_seconds_bucket{le="10",command="get"}')).toBe(5);
    expect(metricValue(text, 'slotgate_request_duration_seconds_count{command="sinter"}')).toBeUndefined();
  } finally {
    client.close();
  }
});

it('answers 404 anywhere but /metrics, /healthz and /readyz', async () => {
  expect((await scrapeMetrics(metricsPort, '/')).status).toBe(404);
});

it('is live and ready once the slot map covers every slot, and says ready in the metrics too', async () => {
  expect(await scrapeMetrics(metricsPort, '/healthz')).toEqual({ status: 200, text: 'ok\n' });
  expect(await scrapeMetrics(metricsPort, '/readyz')).toEqual({ status: 200, text: 'ready\n' });
  const { text } = await scrapeMetrics(metricsPort);
  expect(metricValue(text, 'slotgate_ready')).toBe(1);
  expect(metricValue(text, 'slotgate_slots_served')).toBe(16384);
});

it('is not ready while a slot has no master, and ready again once it has one', async () => {
  const slot = 1234;
  const seed = setup.cluster.seeds[0];
  const owner = await ownerOfSlot(seed, slot);
  if (owner === undefined) throw new Error(`slot ${slot} has no owner to start with`);
  const waitFor = async (status: number): Promise<string> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = await scrapeMetrics(metricsPort, '/readyz');
      if (answer.status === status || Date.now() > deadline) return `${answer.status} ${answer.text}`;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  // Every node forgets the slot's owner, so the map slotgate takes has a hole.
  for (const node of setup.cluster.seeds) await nodeCommand(node, 'CLUSTER', 'DELSLOTS', slot);
  expect(await waitFor(503)).toBe('503 1 of 16384 slots have no known master\n');
  await nodeCommand(owner.master, 'CLUSTER', 'ADDSLOTS', slot);
  expect(await waitFor(200)).toBe('200 ready\n');
});
