import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/** What the sweep needs of a client session. */
export interface SweptClient {
  readonly remoteAddress: string;
  /** performance.now() at its latest read. */
  readonly lastReadAt: number;
  /** Spared by the timeout right now: a reply is owed (a blocking command's among them), it is subscribed or it monitors. */
  readonly timeoutExempt: boolean;
  /** Reply bytes written out so far: growth means the client is reading its replies. */
  readonly bytesDelivered: number;
  destroy(): void;
}

/** How often the sweep runs: Redis too checks its timeout about once a second. */
export const SWEEP_INTERVAL_MS = 1000;

/** What the sweep last saw of a client, and when (performance.now()). */
interface Seen {
  at: number;
  bytesDelivered: number;
}

/**
 * The `timeout` setting: closes a client idle for longer than it, as Redis's timeout does, without
 * a reply. Like Redis, it spares a client blocked in a command (BLPOP) or subscribed, and not one
 * in the middle of MULTI or holding a WATCH. One pass over the sessions a second, so the data path
 * pays nothing for it.
 *
 * Activity is what Redis counts: a read from the client, or reply bytes it took. Sessions stamp
 * their reads; the sweep notices the rest itself. A client found exempt (a reply still owed) or
 * found to have taken reply bytes since the last pass counts as active at that pass, so one whose
 * slow reply came late, or that is still reading a large one, is not closed as if idle since its
 * request. A client that stops reading its replies makes no progress, and is closed like an idle one.
 *
 * Every time is the monotonic clock's (performance.now()): a step of the wall clock (NTP, an
 * operator) must not close every client at once, nor spare idle ones.
 */
export class IdleClientSweep {
  private timeoutMs: number;
  /** Weak, so a session that has closed is simply forgotten. */
  private readonly seen = new WeakMap<SweptClient, Seen>();

  constructor(timeoutSeconds: number) {
    this.timeoutMs = timeoutSeconds * 1000;
  }

  /** A reload's new timeout: the next pass judges every client by it. */
  setTimeoutSeconds(timeoutSeconds: number): void {
    this.timeoutMs = timeoutSeconds * 1000;
  }

  /** One pass at `now` (performance.now()): closes the idle clients and returns them. */
  sweep(clients: Iterable<SweptClient>, now: number): SweptClient[] {
    const idle: SweptClient[] = [];
    for (const client of clients) {
      const delivered = client.bytesDelivered;
      const last = this.seen.get(client);
      if (client.timeoutExempt || (last !== undefined && delivered !== last.bytesDelivered)) {
        this.seen.set(client, { at: now, bytesDelivered: delivered });
        continue;
      }
      if (last === undefined) this.seen.set(client, { at: -Infinity, bytesDelivered: delivered });
      const lastActive = Math.max(client.lastReadAt, last?.at ?? -Infinity);
      if (now - lastActive > this.timeoutMs) idle.push(client);
    }
    // Destroyed after the pass, so the set is not changed while it is walked.
    for (const client of idle) client.destroy();
    return idle;
  }
}

/** The running sweep: stop() at shutdown; a reload changes its timeout. */
export interface IdleClientSweepTimer {
  stop(): void;
  /** 0 stops the sweep; a positive timeout starts it, or changes the running one's. */
  setTimeoutSeconds(timeoutSeconds: number): void;
}

/** Runs the sweep over `clients` every second until stop(); for a `timeout` of 0, never. */
export function startIdleClientSweep(clients: Iterable<SweptClient>, timeoutSeconds: number, logger: Logger): IdleClientSweepTimer {
  let sweep: IdleClientSweep | null = null;
  let timer: NodeJS.Timeout | null = null;
  const stop = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    sweep = null;
  };
  const setTimeoutSeconds = (seconds: number): void => {
    if (seconds <= 0) return stop();
    if (sweep !== null) return sweep.setTimeoutSeconds(seconds);
    const running = new IdleClientSweep(seconds);
    sweep = running;
    timer = setInterval(() => {
      for (const client of running.sweep(clients, performance.now())) logger.debug({ client: client.remoteAddress }, 'closed an idle client (timeout)');
    }, SWEEP_INTERVAL_MS);
    // The sweep must never be what keeps the process alive.
    timer.unref();
  };
  setTimeoutSeconds(timeoutSeconds);
  return { stop, setTimeoutSeconds };
}
