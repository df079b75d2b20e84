import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { loadSettings } from '../../../src/config/load-settings.ts';
import type { Settings } from '../../../src/config/settings.ts';
import { SettingsReloader } from '../../../src/server/settings-reloader.ts';

const dir = mkdtempSync(join(tmpdir(), 'slotgate-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A logger that keeps its lines as "level message {fields}". */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (fields: object, message: string) => lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

/** A reloader over a YAML file that the test rewrites, as an operator would. */
function reloaderOver(yaml: string, quiet = false) {
  const path = join(dir, `slotgate-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, yaml);
  const argv = ['--config', path];
  const { logger, lines } = recordingLogger();
  const applied: Settings[] = [];
  const reloader = new SettingsReloader({ running: loadSettings(argv, {}), load: () => loadSettings(argv, {}), logger, quiet });
  return { reloader, lines, applied, rewrite: (text: string) => writeFileSync(path, text), start: () => reloader.start((next) => applied.push(next)) };
}

it('applies the live settings, names those that need a restart, and never logs a password', () => {
  const { lines, applied, rewrite, start, reloader } = reloaderOver('password: "first-secret"\nport: 7380\n');
  start();
  rewrite('password: "second-secret"\nport: 7400\nmaxClients: 3\n');
  reloader.reload();
  expect(applied).toHaveLength(1);
  expect(applied[0]).toMatchObject({ password: 'second-secret', maxClients: 3, port: 7380 });
  expect(lines).toEqual([
    'warn configuration reload: these settings changed but need a restart; they keep their old values {"needsRestart":["port"]}',
    'info configuration reloaded {"changed":{"maxClients":{"from":50000,"to":3},"password":"(changed)"}}',
  ]);
});

it('keeps the running settings when the file is no longer valid, and diffs against them next time', () => {
  const { lines, applied, rewrite, start, reloader } = reloaderOver('maxClients: 5\n');
  start();
  rewrite('maxClients: many\n');
  reloader.reload();
  expect(applied).toEqual([]);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error configuration reload failed; keeping the running settings .*maxClients must be a whole number/);
  rewrite('maxClients: 6\n');
  reloader.reload();
  expect(lines[1]).toBe('info configuration reloaded {"changed":{"maxClients":{"from":5,"to":6}}}');
});

it('does not echo a secret that fails validation', () => {
  const { lines, rewrite, start, reloader } = reloaderOver('password: "ok"\n');
  start();
  rewrite('password: " leaked-secret"\n');
  reloader.reload();
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain('starts or ends with a blank');
  expect(lines[0]).not.toContain('leaked-secret');
});

it('holds a reload asked for while starting until start()', () => {
  const { applied, rewrite, start, reloader } = reloaderOver('timeout: 1\n');
  rewrite('timeout: 2\n');
  reloader.reload();
  expect(applied).toEqual([]);
  start();
  expect(applied.map((settings) => settings.timeout)).toEqual([2]);
});

it('logs at debug only in a worker, whose supervisor has logged the reload', () => {
  const { lines, rewrite, start, reloader } = reloaderOver('timeout: 1\n', true);
  start();
  rewrite('timeout: 2\nport: 1\n');
  reloader.reload();
  expect(lines.map((line) => line.split(' ')[0])).toEqual(['debug', 'debug']);
});

it('takes settings handed to it (a worker\'s, from its supervisor) instead of reading them, held until it starts', () => {
  const { reloader, applied } = reloaderOver('maxClients: 5\n');
  const handed = { ...loadSettings([], {}), maxClients: 9 };
  reloader.reload(handed);
  expect(applied).toEqual([]);
  reloader.start((next) => applied.push(next));
  expect(applied.map((settings) => settings.maxClients)).toEqual([9]);
});

it('does nothing once stopped: shutdown has begun', () => {
  const { reloader, applied, rewrite, start } = reloaderOver('maxClients: 5\n');
  start();
  reloader.stop();
  rewrite('maxClients: 6\n');
  reloader.reload();
  expect(applied).toEqual([]);
});
