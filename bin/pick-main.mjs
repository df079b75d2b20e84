// Which file bin/slotgate.mjs runs: the compiled dist/main.js when it is up to date, else
// src/main.ts. Kept apart from slotgate.mjs so the decision can be unit-tested. Plain JavaScript
// that old Node versions can parse, like slotgate.mjs, which imports it before choosing a Node.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The newest modification time (ms) of any file under `dir`, searched recursively;
 * -Infinity when there is none (no files, or no such directory: an image may ship dist/ alone).
 * By hand rather than readdirSync's `recursive`, which older Node versions lack.
 */
export function newestFileMtimeMs(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return -Infinity;
  }
  let newest = -Infinity;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestFileMtimeMs(path) : mtimeMs(path);
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

/** A file's modification time in ms, or -Infinity if it is gone (or a dangling link). */
function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -Infinity;
  }
}

/**
 * The main module to run from the slotgate directory `root`:
 *   - dist/main.js when it exists and is not older than any file under src/ (the build writes
 *     every output afresh, so dist/main.js dates the whole build);
 *   - otherwise src/main.ts, with `stale` true when a dist/main.js was there but out of date, so
 *     the caller can say so: running it would mean running code other than what src/ says.
 * Returns { main: absolute path, stale: boolean }.
 */
export function pickMain(root) {
  const distMain = join(root, 'dist', 'main.js');
  const srcMain = join(root, 'src', 'main.ts');
  const built = mtimeMs(distMain);
  if (built === -Infinity) return { main: srcMain, stale: false };
  if (built >= newestFileMtimeMs(join(root, 'src'))) return { main: distMain, stale: false };
  return { main: srcMain, stale: true };
}
