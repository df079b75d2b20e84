import type { ChildProcess } from 'node:child_process';
import type { Settings } from '../config/settings.ts';

/** The IPC message that carries the supervisor's settings to a worker: at its start, and on each reload. */
const SETTINGS_MESSAGE = 'slotgate:settings';

/** How long a new worker waits for its settings before giving up. */
const FIRST_SETTINGS_TIMEOUT_MS = 30_000;

interface SettingsMessage {
  type: typeof SETTINGS_MESSAGE;
  settings: Settings;
}

function isSettingsMessage(message: unknown): message is SettingsMessage {
  return (message as { type?: unknown } | null)?.type === SETTINGS_MESSAGE;
}

/**
 * In the supervisor: gives a worker the settings to run with. Workers never read the flags, the
 * environment or the file themselves: a worker restarted after a reload must run with what the
 * supervisor runs (a changed port waits for a restart of them all), and all of them must change
 * together, whatever state the file is in when each would have read it. Over IPC rather than the
 * environment, where the passwords would show in /proc.
 */
export function sendSettings(worker: ChildProcess, settings: Settings): void {
  // A worker that has just exited: the callback takes the error, nothing more to do.
  if (worker.connected) worker.send({ type: SETTINGS_MESSAGE, settings } satisfies SettingsMessage, undefined, {}, () => {});
}

/**
 * In a worker: the settings the supervisor sends. Resolves with the first; each later one, a
 * reload, goes to the callback given to onReload (held until one is given). Listens from the call,
 * which must come before the worker's first await so no message can arrive unheard.
 */
export function settingsFromSupervisor(): { first: Promise<Settings>; onReload(apply: (settings: Settings) => void): void } {
  let resolveFirst!: (settings: Settings) => void;
  let rejectFirst!: (error: Error) => void;
  const first = new Promise<Settings>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  const timer = setTimeout(() => rejectFirst(new Error(`no settings from the supervisor within ${FIRST_SETTINGS_TIMEOUT_MS / 1000} s`)), FIRST_SETTINGS_TIMEOUT_MS);
  let received = false;
  let apply: ((settings: Settings) => void) | null = null;
  let held: Settings | null = null;
  // A supervisor gone before sending them never will: stop waiting at once.
  process.once('disconnect', () => {
    clearTimeout(timer);
    if (!received) rejectFirst(new Error('the supervisor went away before sending the settings'));
  });
  process.on('message', (message: unknown) => {
    if (!isSettingsMessage(message)) return;
    if (!received) {
      received = true;
      clearTimeout(timer);
      resolveFirst(message.settings);
    } else if (apply === null) {
      held = message.settings;
    } else {
      apply(message.settings);
    }
  });
  return {
    first,
    onReload(callback) {
      apply = callback;
      if (held !== null) callback(held);
      held = null;
    },
  };
}
