import type { Logger } from 'pino';
import { splitAddress } from './address.ts';
import { chooseSlotMap, type NodeAnswer } from './choose-slot-map.ts';
import { authFailureMessage, isAuthError } from '../upstream/backend-auth.ts';
import type { ControlAccess } from './control-connection.ts';
import { ControlConnections } from './control-connections.ts';
import { fetchSlotRanges } from './fetch-slot-ranges.ts';
import { SlotMap } from './slot-map.ts';

/** Least time between the end of one refresh and the start of the next. */
const MIN_GAP_MS = 50;
const WARN_EVERY_MS = 5000;

export interface TopologyRefresherOptions {
  seeds: string[];
  timeoutMs: number;
  /** How to reach the nodes: login (backendUsername / backendPassword) and TLS (backendTls). */
  access: ControlAccess;
  /** Seconds between routine refreshes; 0 for none. */
  intervalSeconds: number;
  logger: Logger;
  /** Called with each map read, whether or not it differs from the last. */
  onSlotMap(map: SlotMap, from: string): void;
}

/**
 * Keeps the slot map current: reads it at start, every few seconds, and whenever the data path asks
 * (after a MOVED, a lost connection, a parked request). Requests are coalesced: however many arrive
 * while a refresh runs, at most one more follows it.
 *
 * The places to ask are the seeds and every node of the last map taken, so the seeds may all be
 * gone later on; every one of them is asked each time, and a map is only taken when most of them
 * agree. A node that leaves the map is no longer asked: otherwise addresses that are gone for good
 * (pods replaced, nodes removed) would pile up, each a connect timeout to wait out, and a majority
 * of them all harder to reach.
 */
export class TopologyRefresher {
  private readonly options: TopologyRefresherOptions;
  private readonly knownNodes: Set<string>;
  private running = false;
  private again = false;
  private pause: NodeJS.Timeout | null = null;
  private lastWarning = '';
  private lastWarningAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly connections: ControlConnections;
  /** Refreshes that took a map and those that got none, since start (metrics). */
  readonly stats = { refreshes: 0, failures: 0 };

  constructor(options: TopologyRefresherOptions) {
    this.options = options;
    this.connections = new ControlConnections(options.timeoutMs, options.access);
    this.knownNodes = new Set(options.seeds);
  }

  /**
   * Asks every known node for its slot map at once and takes the one a majority agrees on (see
   * chooseSlotMap): as soon as more than half of all the nodes asked agree, without waiting for the
   * rest (a frozen node would hold every refresh up for the whole timeout); otherwise once all have
   * answered or failed, a majority of those that answered. Throws when no node answers, with each
   * node's error so start-up can say what is wrong, or when the answers have no majority.
   */
  fetch(): Promise<{ map: SlotMap; from: string }> {
    const addresses = [...this.knownNodes];
    const answers: NodeAnswer[] = [];
    const errors: string[] = [];
    return new Promise((resolve, reject) => {
      let settled = 0;
      let done = false;
      const decide = (final: boolean): void => {
        if (done) return;
        const chosen = chooseSlotMap(answers);
        if (chosen !== null && (final || chosen.voters.length * 2 > addresses.length)) {
          done = true;
          this.learnNodes(chosen.map);
          resolve({ map: chosen.map, from: chosen.voters[0] });
        } else if (final) {
          done = true;
          reject(
            new Error(
              answers.length === 0
                ? `no cluster node answered CLUSTER SLOTS (${errors.join('; ')})`
                : `the ${answers.length} nodes that answered disagree on the slot map; keeping the current one`,
            ),
          );
        }
      };
      for (const address of addresses) {
        this.connections
          .ask(address, async (redis) => {
            const ranges = await fetchSlotRanges(redis, splitAddress(address).host);
            if (ranges.length === 0) throw new Error('CLUSTER SLOTS returned no slots');
            return SlotMap.fromRanges(ranges);
          })
          .then(
            (map) => answers.push({ address, map }),
            // Say "authentication" plainly: NOAUTH or WRONGPASS alone doesn't point at our settings.
            (error: Error) => errors.push(isAuthError(error.message) ? authFailureMessage(address, error.message) : `${address}: ${error.message}`),
          )
          .then(() => decide(++settled === addresses.length));
      }
    });
  }

  /** Starts the periodic refresh. */
  start(): void {
    if (this.options.intervalSeconds <= 0) return;
    this.timer = setInterval(() => this.requestRefresh(), this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Asks for a refresh soon; cheap to call often. */
  requestRefresh(): void {
    if (this.stopped) return;
    if (this.running || this.pause !== null) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.pause !== null) clearTimeout(this.pause);
    this.connections.closeAll();
  }

  private async refresh(): Promise<void> {
    try {
      const { map, from } = await this.fetch();
      this.stats.refreshes++;
      if (!this.stopped) this.options.onSlotMap(map, from);
    } catch (error) {
      this.stats.failures++;
      this.warnOnce((error as Error).message);
    } finally {
      this.running = false;
      // Refreshes asked for meanwhile are served by one more, after a short gap: during a failover
      // every parked request asks, and the nodes need not be polled faster than they change.
      if (this.again && !this.stopped) {
        this.again = false;
        this.pause = setTimeout(() => {
          this.pause = null;
          this.requestRefresh();
        }, MIN_GAP_MS);
      }
    }
  }

  /** Logs a failed refresh, but the same message at most once every WARN_EVERY_MS. */
  private warnOnce(message: string): void {
    const now = Date.now();
    if (message === this.lastWarning && now - this.lastWarningAt < WARN_EVERY_MS) return;
    this.lastWarning = message;
    this.lastWarningAt = now;
    this.options.logger.warn({ err: message }, 'topology refresh failed');
  }

  private learnNodes(map: SlotMap): void {
    const inMap = new Set<string>();
    for (const master of map.masters) {
      inMap.add(master);
      for (const replica of map.replicas.get(master) ?? []) inMap.add(replica);
    }
    for (const address of this.knownNodes) {
      if (inMap.has(address) || this.options.seeds.includes(address)) continue;
      this.knownNodes.delete(address);
      this.connections.forget(address);
    }
    for (const address of inMap) this.knownNodes.add(address);
  }
}
