import { splitAddress } from '../cluster/address.ts';
import { parseRedirect } from '../cluster/redirect.ts';
import type { CommandSpec } from '../commands/command-spec.ts';
import { arrayElements } from '../resp/reply-reader.ts';
import type { RequestView } from '../resp/request-view.ts';
import { RingQueue } from '../util/ring-queue.ts';
import type { PendingRequest } from './pending-request.ts';
import type { ProxyContext } from './proxy-context.ts';
import { isNoChannel, readShardedConfirmation, sunsubscribed, withCount } from './pubsub-replies.ts';
import type { ConfirmationSink, PubSubClient, PubSubTunnel } from './pubsub-tunnel.ts';
import { cannotTellKeys, commonSlot, CROSSSLOT, findRequestKeys, MIXED_SLOTS, requestKeys, SLOT_NOT_SERVED } from './request-keys.ts';

const EMPTY = Buffer.alloc(0);

/** What ShardedSubscriptions uses of a tunnel. */
export type Tunnel = Pick<PubSubTunnel, 'address' | 'sendInTurn' | 'close' | 'closeWhenSettled'>;

/** What ShardedSubscriptions needs of the session's pub/sub state. */
export interface ShardedHost {
  readonly context: Pick<ProxyContext, 'router'>;
  readonly resp3: boolean;
  /** A tunnel of the client's own to `address` (a PubSubTunnel) reporting to `client`. */
  openTunnel(address: string, client: PubSubClient): Tunnel;
  enqueue(frame: Buffer, slot: number, readOnly: boolean): PendingRequest;
  replyLocal(reply: Buffer): void;
  /** A push that answers no command (a message): written in turn, within the bounds on held messages. */
  onPush(reply: Buffer): void;
  onTunnelLost(): void;
}

/**
 * A client's sharded channels (SSUBSCRIBE, SUNSUBSCRIBE). A sharded message is delivered only by
 * the shard that owns its channel's slot, so each goes over a tunnel of the client's own to that
 * slot's master: one tunnel per master the client has sharded channels on, closed when it has none
 * left there.
 *
 * Redis counts a client's sharded channels in each confirmation. Here they may be spread over
 * several masters, each counting its own, so slotgate gives the total over the client's tunnels:
 * what one Redis holding them all would say. Commands on different tunnels complete in any order,
 * so the counts are rewritten as the confirmations are released to the client, in the order of its
 * commands; a forced sunsubscribe (the channel's slot moved away, which tells the client to
 * subscribe again) waits its turn the same way when commands are in flight.
 */
export class ShardedSubscriptions {
  private readonly host: ShardedHost;
  /** The tunnels, by master address. At most one per master. */
  private readonly shards = new Map<string, ShardTunnel>();
  /** Commands (and forced unsubscriptions) whose confirmations are owed to the client, in its order. */
  private readonly order = new RingQueue<ShardedCommand>();
  /** SSUBSCRIBEs sent and not yet answered: the client is in subscribed mode from the moment it sends one, as in Redis. */
  private subscribing = 0;
  private releasing = false;
  private closed = false;

  constructor(host: ShardedHost) {
    this.host = host;
  }

  /** A sharded channel, or an SSUBSCRIBE on its way. */
  get subscribed(): boolean {
    return this.subscribing > 0 || this.total() > 0;
  }

  /** SSUBSCRIBE and SUNSUBSCRIBE (arity already checked). */
  command(spec: CommandSpec, view: RequestView): void {
    const subscribes = spec.name === 'ssubscribe';
    if (!subscribes && view.argc === 1) {
      this.unsubscribeAll(view.frame);
      return;
    }
    // The channels are the command's keys in the command table: one slot for them all, as Redis Cluster asks.
    findRequestKeys(spec, view);
    if (requestKeys.count === 0) {
      this.host.replyLocal(cannotTellKeys(spec));
      return;
    }
    const slot = commonSlot(view);
    if (slot === MIXED_SLOTS) {
      this.host.replyLocal(CROSSSLOT);
      return;
    }
    const command = this.start(view.frame, slot, subscribes);
    if (subscribes) this.subscribing++;
    this.sendTo(command, this.host.context.router.ownerOf(slot));
  }

  /** HELLO switched the protocol: the tunnels spoke the old one, so later subscriptions get new ones. */
  dropTunnels(): void {
    for (const shard of this.shards.values()) shard.tunnel.closeWhenSettled();
    this.shards.clear();
  }

  close(): void {
    this.closed = true;
    for (const shard of this.shards.values()) shard.tunnel.close();
    this.shards.clear();
  }

