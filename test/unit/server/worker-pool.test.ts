import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { defaultSettings } from '../../../src/config/settings.ts';
import { startWorkers } from '../../../src/server/worker-pool.ts';

const dir = mkdtempSync(join(tmpdir(), 'slotgate-pool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in for main.ts as a worker: the spawns listed in `failing` (1-based) exit before they
 * listen; the others say they listen and stay up until told to stop.
 */
function fakeWorker(failing: number[]): string {
  const counter = join(dir, `spawns-${failing.join('-')}`);
  writeFileSync(counter, '0');
  const script = join(dir, `worker-${failing.join('-')}.mjs`);
  writeFileSync(
    script,
    `import { readFileSync, writeFileSync } from 'node:fs';
const spawn = Number(readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;
writeFileSync(${JSON.stringify(counter)}, String(spawn));
if (${JSON.stringify(failing)}.includes(spawn)) process.exit(1);
process.send({ listening: 1 });
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`,
  );
  return script;
}

it('tries a failed restart again until the worker is back', async () => {
  // Spawn 1 serves; after it is killed, spawns 2 and 3 fail to start, spawn 4 serves.
  const script = fakeWorker([2, 3]);
  const pool = await startWorkers(1, script, [], () => defaultSettings, pino({ level: 'silent' }));
  try {
    const [first] = pool.serving();
    first.kill('SIGKILL');
    await expect.poll(() => pool.serving().some((child) => child.pid !== first.pid), { timeout: 15_000, interval: 100 }).toBe(true);
    expect(readFileSync(join(dir, 'spawns-2-3'), 'utf8')).toBe('4');
  } finally {
    await pool.close();
  }
}, 20_000);
