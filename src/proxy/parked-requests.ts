import { encodeError } from '../resp/encode.ts';
import type { RoutedRequest } from './routed-request.ts';

/** How often parked requests are tried again while nothing else (a new slot map) wakes them. */
const RETRY_INTERVAL_MS = 100;

/**
 * Requests that no node can serve right now: their master is unreachable, the slot has no owner,
 * or the cluster said TRYAGAIN or CLUSTERDOWN. They wait here, not failed, and are sent again every
 * RETRY_INTERVAL_MS and at once when a new slot map arrives, until `budgetMs` after they were first
 * parked; then the client gets the last error. A failover thus looks like a pause to the client.
 *
 * Bounded by the clients' own bounds: a parked request still counts against its client's
 * maxPendingPerClient, so a client with many parked requests is not read from.
 *
 * A client's requests keep their order: while one of its requests waits here, the router parks its
 * later ones behind it (see holds()) rather than letting them overtake it, since a write retried
 * after a later write of the same client would undo that one, both answered OK.
 */
export class ParkedRequests {
  /** How long a request may stay parked, in ms; a reload may change it (Router.setLimits). */
  budgetMs: number;
  private readonly resend: (request: RoutedRequest) => void;
  private readonly onPark: () => void;
  private waiting: RoutedRequest[] = [];
  /** The clients (by affinity) with a request in `waiting`. */
  private clients = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  /** Counters for INFO and tests. */
  readonly stats = { parked: 0, expired: 0, longestWaitMs: 0 };

  constructor(budgetMs: number, resend: (request: RoutedRequest) => void, onPark: () => void) {
    this.budgetMs = budgetMs;
    this.resend = resend;
    this.onPark = onPark;
  }

  get size(): number {
    return this.waiting.length;
  }

  /** Whether a request of the client with this affinity waits here (then its next ones must too). */
  holds(affinity: number): boolean {
    return this.clients.has(affinity);
  }

  /** Holds `request`, or fails it with `reason` once its budget is spent. */
  park(request: RoutedRequest, reason: string): void {
    if (request.waitsForNode === false) {
      // The reason as an error: most start with their code (ERR, CLUSTERDOWN, LOADING).
      request.complete(encodeError(/^[A-Z]{3,} /.test(reason) ? reason : `ERR ${reason}`));
      return;
    }
    const now = Date.now();
    if (request.parkedAt === 0) {
      request.parkedAt = now;
      this.stats.parked++;
    } else if (now - request.parkedAt >= this.budgetMs) {
      this.stats.expired++;
      request.complete(encodeError(`CLUSTERDOWN slotgate: no node could serve this within ${this.budgetMs} ms (${reason})`));
      return;
    }
    // A fresh allowance of redirects for each try: a slot half migrated answers ASK then TRYAGAIN
    // on every try until the move completes, and only the budget should end that.
    request.redirects = 0;
    this.waiting.push(request);
    this.clients.add(request.affinity);
    this.onPark();
    this.timer ??= setTimeout(() => this.retryNow(), RETRY_INTERVAL_MS);
  }

  /** Sends every parked request again (those that still can't go come straight back). */
  retryNow(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.waiting;
    this.waiting = [];
    // Sent again in the order they came: a client's first goes, and if it is parked again at once
    // its later ones are parked behind it again.
    this.clients = new Set();
    const now = Date.now();
    for (const request of batch) {
      this.stats.longestWaitMs = Math.max(this.stats.longestWaitMs, now - request.parkedAt);
      this.resend(request);
    }
  }

  /** Fails everything still parked (shutdown). */
  failAll(reason: string): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.waiting;
    this.waiting = [];
    this.clients = new Set();
    for (const request of batch) request.complete(encodeError(reason));
  }
}
