/** Fewest and most milliseconds between two looks at the connections. */
const MIN_PERIOD_MS = 100;
const MAX_PERIOD_MS = 1000;

/**
 * The one timer behind replyTimeoutMs: a few times per timeout it has every shared connection
 * compare what it has read since the last look (BackendConnection.checkReplies). One coarse tick
 * for all of them, as undici does for its request timeouts, rather than a timer per request: the
 * data path pays nothing but a count per read.
 */
export class ReplyTimeout {
  private timer: NodeJS.Timeout | null = null;
  private timeoutMs = 0;
  private readonly check: (now: number, timeoutMs: number) => void;

  /** `check` looks at every connection (Router.checkReplies); `timeoutMs` 0 checks nothing. */
  constructor(timeoutMs: number, check: (now: number, timeoutMs: number) => void) {
    this.check = check;
    this.set(timeoutMs);
  }

  /** A reload's new timeout; 0 stops the checks. */
  set(timeoutMs: number): void {
    if (timeoutMs === this.timeoutMs) return;
    this.stop();
    this.timeoutMs = timeoutMs;
    if (timeoutMs === 0) return;
    const period = Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, Math.floor(timeoutMs / 4)));
    this.timer = setInterval(() => this.check(performance.now(), this.timeoutMs), period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