  /** A push on `shard`'s tunnel outside any command's confirmations. */
  onUnsolicited(shard: ShardTunnel, reply: Buffer): void {
    if (this.closed) return;
    const confirmation = readShardedConfirmation(reply);
    if (confirmation === null) {
      this.host.onPush(reply);
      return;
    }
    // A forced sunsubscribe: the slot moved (resharding, failover). Its count is given in turn.
    const command = this.start(null, -1, false);
    // Not the reply to a command of the client's: not timed as one.
    command.request.commandId = -1;
    command.addPart(shard).completeInPieces([reply]);
  }

  onTunnelLost(shard: ShardTunnel): void {
    if (this.closed || this.shards.get(shard.tunnel.address) !== shard) return;
    this.host.onTunnelLost();
  }

  /** A part of `command` has all its confirmations: follows a MOVED, then releases what can go. */
  onPartDone(part: ShardPart): void {
    if (this.closed) return;
    const command = part.command;
    if (command.frame !== null && part.shard !== null) this.followMoved(command, part);
    this.releaseReady();
  }

  /** A command that takes its place among the client's replies; `frame` null: not one to send again (SUNSUBSCRIBE of all, a forced one). */
  private start(frame: Buffer | null, slot: number, subscribes: boolean): ShardedCommand {
    const request = this.host.enqueue(EMPTY, -1, true);
    // Pushes, which CLIENT REPLY OFF does not silence (Redis sends the confirmations too).
    request.silent = false;
    const command = new ShardedCommand(this, request, frame, slot, subscribes);
    this.order.push(command);
    return command;
  }

  /** Sends a single-slot command to `address`'s tunnel, or answers it here when there is no point. */
  private sendTo(command: ShardedCommand, address: string | null): void {
    let shard = address === null ? undefined : this.shards.get(address);
    if (shard === undefined && command.subscribes && address !== null) {
      shard = new ShardTunnel(address, this.host, this);
      this.shards.set(address, shard);
    }
    if (shard === undefined && !command.subscribes) shard = this.staleTunnelFor(command);
    if (shard !== undefined) {
      shard.tunnel.sendInTurn(command.frame as Buffer, command.addPart(shard));
      return;
    }
    const part = command.addPart(null);
    if (command.subscribes) {
      part.completeInPieces([SLOT_NOT_SERVED]);
      return;
    }
    // SUNSUBSCRIBE of channels on a master the client has no tunnel to: it is subscribed to none of
    // them. One confirmation each, their counts filled in on release.
    const elements = arrayElements(command.frame as Buffer) ?? [];
    const pushes: Buffer[] = [];
    for (let i = 1; i < elements.length; i++) pushes.push(sunsubscribed(elements[i], 0, this.host.resp3));
    part.completeInPieces(pushes);
  }

  /**
   * A tunnel to a node that serves no slots now, which `command` has not been sent to yet. After a
   * failover, a client that subscribed again before slotgate's map caught up holds channels on the
   * demoted master, now a replica, which serves its new master's channels: an SUNSUBSCRIBE must
   * reach it. One that does not serve the slot answers MOVED, which leads back here.
   */
  private staleTunnelFor(command: ShardedCommand): ShardTunnel | undefined {
    const router = this.host.context.router;
    for (const shard of this.shards.values()) {
      if (router.servesSlots(shard.tunnel.address) || command.parts.some((part) => part.shard === shard)) continue;
      return shard;
    }
    return undefined;
  }

  private unsubscribeAll(frame: Buffer): void {
    const command = this.start(null, -1, false);
    if (this.shards.size === 0) {
      command.addPart(null).completeInPieces([sunsubscribed(null, 0, this.host.resp3)]);
      return;
    }
    // Parts are added before any is sent: a tunnel that closes at once completes its part at once.
    const parts = [...this.shards.values()].map((shard) => command.addPart(shard));
    for (const part of parts) (part.shard as ShardTunnel).tunnel.sendInTurn(frame, part);
  }

  /**
   * The slot map was stale and the master the command went to no longer owns the slot: sends it on
   * to the owner the MOVED names (within the redirect limit), whose tunnel gives its confirmations.
   */
  private followMoved(command: ShardedCommand, part: ShardPart): void {
    const router = this.host.context.router;
    const pushes = part.pushes;
    for (let i = 0; i < pushes.length; i++) {
      if (pushes[i][0] !== 45 /* - */ || command.redirects >= router.redirectLimit) continue;
      const redirect = parseRedirect(pushes[i], splitAddress((part.shard as ShardTunnel).tunnel.address).host);
      if (redirect === null || redirect.ask) continue;
      pushes.splice(i, 1);
      command.redirects++;
      router.noteMoved(redirect.slot, redirect.address);
      this.sendTo(command, redirect.address);
      return;
    }
  }

