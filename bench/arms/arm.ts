import type { ChildProcess } from 'node:child_process';
/** What the bench needs of each arm, and the small helpers the arms share. */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArmName } from '../options.ts';
import { pings } from '../../test/helpers/ping.ts';

export const HOST = '127.0.0.1';

export interface Arm {
  name: ArmName;
  /** redis-benchmark's arguments saying where to connect (and --cluster for the direct arm). */
  target: string[];
  /** The same for the report, with the port as a placeholder: "-h 127.0.0.1 -p <slotgate>". */
  targetPattern: string;
  /** redis-benchmark --cluster mode: "{tag}" in MGET's keys becomes a per-node hash tag. */
  clusterMode: boolean;
  /** Root pids of the proxy (CPU counted with their descendants); empty for the direct arm. */
  proxyPids(): number[];
  /** The redis-server pids behind this arm. */
  backendPids(): number[];
  /** One line for the report: what this arm is. */
  description: string;
  /** Stops what this arm started (not a cluster it shares). Idempotent. */
  stop(): Promise<void>;
}

/** A free port on 127.0.0.1 (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: HOST, port: 0 }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}


/**
 * Waits until the port (or the Unix socket at a path) answers PING; throws `why()` if `exited()`
 * turns true first or the time runs out.
 */
export async function waitForPing(target: number | string, exited: () => boolean, why: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`exited during startup; ${why()}`);
    if (await pings(target)) return;
    if (Date.now() > deadline) throw new Error(`no PONG on ${typeof target === 'number' ? 'port' : 'socket'} ${target} within ${timeoutMs / 1000} s; ${why()}`);
    await sleep(100);
  }
}

export function tailOf(text: string, lines = 12): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** SIGTERM, then SIGKILL if `child` has not exited after 10 s; resolves once it has. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}
