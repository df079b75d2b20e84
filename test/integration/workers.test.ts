import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { freePort } from '../helpers/free-port.ts';
import { killSlotgate, nextLogLine, spawnSlotgate } from '../helpers/spawn-slotgate.ts';
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

/** A fresh client's answer to AUTH `password`: OK, or the error's first word. */
async function freshAuth(to: number, password: string): Promise<string> {
  const client = await RawClient.open(to);
  try {
    const reply = await client.command('AUTH', password);
    return reply instanceof Error ? reply.message.split(' ')[0] : String(reply);
  } finally {
    client.close();
  }
}

/** What `count` fresh clients (spread over the workers by the kernel) answer to AUTH `password`. */
async function freshAuths(to: number, password: string, count = 8): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, () => freshAuth(to, password)));
}

it('reloads its config file on SIGHUP in every worker, keeping authenticated clients; an invalid file changes nothing', async () => {
  const configFile = join(socketDir, 'slotgate.yaml');
  const reloadPort = await freePort();
  const yaml = (password: string, extra = '') =>
    `bind: 127.0.0.1\nport: ${reloadPort}\nworkers: 2\nseeds: [${cluster.seeds.join(', ')}]\npassword: "${password}"\n${extra}`;
  writeFileSync(configFile, yaml('pw-before-7f3a'));
  const reloading = await spawnSlotgate(['--config', configFile], 'workers listening');
  let output = '';
  reloading.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.open(reloadPort)));
  try {
    const pids = new Set<string>();
    for (const client of clients) {
      expect(await client.command('AUTH', 'pw-before-7f3a')).toBe('OK');
      pids.add(/process_id:(\d+)/.exec(String(await client.command('INFO', 'proxy')))?.[1] ?? '');
    }
    expect(pids.size).toBe(2); // so both workers are shown to keep their authenticated clients

    // A new password, and a port, which only a restart can change.
    writeFileSync(configFile, yaml('pw-after-91c2').replace(`port: ${reloadPort}`, `port: ${reloadPort + 1}`));
    const reloaded = nextLogLine(reloading, 'configuration reloaded');
    const warned = nextLogLine(reloading, 'configuration reload: these settings changed but need a restart; they keep their old values');
    reloading.kill('SIGHUP');
    expect(JSON.parse(await reloaded).changed).toEqual({ password: '(changed)' });
    expect(JSON.parse(await warned).needsRestart).toEqual(['port']);
    // The workers reload on the signal the supervisor forwards them, a moment after it logged.
    await expect.poll(() => freshAuths(reloadPort, 'pw-after-91c2'), { timeout: 5000, interval: 100 }).toEqual(Array(8).fill('OK'));
    expect(await freshAuths(reloadPort, 'pw-before-7f3a')).toEqual(Array(8).fill('WRONGPASS'));
    for (const [i, client] of clients.entries()) {
      expect(await client.command('SET', `reload:${i}`, String(i))).toBe('OK');
      expect(await client.command('GET', `reload:${i}`)).toBe(String(i));
    }

    // Not valid: logged once, by the supervisor, and the password stays the one in force.
    writeFileSync(configFile, yaml('pw-invalid-55d0', 'maxClients: lots\n'));
    const failed = nextLogLine(reloading, 'configuration reload failed; keeping the running settings');
    reloading.kill('SIGHUP');
    expect(JSON.parse(await failed).err).toMatch(/maxClients must be a whole number/);
    expect(await freshAuths(reloadPort, 'pw-invalid-55d0')).toEqual(Array(8).fill('WRONGPASS'));
    expect(await freshAuths(reloadPort, 'pw-after-91c2')).toEqual(Array(8).fill('OK'));
    expect(await clients[0].command('PING')).toBe('PONG');
    expect(output.match(/configuration reload/g)).toHaveLength(3);

    // A worker that dies now comes back with what the supervisor runs: the old port, the reloaded
    // password, though the file is invalid and names another port.
    const victim = Number(/process_id:(\d+)/.exec(String(await clients[0].command('INFO', 'proxy')))?.[1]);
    const restarted = nextLogLine(reloading, 'worker exited; restarting it');
    process.kill(victim, 'SIGKILL');
    await restarted;
    const freshPids = async (): Promise<number> => {
      const fresh = await Promise.all(Array.from({ length: 12 }, () => RawClient.open(reloadPort)));
      try {
        const seen = new Set<string>();
        for (const client of fresh) {
          if ((await client.command('AUTH', 'pw-after-91c2')) !== 'OK') return 0;
          seen.add(/process_id:(\d+)/.exec(String(await client.command('INFO', 'proxy')))?.[1] ?? '');
        }
        return seen.has(String(victim)) ? 0 : seen.size;
      } finally {
        for (const client of fresh) client.close();
      }
    };
    await expect.poll(freshPids, { timeout: 15_000, interval: 250 }).toBe(2);
    expect(output).not.toMatch(/pw-before|pw-after|pw-invalid/);
  } finally {
    for (const client of clients) client.close();
    killSlotgate(reloading);
  }
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
