import type { Logger } from 'pino';
import { splitAddress } from './address.ts';
import { withControlConnection } from './control-connection.ts';
import { fetchSlotRanges } from './fetch-slot-ranges.ts';
import { SlotMap } from './slot-map.ts';

export interface TopologyRefresherOptions {
  seeds: string[];
  timeoutMs: number;
  /** Seconds between routine refreshes; 0 for none. */
  intervalSeconds: number;
  logger: Logger;
  /** Called with each map read, whether or not it differs from the last. */
  onSlotMap(map: SlotMap, from: string): void;
}

/**
 * Keeps the slot map current: reads it at start, every few seconds, and whenever the data path asks
 * (after a MOVED or a lost connection). Requests are coalesced: however many arrive while a refresh
 * runs, at most one more follows it.
 *
 * Every node seen in a map becomes a place to ask, so the seeds may all be gone later on.
 */
export class TopologyRefresher {
  private readonly options: TopologyRefresherOptions;
  private readonly knownNodes: Set<string>;
  private running: Promise<SlotMap | null> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(options: TopologyRefresherOptions) {
    this.options = options;
    this.knownNodes = new Set(options.seeds);
  }

  /**
   * Reads the map from the first node that answers, trying every known node in turn. Throws when
   * none does, with each node's error, so start-up can say what is wrong.
   */
  async fetch(): Promise<{ map: SlotMap; from: string }> {
    const errors: string[] = [];
    for (const address of this.knownNodes) {
      try {
        const ranges = await withControlConnection(address, this.options.timeoutMs, (redis) =>
          fetchSlotRanges(redis, splitAddress(address).host),
        );
        if (ranges.length === 0) throw new Error('CLUSTER SLOTS returned no slots');
        const map = SlotMap.fromRanges(ranges);
        this.learnNodes(map);
        return { map, from: address };
      } catch (error) {
        errors.push(`${address}: ${(error as Error).message}`);
      }
    }
    throw new Error(`no cluster node answered CLUSTER SLOTS (${errors.join('; ')})`);
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
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
  }

  private async refresh(): Promise<SlotMap | null> {
    try {
      const { map, from } = await this.fetch();
      if (!this.stopped) this.options.onSlotMap(map, from);
      return map;
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'topology refresh failed');
      return null;
    } finally {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.requestRefresh();
      }
    }
  }

  private learnNodes(map: SlotMap): void {
    for (const master of map.masters) {
      this.knownNodes.add(master);
      for (const replica of map.replicas.get(master) ?? []) this.knownNodes.add(replica);
    }
  }
}
