import type { Logger } from 'pino';
import { splitAddress } from '../cluster/address.ts';
import { SLOT_COUNT } from '../cluster/key-slot.ts';
import { parseRedirect } from '../cluster/redirect.ts';
import type { SlotMap } from '../cluster/slot-map.ts';
import { encodeCommand } from '../resp/encode.ts';
import type { BackendLogin } from '../upstream/backend-auth.ts';
import type { BackendTls } from '../upstream/backend-tls.ts';
import { NodePool } from '../upstream/node-pool.ts';
import { ignoreReply } from '../upstream/reply-target.ts';
import { ParkedRequests } from './parked-requests.ts';
import type { RoutedRequest } from './routed-request.ts';
import type { HealthCounts } from '../observability/metrics.ts';

export interface RouterOptions {
  connectionsPerNode: number;
  connectTimeoutMs: number;
  /** What every connection to a node sends first (AUTH, or HELLO 3 for RESP3); a reload may change it. */
  login: BackendLogin;
  /** How to reach nodes that speak TLS; a reload may change it. */
  backendTls?: BackendTls;
  /** Redirects one request may follow (a reload may change it, see setLimits). */
  maxRedirects: number;
  /** How long a request may wait for a node to serve it (failover, migration) before it fails. */
  retryBudgetMs: number;
  /** Where reads marked replicaRead go (settings.readFrom). */
  readFrom: 'master' | 'replica' | 'prefer-replica';
  logger: Logger;
  /** Asks for a topology refresh (coalesced by the caller). */
  requestRefresh(): void;
}

const ASKING = encodeCommand(['ASKING']);

/**
 * Sends requests to the master that owns their slot, follows MOVED and ASK, and holds requests
 * that can't be served yet (see ParkedRequests).
 *
 * The slot table is an array of pools, one entry per slot, rebuilt whole when a new map arrives; a
 * MOVED patches its one slot at once (and asks for a refresh, since one moved slot rarely moves
 * alone), so the very next request for that slot already goes to the right node.
 */
export class Router {
  private readonly options: RouterOptions;
  private poolBySlot: (NodePool | null)[] = new Array<NodePool | null>(SLOT_COUNT).fill(null);
  private readonly pools = new Map<string, NodePool>();
  /** Connections to replicas are separate (they start with READONLY) and only serve reads. */
  private readonly replicaPools = new Map<string, NodePool>();
  /** Per slot, the replicas of its master; empty unless reading from replicas. */
  private replicasBySlot: NodePool[][] = [];
  private masters: NodePool[] = [];
  /** For each master (same order), one slot it owns: requests meant for "that master" route by it, so they follow a failover. */
  private masterSlots: number[] = [];
  private nextMaster = 0;
  private readonly parked: ParkedRequests;
  /** options.maxRedirects, or what a reload set since. */
  private maxRedirects: number;
  /** Pools of nodes that left the map while requests were in flight on them, and their close timers. */
  private readonly retiring = new Map<NodePool, NodeJS.Timeout>();
  /** Redirects followed and slot maps that changed the routing, since start, for INFO, metrics and tests. */
  readonly stats = { moved: 0, ask: 0, mapChanges: 0 };

  constructor(options: RouterOptions) {
    this.options = options;
    this.maxRedirects = options.maxRedirects;
    this.parked = new ParkedRequests(
      options.retryBudgetMs,
      (request) => (request.slot >= 0 ? this.dispatch(request) : this.dispatchToAnyMaster(request)),
      options.requestRefresh,
    );
  }

  /**
   * A reload's new limits. The redirect limit counts for redirects followed from now on; the budget
   * for every parked request too, as each is measured from when it was first parked.
   */
  setLimits(maxRedirects: number, retryBudgetMs: number): void {
    this.maxRedirects = maxRedirects;
    this.parked.budgetMs = retryBudgetMs;
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
    const masters = [...map.masters].filter((address) => bySlot.some((pool) => pool?.address === address)).sort();
    this.masters = masters.map((address) => this.poolFor(address));
    this.masterSlots = this.masters.map((pool) => bySlot.indexOf(pool));
    if (this.options.readFrom !== 'master') this.replicasBySlot = this.replicasOf(map);
    if (changed) {
      this.stats.mapChanges++;
      this.options.logger.info({ masters }, 'slot map updated');
      this.closeUnused(map);
    }
    // A new map is the moment parked requests may have somewhere to go; an unchanged one is not
    // (they are retried on their own timer, so a failing node isn't hammered in a loop).
    if (changed && this.parked.size > 0) this.parked.retryNow();
  }