  private releaseReady(): void {
    // A release completes a request, which may resume the client's parser and start new commands
    // from inside this loop; the loop releases those too, in order.
    if (this.releasing) return;
    this.releasing = true;
    try {
      for (let head = this.order.peek(); head !== undefined && head.done && !this.closed; head = this.order.peek()) {
        this.order.shift();
        this.release(head);
      }
    } finally {
      this.releasing = false;
    }
    this.closeIdleTunnels();
  }

  /** Hands a command's confirmations to the client, each count made the total over its tunnels at that point. */
  private release(command: ShardedCommand): void {
    if (command.subscribes) this.subscribing--;
    const out: Buffer[] = [];
    // SUNSUBSCRIBE of all: a tunnel with no channel left answers "none" (a null channel), which
    // the client is owed only when no tunnel had any.
    let none = -1;
    let confirmed = false;
    for (const part of command.parts) {
      const shard = part.shard;
      if (shard !== null) shard.unreleased--;
      for (const push of part.pushes) {
        const confirmation = readShardedConfirmation(push);
        if (confirmation === null) {
          out.push(push);
          continue;
        }
        if (shard !== null) shard.count = confirmation.count;
        if (command.frame === null && confirmation.unsubscribe && isNoChannel(confirmation)) {
          if (none < 0) none = out.length;
          continue;
        }
        confirmed = true;
        out.push(withCount(push, confirmation, this.total()));
      }
    }
    if (!confirmed && none >= 0) out.splice(none, 0, sunsubscribed(null, this.total(), this.host.resp3));
    command.request.completeInPieces(out);
  }

  /** Closes the tunnels left with no channel and nothing on its way: a client holds one per master it needs. */
  private closeIdleTunnels(): void {
    for (const [address, shard] of this.shards) {
      if (shard.count !== 0 || shard.unreleased !== 0) continue;
      this.shards.delete(address);
      shard.tunnel.close();
    }
  }

  /** The client's sharded channels over all its tunnels, as released to it so far. */
  private total(): number {
    let total = 0;
    for (const shard of this.shards.values()) total += shard.count;
    return total;
  }
}

/** A client's tunnel to one master for its sharded channels there, and their count. */
class ShardTunnel implements PubSubClient {
  readonly tunnel: Tunnel;
  /** The client's sharded channels on this master, as of the last confirmation released to it. */
  count = 0;
  /** Parts from this tunnel not yet released: while any is, the tunnel stays, whatever its count. */
  unreleased = 0;
  private readonly owner: ShardedSubscriptions;

  constructor(address: string, host: ShardedHost, owner: ShardedSubscriptions) {
    this.owner = owner;
    this.tunnel = host.openTunnel(address, this);
  }

  onPush(reply: Buffer): void {
    this.owner.onUnsolicited(this, reply);
  }

  onTunnelLost(): void {
    this.owner.onTunnelLost(this);
  }
}

/** One SSUBSCRIBE or SUNSUBSCRIBE of the client's (or a forced sunsubscribe): its place in line and its parts. */
class ShardedCommand {
  readonly owner: ShardedSubscriptions;
  readonly request: PendingRequest;
  /** The client's frame, sent again after a MOVED; null for one that went to every tunnel, or none. */
  readonly frame: Buffer | null;
  readonly slot: number;
  readonly subscribes: boolean;
  /** One per tunnel it went to, in order; a MOVED adds the next. */
  readonly parts: ShardPart[] = [];
  redirects = 0;
  private waiting = 0;

  constructor(owner: ShardedSubscriptions, request: PendingRequest, frame: Buffer | null, slot: number, subscribes: boolean) {
    this.owner = owner;
    this.request = request;
    this.frame = frame;
    this.slot = slot;
    this.subscribes = subscribes;
  }

  get done(): boolean {
    return this.waiting === 0;
  }

  addPart(shard: ShardTunnel | null): ShardPart {
    const part = new ShardPart(this, shard);
    if (shard !== null) shard.unreleased++;
    this.parts.push(part);
    this.waiting++;
    return part;
  }

  onPartDone(part: ShardPart): void {
    this.waiting--;
    this.owner.onPartDone(part);
  }
}

/** What one tunnel answered to a command (with no tunnel: what slotgate answers itself). */
class ShardPart implements ConfirmationSink {
  readonly command: ShardedCommand;
  readonly shard: ShardTunnel | null;
  pushes: Buffer[] = [];

  constructor(command: ShardedCommand, shard: ShardTunnel | null) {
    this.command = command;
    this.shard = shard;
  }

  completeInPieces(pieces: Buffer[]): void {
    this.pushes = pieces;
    this.command.onPartDone(this);
  }
}
