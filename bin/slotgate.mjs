#!/usr/bin/env node
// The `slotgate` command. It runs the compiled dist/main.js (`npm run build`) when that is up to
// date, and otherwise src/main.ts through Node 24's type stripping. Both work; dist/ is for
// production, as the stripper Node loads for .ts files stays resident (some 25 MB of RSS).
//
// The `node` this file was started with may be older than 24 (a system Node 20, say). The project
// pins Node 24 as a devDependency, so then we run slotgate with that binary instead. This file
// (and pick-main.mjs) must itself stay plain JavaScript that old Node versions can parse.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pickMain } from './pick-main.mjs';

const requiredMajor = 24;
const major = Number(process.versions.node.split('.')[0]);

// Relative to this file's real location (Node resolves symlinks such as npx's), not to the cwd.
const root = fileURLToPath(new URL('..', import.meta.url));
const { main, stale } = pickMain(root);
if (stale) {
  // Running the old build would run code other than what src/ says; say why we don't, on stderr
  // (stdout carries the logs).
  process.stderr.write('slotgate: dist/ is older than src/, so running src/main.ts; `npm run build` refreshes dist/\n');
}

if (major >= requiredMajor) {
  await import(pathToFileURL(main).href);
} else {
  runWithPinnedNode(main);
}

function runWithPinnedNode(main) {
  const pinnedNode = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
  if (!existsSync(pinnedNode)) {
    process.stderr.write(
      `slotgate: needs Node ${requiredMajor} or newer, but this is Node ${process.versions.node} and ` +
        `${pinnedNode} is missing; run \`npm ci\` in the slotgate directory, or use Node ${requiredMajor}\n`,
    );
    process.exit(1);
  }

  const child = spawn(pinnedNode, [main, ...process.argv.slice(2)], { stdio: 'inherit' });

  // A signal sent to this process alone (kill, a supervisor) must reach slotgate so it can drain.
  // From a terminal, slotgate gets Ctrl-C directly as well; main.ts ignores the quick repeat.
  // While a handler is installed this process doesn't die of the signal; it waits for the child.
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of forwarded) process.on(signal, forward);

  child.on('error', (err) => {
    process.stderr.write(`slotgate: could not run ${pinnedNode}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      // Die of the same signal, so whoever started us sees what happened to slotgate.
      for (const name of forwarded) process.off(name, forward);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}
