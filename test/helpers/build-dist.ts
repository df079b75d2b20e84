import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `npm run build` (tsc -p tsconfig.build.json: src/ to dist/) and returns the absolute path of
 * dist/main.js, for tests and the bench that must measure slotgate as production runs it: compiled,
 * without the type stripper that running src/main.ts loads. Throws with tsc's output if the build
 * fails. tsc is run by this Node (24) directly rather than through npm or PATH, which may hold an
 * older one.
 */
export function buildDist(): string {
  const tsc = join(repoRoot, 'node_modules/.bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  if (run.error !== undefined || run.status !== 0) {
    const how = run.error?.message ?? (run.signal !== null ? `killed by ${run.signal}` : `exit status ${run.status}`);
    throw new Error(`building dist/ failed (tsc -p tsconfig.build.json: ${how}):\n${`${run.stdout ?? ''}${run.stderr ?? ''}`.trim()}`);
  }
  return join(repoRoot, 'dist/main.js');
}
