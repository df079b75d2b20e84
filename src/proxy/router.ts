import type { Logger } from 'pino';
import { SLOT_COUNT } from '../cluster/key-slot.ts';
import { splitAddress } from '../cluster/address.ts';
import { parseRedirect } from '../cluster/redirect.ts';
import type { SlotMap } from '../cluster/slot-map.ts';
import { encodeCommand, encodeError } from '../resp/encode.ts';
import { NodePool } from '../upstream/node-pool.ts';
import { ignoreReply } from '../upstream/reply-target.ts';
import type { RoutedRequest } from './routed-request.ts';

export interface RouterOptions {
  connectionsPerNode: number;
  connectTimeoutMs: number;
  maxRedirects: number;
  logger: Logger;
  /** Asks for a topology refresh (coalesced by the caller). */
  requestRefresh(): void;
}

const ASKING = encodeCommand(['ASKING']);
const SLOT_NOT_SERVED = encodeError('CLUSTERDOWN Hash slot not served');

/**
 * Sends requests to the master that owns their slot and follows MOVED and ASK.
 *
 * The slot table is an array of pools, one entry per slot, rebuilt whole when a new map arrives; a
 * MOVED patches its one slot at once (and asks for a refresh, since one moved slot rarely moves
 * alone), so the very next request for that slot already goes to the right node.
 */
export class Router {
  private readonly options: RouterOptions;
  private poolBySlot: (NodePool | null)[] = new Array<NodePool | null>(SLOT_COUNT).fill(null);
  private readonly pools = new Map<string, NodePool>();
  private masters: NodePool[] = [];
  private nextMaster = 0;
  /** Redirects followed since start, for INFO and tests. */
  readonly stats = { moved: 0, ask: 0 };

  constructor(options: RouterOptions) {
    this.options = options;
  }

  /** Takes a freshly read slot map. */
  applySlotMap(map: SlotMap): void {
    const bySlot = new Array<NodePool | null>(SLOT_COUNT);
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const owner = map.ownerOf(slot);
      bySlot[slot] = owner === undefined ? null : this.poolFor(owner);
    }
    const changed = bySlot.some((pool, slot) => pool !== this.poolBySlot[slot]);
    this.poolBySlot = bySlot;
    // Sorted, so SCAN cursors (which name a master by its position) survive a refresh that only
    // reorders the same masters.
    this.masters = [...map.masters].sort().map((address) => this.poolFor(address));
    if (changed) this.options.logger.info({ masters: map.masters }, 'slot map updated');
  }

  /** Addresses of the current masters. */
  masterAddresses(): string[] {
    return this.masters.map((pool) => pool.address);
  }

  dispatch(request: RoutedRequest): void {
    const pool = this.poolBySlot[request.slot];
    if (pool === null) {
      this.options.requestRefresh();
      request.complete(SLOT_NOT_SERVED);
      return;
    }
    pool.connectionFor(request.clientId).send(request.frame, request);
  }

  /** For keyless commands any master can answer (COMMAND, CONFIG GET …): spread over masters. */
  dispatchToAnyMaster(request: RoutedRequest): void {
    const masters = this.masters;
    if (masters.length === 0) {
      request.complete(SLOT_NOT_SERVED);
      return;
    }
    this.nextMaster = (this.nextMaster + 1) % masters.length;
    masters[this.nextMaster].connectionFor(request.clientId).send(request.frame, request);
  }

  /** Sends to one given master (cluster-wide commands go to each in turn). */
  dispatchToMaster(request: RoutedRequest, master: NodePool): void {
    master.connectionFor(request.clientId).send(request.frame, request);
  }

  /** The masters as of the last map, in a stable order (by address), for cluster-wide commands and SCAN. */
  masterPools(): readonly NodePool[] {
    return this.masters;
  }

  /**
   * Handles an error reply if it is a redirect slotgate should follow. Returns false to pass the
   * reply to the client unchanged (not a redirect, or too many of them).
   */
  followRedirect(request: RoutedRequest, reply: Buffer, from: string): boolean {
    const redirect = parseRedirect(reply, splitAddress(from).host);
    if (redirect === null) {
      if (startsWithClusterDown(reply)) this.options.requestRefresh();
      return false;
    }
    if (request.redirects >= this.options.maxRedirects) return false;
    request.redirects++;
    const pool = this.poolFor(redirect.address);
    const connection = pool.connectionFor(request.clientId);
    if (redirect.ask) {
      // ASK is for this one request, during a migration: the map stays as it is.
      this.stats.ask++;
      connection.send(ASKING, ignoreReply);
    } else {
      this.stats.moved++;
      this.poolBySlot[redirect.slot] = pool;
      this.options.requestRefresh();
    }
    connection.send(request.frame, request);
    return true;
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close();
  }

  private poolFor(address: string): NodePool {
    let pool = this.pools.get(address);
    if (pool === undefined) {
      pool = new NodePool(address, this.options.connectionsPerNode, {
        connectTimeoutMs: this.options.connectTimeoutMs,
        onConnectionLost: (lost, reason) => {
          this.options.logger.warn({ node: lost, reason }, 'backend connection lost');
          this.options.requestRefresh();
        },
      });
      this.pools.set(address, pool);
    }
    return pool;
  }
}

const CLUSTERDOWN = Buffer.from('-CLUSTERDOWN');

function startsWithClusterDown(reply: Buffer): boolean {
  return reply.length > CLUSTERDOWN.length && reply.compare(CLUSTERDOWN, 0, CLUSTERDOWN.length, 0, CLUSTERDOWN.length) === 0;
}
