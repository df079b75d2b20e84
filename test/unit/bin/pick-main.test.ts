import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newestFileMtimeMs, pickMain } from '../../../bin/pick-main.mjs';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'slotgate-pick-main-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Writes root/<path> and sets its modification time to `seconds` (since the epoch). */
function fileAt(path: string, seconds: number): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, '');
  utimesSync(full, seconds, seconds);
}

const srcMain = (): string => join(root, 'src/main.ts');
const distMain = (): string => join(root, 'dist/main.js');

describe('pickMain', () => {
  it('runs src/main.ts, without calling it stale, when there is no build', () => {
    fileAt('src/main.ts', 1000);
    expect(pickMain(root)).toEqual({ main: srcMain(), stale: false });
  });

  it('runs dist/main.js when it is newer than every file under src/', () => {
    fileAt('src/main.ts', 1000);
    fileAt('src/proxy/session.ts', 1100);
    fileAt('dist/main.js', 1200);
    expect(pickMain(root)).toEqual({ main: distMain(), stale: false });
  });

  it('runs dist/main.js when it is exactly as old as the newest source (not older)', () => {
    fileAt('src/main.ts', 1000);
    fileAt('dist/main.js', 1000);
    expect(pickMain(root).main).toBe(distMain());
  });

  it('runs src/main.ts and reports a stale build when a file deep under src/ changed after it', () => {
    fileAt('src/main.ts', 1000);
    fileAt('dist/main.js', 1200);
    fileAt('src/proxy/commands/deep/changed.ts', 1300);
    expect(pickMain(root)).toEqual({ main: srcMain(), stale: true });
  });

  it('looks at dist/main.js only, not at other files under dist/', () => {
    fileAt('src/main.ts', 1000);
    fileAt('dist/main.js', 900);
    fileAt('dist/version.js', 1500);
    expect(pickMain(root)).toEqual({ main: srcMain(), stale: true });
  });

  it('runs dist/main.js when there is no src/ at all (an image that ships dist/ only)', () => {
    fileAt('dist/main.js', 1200);
    expect(pickMain(root)).toEqual({ main: distMain(), stale: false });
  });
});

describe('newestFileMtimeMs', () => {
  it('is the newest file time anywhere below the directory', () => {
    fileAt('a.ts', 1000);
    fileAt('x/y/z/b.ts', 3000);
    fileAt('x/c.ts', 2000);
    expect(newestFileMtimeMs(root)).toBe(3_000_000);
  });

  it('is -Infinity for a missing or empty directory', () => {
    expect(newestFileMtimeMs(join(root, 'missing'))).toBe(-Infinity);
    mkdirSync(join(root, 'empty'));
    expect(newestFileMtimeMs(join(root, 'empty'))).toBe(-Infinity);
  });
});