  dispatch(request: RoutedRequest): void {
    // One field read on the data path; the rest only while something is parked. A request that
    // does not wait for its node (an INFO part, read only) is not held behind the client's either.
    if (this.parked.size > 0 && request.waitsForNode !== false && this.parked.holds(request.affinity)) {
      this.parked.park(request, BEHIND_PARKED);
      return;
    }
    if (request.replicaRead && this.options.readFrom !== 'master' && this.dispatchToReplica(request)) return;
    const pool = this.poolBySlot[request.slot];
    if (pool === null) {
      this.parked.park(request, 'CLUSTERDOWN Hash slot not served');
      return;
    }
    pool.connectionFor(request.affinity, request.resp3).send(request.frame, request, request.replyCount);
  }

  /**
   * Sends a read to a healthy replica of its slot's master, starting from one chosen by the client
   * so a client's reads stay on one replica. Returns false to send it to the master instead.
   */
  private dispatchToReplica(request: RoutedRequest): boolean {
    const replicas = this.replicasBySlot[request.slot];
    const count = replicas === undefined ? 0 : replicas.length;
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const replica = replicas[(request.affinity + i) % count];
      // A suspect replica (connection lost, not yet retried) gets the read: that is how it is found
      // up again. One that refuses connections is 'down' until its backoff ends.
      if (replica.loadingUntil > now || replica.health() === 'down') continue;
      replica.connectionFor(request.affinity, request.resp3).send(request.frame, request, request.replyCount);
      return true;
    }
    if (this.options.readFrom === 'prefer-replica') return false;
    this.parked.park(request, 'CLUSTERDOWN no healthy replica for this slot');
    return true;
  }

  /** For keyless commands any master can answer (COMMAND, CONFIG GET …): spread over masters. */
  dispatchToAnyMaster(request: RoutedRequest): void {
    if (this.parked.size > 0 && request.waitsForNode !== false && this.parked.holds(request.affinity)) {
      this.parked.park(request, BEHIND_PARKED);
      return;
    }
    const masters = this.masters;
    if (masters.length === 0) {
      this.parked.park(request, 'CLUSTERDOWN no master known');
      return;
    }
    this.nextMaster = (this.nextMaster + 1) % masters.length;
    masters[this.nextMaster].connectionFor(request.affinity, request.resp3).send(request.frame, request, request.replyCount);
  }

  /** Address of the master serving `slot`, or null when none does. */
  ownerOf(slot: number): string | null {
    return this.poolBySlot[slot]?.address ?? null;
  }

  /** Asks for a topology refresh (coalesced): something says the map has changed. */
  requestRefresh(): void {
    this.options.requestRefresh();
  }

  /** How many masters there are now: cluster-wide commands send one request to each. */
  masterCount(): number {
    return this.masters.length;
  }

  /** A slot owned by master `index` (0 ≤ index < masterCount()); routing by it reaches that master. */
  slotOfMaster(index: number): number {
    return this.masterSlots[index];
  }

  /**
   * A backend could not take or answer `request`: the connection failed before it was written, or
   * it was a read (safe to send twice). Parks it until a node can serve it.
   */
  retryLater(request: RoutedRequest, reason: string): void {
    this.parked.park(request, reason);
  }

  /**
   * Handles an error reply that is about the cluster rather than the command: redirects (MOVED,
   * ASK), and TRYAGAIN / CLUSTERDOWN, which Redis sends without running the command, so trying
   * again later is safe for any command. Returns false to pass the reply to the client as it is.
   */
  onClusterError(request: RoutedRequest, reply: Buffer, from: string): boolean {
    const redirect = parseRedirect(reply, splitAddress(from).host);
    if (redirect === null) {
      if (startsWith(reply, LOADING)) {
        // A node still loading its data set (a replica syncing, a master restarting) can't serve
        // yet: keep reads off it for a while and send this request elsewhere, or later.
        const replica = this.replicaPools.get(from);
        if (replica !== undefined) {
          replica.loadingUntil = Date.now() + LOADING_BACKOFF_MS;
          this.dispatch(request);
        } else {
          this.parked.park(request, reply.toString('latin1', 1, reply.length - 2));
        }
        return true;
      }
      if (startsWith(reply, TRYAGAIN) || startsWith(reply, CLUSTERDOWN)) {
        this.parked.park(request, reply.toString('latin1', 1, reply.length - 2));
        return true;
      }
      return false;
    }
    if (request.redirects >= this.maxRedirects) return false;
    request.redirects++;
    const pool = this.poolFor(redirect.address);
    const connection = pool.connectionFor(request.affinity, request.resp3);
    if (redirect.ask) {
      // ASK is for this one request, during a migration: the map stays as it is.
      this.stats.ask++;
      connection.send(ASKING, ignoreReply);
    } else {
      this.noteMoved(redirect.slot, redirect.address);
    }
    connection.send(request.frame, request, request.replyCount);
    return true;
  }

  /** Redirects one request may follow (see setLimits); for requests that follow them themselves (sharded pub/sub). */
  get redirectLimit(): number {
    return this.maxRedirects;
  }

  /**
   * A MOVED: `slot` is `address`'s now. Patched at once, and a refresh asked for, since one moved slot
   * rarely moves alone. Also told of MOVEDs that came over a client's own connection (sharded pub/sub).
   */
  noteMoved(slot: number, address: string): void {
    this.stats.moved++;
    this.poolBySlot[slot] = this.poolFor(address);
    this.keepMasterSlots(slot);
    this.options.requestRefresh();
  }

  /**
   * After a MOVED of `slot`: if that was the slot cluster-wide commands reach a master by, route
   * them by another slot the master still has, or DBSIZE, KEYS, SCAN and FLUSHALL would count the
   * new owner twice and skip the old one until the refresh lands (a reshard moves a master's lowest
   * slots first, and this is its lowest). A scan of the slot table, on the rare MOVED that needs it.
   */
  private keepMasterSlots(slot: number): void {
    const index = this.masterSlots.indexOf(slot);
    if (index < 0) return;
    const other = this.poolBySlot.indexOf(this.masters[index]);
    // None left: the master is being emptied, and the refresh will take it out of the list.
    if (other >= 0) this.masterSlots[index] = other;
  }

  /** Counters and per-node health, for INFO and tests. */
  describe(): { parked: ParkedRequests['stats']; parkedNow: number; nodes: { address: string; role: string; health: string; inFlight: number }[] } {
    return {
      parked: this.parked.stats,
      parkedNow: this.parked.size,
      nodes: [
        ...[...this.pools.values()].map((pool) => ({ address: pool.address, role: 'master', health: pool.health(), inFlight: pool.inFlight })),
        ...[...this.replicaPools.values()].map((pool) => ({ address: pool.address, role: 'replica', health: pool.health(), inFlight: pool.inFlight })),
      ],
    };
  }

  /** Slots whose master is known: SLOT_COUNT when every slot can be served (readiness). */
  slotsServed(): number {
    let served = 0;
    for (const pool of this.poolBySlot) if (pool !== null) served++;
    return served;
  }

  /** Backend connections by role and health, for metrics. */
  connectionHealth(): { master: HealthCounts; replica: HealthCounts } {
    const master = { up: 0, idle: 0, suspect: 0, down: 0 };
    const replica = { up: 0, idle: 0, suspect: 0, down: 0 };
    for (const pool of this.pools.values()) pool.countHealth(master);
    for (const pool of this.replicaPools.values()) pool.countHealth(replica);
    return { master, replica };
  }

  /** Drops shared connections to nodes that owe replies and sent nothing for `timeoutMs` (see ReplyTimeout). */
  checkReplies(now: number, timeoutMs: number): void {
    for (const pool of this.pools.values()) pool.checkReplies(now, timeoutMs);
    for (const pool of this.replicaPools.values()) pool.checkReplies(now, timeoutMs);
  }

  close(): void {
    for (const timer of this.retiring.values()) clearTimeout(timer);
    this.parked.failAll('ERR slotgate is shutting down');
    for (const pool of this.pools.values()) pool.close();
    for (const pool of this.replicaPools.values()) pool.close();
  }

  /** The replica pools of each slot's master, opening pools for replicas not seen before. */
  private replicasOf(map: SlotMap): NodePool[][] {
    const byMaster = new Map<string, NodePool[]>();
    const inUse = new Set<string>();
    for (const master of map.masters) {
      const replicas = map.replicas.get(master) ?? [];
      for (const address of replicas) inUse.add(address);
      byMaster.set(master, replicas.map((address) => this.replicaPoolFor(address)));
    }
    const bySlot: NodePool[][] = new Array(SLOT_COUNT);
    for (let slot = 0; slot < SLOT_COUNT; slot++) bySlot[slot] = byMaster.get(map.ownerOf(slot) ?? '') ?? [];
    this.closeUnusedReplicas(inUse);
    return bySlot;
  }

  private replicaPoolFor(address: string): NodePool {
    return this.poolIn(this.replicaPools, address, true);
  }

  private poolFor(address: string): NodePool {
    return this.poolIn(this.pools, address, false);
  }

  /** The pool for `address` in `pools`, opened on first use. */
  private poolIn(pools: Map<string, NodePool>, address: string, replica: boolean): NodePool {
    let pool = pools.get(address);
    if (pool === undefined) {
      pool = new NodePool(address, this.options.connectionsPerNode, {
        connectTimeoutMs: this.options.connectTimeoutMs,
        login: this.options.login,
        logger: this.options.logger,
        tls: this.options.backendTls,
        replica,
        onConnectionLost: (lost, reason) => {
          this.options.logger.warn({ node: lost, replica, reason }, 'backend connection lost');
          // A lost master may mean a failover; a replica's loss changes no routing.
          if (!replica) this.options.requestRefresh();
        },
      });
      pools.set(address, pool);
    }
    return pool;
  }

  /**
   * Closes the pools of nodes that serve no slot any more: at once when nothing is in flight on
   * them, otherwise after RETIRE_GRACE_MS, so replies on their way can still arrive but a node that
   * froze (and was failed over by the cluster) can't hold requests forever. Its reads are then
   * retried on the new owner; its writes are reported as in doubt.
   */
  private closeUnused(map: SlotMap): void {
    this.retireUnused(this.pools, (address) => map.masters.includes(address), (pool) => this.poolBySlot.includes(pool));
  }

  /**
   * The same for replicas that left the map (removed, or promoted: a master's pool is another), so
   * their connections don't linger when reads go to replicas.
   */
  private closeUnusedReplicas(inUse: Set<string>): void {
    this.retireUnused(this.replicaPools, (address) => inUse.has(address), (pool) => this.replicasBySlot.some((pools) => pools.includes(pool)));
  }

  /** Retires every pool of `pools` whose address `keep` rejects; `backInUse` rescues one at the end of its grace. */
  private retireUnused(pools: Map<string, NodePool>, keep: (address: string) => boolean, backInUse: (pool: NodePool) => boolean): void {
    for (const [address, pool] of pools) {
      if (keep(address) || this.retiring.has(pool)) continue;
      if (pool.inFlight === 0) {
        this.closePool(pools, address, pool);
        continue;
      }
      const timer = setTimeout(() => {
        this.retiring.delete(pool);
        // Back in the map meanwhile (a failback): keep it.
        if (backInUse(pool)) return;
        this.closePool(pools, address, pool);
      }, RETIRE_GRACE_MS);
      timer.unref();
      this.retiring.set(pool, timer);
    }
  }

  private closePool(pools: Map<string, NodePool>, address: string, pool: NodePool): void {
    pool.close();
    pools.delete(address);
    const what = pools === this.pools ? 'a node that serves no slots' : 'a replica no longer in the map';
    this.options.logger.info({ node: address }, `closed connections to ${what}`);
  }
}

/** How long a node that lost its slots may keep requests in flight before its connections are closed. */
const RETIRE_GRACE_MS = 1000;
const TRYAGAIN = Buffer.from('-TRYAGAIN');
const BEHIND_PARKED = 'an earlier request of this client is waiting for its node';
const LOADING = Buffer.from('-LOADING');
/** How long a replica that answered LOADING gets no reads. */
const LOADING_BACKOFF_MS = 1000;
const CLUSTERDOWN = Buffer.from('-CLUSTERDOWN');

function startsWith(reply: Buffer, prefix: Buffer): boolean {
  return reply.length > prefix.length && reply.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
