import type { Logger } from 'pino';

/** What the sweep needs of a client session. */
export interface SweptClient {
  readonly remoteAddress: string;
  /** Date.now() at its latest read. */
  readonly lastActiveAt: number;
  /** Spared by the timeout right now: a reply is owed or still being written, or it is subscribed. */
  readonly timeoutExempt: boolean;
  destroy(): void;
}

/** How often the sweep runs: Redis too checks its timeout about once a second. */
export const SWEEP_INTERVAL_MS = 1000;

/**
 * The `timeout` setting: closes a client idle for longer than it, as Redis's timeout does, without
 * a reply. Like Redis, it spares a client blocked in a command (BLPOP) or subscribed, and not one
 * in the middle of MULTI or holding a WATCH. One pass over the sessions a second, so the data path
 * pays nothing for it.
 *
 * Redis counts the writing of a reply as activity too; sessions only stamp their reads. A client
 * found exempt (a reply still owed) is taken to have been active at that sweep, so one whose slow
 * reply came late is not closed as if idle since its request.
 */
export class IdleClientSweep {
  private readonly timeoutMs: number;
  /** When each client was last found exempt; weak, so a session that has closed is simply forgotten. */
  private readonly exemptAt = new WeakMap<SweptClient, number>();

  constructor(timeoutSeconds: number) {
    this.timeoutMs = timeoutSeconds * 1000;
  }

  /** One pass at `now` (Date.now()): closes the idle clients and returns them. */
  sweep(clients: Iterable<SweptClient>, now: number): SweptClient[] {
    const idle: SweptClient[] = [];
    for (const client of clients) {
      if (client.timeoutExempt) {
        this.exemptAt.set(client, now);
        continue;
      }
      const lastActive = Math.max(client.lastActiveAt, this.exemptAt.get(client) ?? 0);
      if (now - lastActive > this.timeoutMs) idle.push(client);
    }
    // Destroyed after the pass, so the set is not changed while it is walked.
    for (const client of idle) client.destroy();
    return idle;
  }
}

/** Runs the sweep over `clients` every second until stop(); for a `timeout` of 0, never. */
export function startIdleClientSweep(clients: Iterable<SweptClient>, timeoutSeconds: number, logger: Logger): { stop(): void } {
  if (timeoutSeconds <= 0) return { stop() {} };
  const sweep = new IdleClientSweep(timeoutSeconds);
  const timer = setInterval(() => {
    for (const client of sweep.sweep(clients, Date.now())) logger.debug({ client: client.remoteAddress }, 'closed an idle client (timeout)');
  }, SWEEP_INTERVAL_MS);
  // The sweep must never be what keeps the process alive.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
