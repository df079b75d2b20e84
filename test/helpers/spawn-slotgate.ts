import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Runs src/main.ts with `args` in its own process group (so cleanup reaches its workers whatever
 * happens to the primary) and resolves once its stdout shows `ready`, a log line's message: with
 * workers, "workers listening" (one worker answering is not enough). Stop it with killSlotgate().
 */
export function spawnSlotgate(args: string[], ready: string): Promise<ChildProcess> {
  const slotgate = spawn(process.execPath, ['src/main.ts', ...args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  return new Promise<ChildProcess>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      killSlotgate(slotgate); // nobody else holds it yet
      reject(new Error(`slotgate did not start:\n${output}`));
    }, 30_000);
    slotgate.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`"msg":"${ready}"`)) {
        clearTimeout(timer);
        resolve(slotgate);
      }
    });
    slotgate.once('exit', (code) => reject(new Error(`slotgate exited with ${code}:\n${output}`)));
  });
}

/**
 * Resolves with the first log line of `slotgate` (from spawnSlotgate) written from now on whose
 * message is `message`; rejects after `timeoutMs`.
 */
export function nextLogLine(slotgate: ChildProcess, message: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const line = output.split('\n').find((candidate) => candidate.includes(`"msg":"${message}"`));
      if (line === undefined) return;
      clearTimeout(timer);
      slotgate.stdout?.off('data', onData);
      resolve(line);
    };
    const timer = setTimeout(() => {
      slotgate.stdout?.off('data', onData);
      reject(new Error(`no "${message}" log line within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    slotgate.stdout?.on('data', onData);
  });
}

/** SIGKILLs the process group spawnSlotgate() started. */
export function killSlotgate(slotgate: ChildProcess | undefined): void {
  try {
    if (slotgate?.pid !== undefined) process.kill(-slotgate.pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}
