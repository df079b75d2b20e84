import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { freePort } from '../helpers/free-port.ts';
import { killSlotgate, spawnSlotgate } from '../helpers/spawn-slotgate.ts';
import { metricValue, scrapeMetrics } from '../helpers/metric-value.ts';

let cluster: RedisClusterHandle;
let slotgate: ChildProcess;
let port: number;
let metricsPort: number;
const socketDir = mkdtempSync(join(tmpdir(), 'slotgate-workers-'));
const unixSocket = join(socketDir, 'slotgate.sock');

beforeAll(async () => {
  cluster = await startRedisCluster();
  port = await freePort();
  metricsPort = await freePort();
  slotgate = await spawnSlotgate(
    ['--bind', '127.0.0.1', '--port', String(port), '--seeds', cluster.seeds.join(','), '--workers', '2', '--metrics-port', String(metricsPort), '--unix-socket', unixSocket, '--unix-socket-perm', '700'],
    'workers listening',
  );
});

afterAll(async () => {
  killSlotgate(slotgate);
  await cluster?.stop();
  rmSync(socketDir, { recursive: true, force: true });
});

it('spreads clients over worker processes sharing one port, with ids unique across them', async () => {
  const clients = await Promise.all(Array.from({ length: 24 }, () => RawClient.open(port)));
  const pids = new Set<string>();
  const ids = new Set<number>();
  try {
    for (const client of clients) {
      const info = String(await client.command('INFO', 'proxy'));
      pids.add(/process_id:(\d+)/.exec(info)?.[1] ?? '');
      ids.add((await client.command('CLIENT', 'ID')) as number);
      expect(await client.command('SET', `worker:${ids.size}`, 'x')).toBe('OK');
    }
  } finally {
    for (const client of clients) client.close();
  }
  expect(pids.size).toBe(2);
  expect(ids.size).toBe(clients.length);
});

it('hands the Unix socket\'s clients to the workers in turn; the supervisor removes the file on stop', async () => {
  expect(statSync(unixSocket).mode & 0o777).toBe(0o700);
  const clients = await Promise.all(Array.from({ length: 6 }, () => RawClient.open(unixSocket)));
  const pids = new Set<string>();
  try {
    for (const [i, client] of clients.entries()) {
      pids.add(/process_id:(\d+)/.exec(String(await client.command('INFO', 'proxy')))?.[1] ?? '');
      expect(await client.command('SET', `unix:${i}`, String(i))).toBe('OK');
      expect(await client.command('MGET', 'unix:0', `unix:${i}`)).toEqual(['0', String(i)]);
      expect(String(await client.command('CLIENT', 'INFO'))).toContain(`addr=${unixSocket}:0 `);
    }
  } finally {
    for (const client of clients) client.close();
  }
  expect(pids.size).toBe(2);
});

it('serves /metrics from the supervisor, summing both workers', async () => {
  // The tests above sent 24 + 6 SETs and 24 CLIENT IDs from 24 + 6 clients, spread over both workers.
  const { status, text } = await scrapeMetrics(metricsPort);
  expect(status).toBe(200);
  expect(metricValue(text, 'slotgate_workers_reporting')).toBe(2);
  expect(metricValue(text, 'slotgate_commands_total{command="set"}')).toBe(30);
  expect(metricValue(text, 'slotgate_commands_total{command="client|id"}')).toBe(24);
  expect(metricValue(text, 'slotgate_client_connections_accepted_total')).toBe(30);
  expect(metricValue(text, 'slotgate_request_duration_seconds_count{command="set"}')).toBe(30);
  expect(metricValue(text, 'slotgate_request_duration_seconds_bucket{le="+Inf",command="set"}')).toBe(30);
  expect(metricValue(text, 'slotgate_ready')).toBe(2);
  expect(await scrapeMetrics(metricsPort, '/readyz')).toEqual({ status: 200, text: 'ready (2 workers)\n' });
  expect((await scrapeMetrics(metricsPort, '/healthz')).status).toBe(200);
});

it('stops every worker on SIGTERM, at once though a Unix-socket client is still connected', async () => {
  const idle = await RawClient.open(unixSocket);
  expect(await idle.command('PING')).toBe('PONG');
  const exited = new Promise<number | null>((resolve) => slotgate.once('exit', (code) => resolve(code)));
  const stoppedAt = Date.now();
  slotgate.kill('SIGTERM');
  expect(await exited).toBe(0);
  // Not the 10 s shutdown timeout: the supervisor does not wait for the clients it handed over.
  expect(Date.now() - stoppedAt).toBeLessThan(5000);
  idle.close();
  await expect(RawClient.open(port)).rejects.toThrow();
  expect(existsSync(unixSocket)).toBe(false);
});
