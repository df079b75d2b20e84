import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { RawClient } from '../helpers/raw-client.ts';

let cluster: RedisClusterHandle;
let slotgate: ChildProcess;
let port: number;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      server.close(() => resolve(address.port));
    });
  });
}

beforeAll(async () => {
  cluster = await startRedisCluster();
  port = await freePort();
  slotgate = spawn(
    process.execPath,
    ['src/main.ts', '--bind', '127.0.0.1', '--port', String(port), '--seeds', cluster.seeds.join(','), '--workers', '2', '--log-level', 'warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const probe = await RawClient.open(port);
      const pong = await probe.command('PING');
      probe.close();
      if (pong === 'PONG') break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});

afterAll(async () => {
  if (slotgate.exitCode === null) slotgate.kill('SIGKILL');
  await cluster?.stop();
});

it('spreads clients over worker processes sharing one port, with ids unique across them', async () => {
  const clients = await Promise.all(Array.from({ length: 24 }, () => RawClient.open(port)));
  const pids = new Set<string>();
  const ids = new Set<number>();
  for (const client of clients) {
    const info = String(await client.command('INFO', 'proxy'));
    pids.add(/process_id:(\d+)/.exec(info)?.[1] ?? '');
    ids.add((await client.command('CLIENT', 'ID')) as number);
    expect(await client.command('SET', `worker:${ids.size}`, 'x')).toBe('OK');
  }
  expect(pids.size).toBe(2);
  expect(ids.size).toBe(clients.length);
  for (const client of clients) client.close();
});

it('stops every worker on SIGTERM', async () => {
  const exited = new Promise<number | null>((resolve) => slotgate.once('exit', (code) => resolve(code)));
  slotgate.kill('SIGTERM');
  expect(await exited).toBe(0);
  await expect(RawClient.open(port)).rejects.toThrow();
});
