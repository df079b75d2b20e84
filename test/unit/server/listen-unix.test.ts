import { existsSync, linkSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { listenUnix } from '../../../src/server/listen-unix.ts';

let dir: string;
const servers: Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slotgate-unix-'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

function server(): Server {
  const made = createServer((socket) => {
    socket.on('error', () => {}); // the probe of a live socket hangs up at once
    socket.end('hello');
  });
  servers.push(made);
  return made;
}

function greeting(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    connect({ path })
      .on('data', (chunk) => (text += chunk))
      .on('end', () => resolve(text))
      .on('error', reject);
  });
}

it('listens on the path with the permission bits asked for, and removes the file on close', async () => {
  const path = join(dir, 'slotgate.sock');
  const listening = server();
  await listenUnix(listening, path, '700');
  expect(statSync(path).mode & 0o777).toBe(0o700);
  expect(await greeting(path)).toBe('hello');
  await new Promise((resolve) => listening.close(resolve));
  expect(existsSync(path)).toBe(false);
});

it('replaces a socket file that nobody answers on (left by a process that was killed)', async () => {
  const path = join(dir, 'slotgate.sock');
  // A hard link keeps a socket file after its listener closes, as a SIGKILLed process leaves one.
  const first = server();
  await listenUnix(first, join(dir, 'first.sock'), '');
  linkSync(join(dir, 'first.sock'), path);
  await new Promise((resolve) => first.close(resolve));
  await listenUnix(server(), path, '');
  expect(await greeting(path)).toBe('hello');
});

it('refuses a path another process is listening on, and leaves it working', async () => {
  const path = join(dir, 'slotgate.sock');
  await listenUnix(server(), path, '');
  await expect(listenUnix(server(), path, '')).rejects.toThrow(`another process is listening on ${path}`);
  expect(await greeting(path)).toBe('hello');
});

it('refuses to remove a file that is not a socket', async () => {
  const path = join(dir, 'important.txt');
  writeFileSync(path, 'data');
  await expect(listenUnix(server(), path, '')).rejects.toThrow('exists and is not a socket');
  expect(existsSync(path)).toBe(true);
});
