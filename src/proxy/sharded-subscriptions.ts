import { splitAddress } from '../cluster/address.ts';
import { parseRedirect } from '../cluster/redirect.ts';
import type { CommandSpec } from '../commands/command-spec.ts';
import { arrayElements } from '../resp/reply-reader.ts';
import type { RequestView } from '../resp/request-view.ts';
import { RingQueue } from '../util/ring-queue.ts';
import type { PendingRequest } from './pending-request.ts';
import type { ProxyContext } from './proxy-context.ts';
import { applySubscription, bulkLatin1, isNoChannel, readShardedConfirmation, sunsubscribed, withCount } from './pubsub-replies.ts';
import type { ConfirmationSink, PubSubClient, PubSubTunnel } from './pubsub-tunnel.ts';
import { cannotTellKeys, commonSlot, CROSSSLOT, findRequestKeys, MIXED_SLOTS, requestKeys, SLOT_NOT_SERVED } from './request-keys.ts';

const EMPTY = Buffer.alloc(0);

const MOVED = Buffer.from('-MOVED ');

/** What a ShardedCommand is. */
const Kind = {
  subscribe: 0,
  /** SUNSUBSCRIBE with channels. */
  unsubscribe: 1,
  /** SUNSUBSCRIBE with none. */
  unsubscribeAll: 2,
  /** An sunsubscribe push a node sent unasked (the slot moved). */
  forced: 3,
} as const;
type Kind = (typeof Kind)[keyof typeof Kind];

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
 * the shard that owns its channel's slot, so each SSUBSCRIBE goes over a tunnel of the client's own
 * to that slot's master: one tunnel per master the client has sharded channels on, closed when it
 * has none left there. SUNSUBSCRIBE is asked of every tunnel (see unsubscribe()).
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
  private releasing = false;
  private closed = false;

  constructor(host: ShardedHost) {
    this.host = host;
  }

  /**
   * The sharded channels the client holds, going by what it has sent (and the forced sunsubscribes
   * it was given): subscribed mode is judged by them, as Redis would once the commands sent before
   * have run, not by confirmations still on their way.
   */
  private readonly channels = new Set<string>();

  /** A sharded channel held, or an SSUBSCRIBE on its way. */
  get subscribed(): boolean {
    return this.channels.size > 0;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** SSUBSCRIBE and SUNSUBSCRIBE (arity already checked). */
  command(spec: CommandSpec, view: RequestView): void {
    const subscribes = spec.name === 'ssubscribe';
    if (!subscribes && view.argc === 1) {
      this.channels.clear();
      this.unsubscribe(view.frame, Kind.unsubscribeAll);
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
    if (!subscribes) {
      applySubscription(this.channels, view, false);
      this.unsubscribe(view.frame, Kind.unsubscribe);
      return;
    }
    applySubscription(this.channels, view, true);
    const command = this.start(view.frame, Kind.subscribe);
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
    // Every command still owed its place gets what came for it (a forced sunsubscribe that arrived
    // while a RESET waited, say): the client's replies queued behind must not wait for ever.
    for (let command = this.order.shift(); command !== undefined; command = this.order.shift()) {
      const pieces: Buffer[] = [];
      for (const part of command.parts) pieces.push(...part.pushes);
      command.request.completeInPieces(pieces);
    }
  }

  /** A push on `shard`'s tunnel outside any command's confirmations. */
  onUnsolicited(shard: ShardTunnel, reply: Buffer): void {
    if (this.closed) return;
    const confirmation = readShardedConfirmation(reply);
    if (confirmation === null) {
      this.host.onPush(reply);
      return;
    }
    // A forced sunsubscribe: the slot moved (resharding, failover). Its count is given in turn. The
    // client will subscribe again at once, so the map should catch up soon.
    this.channels.delete(bulkLatin1(confirmation.channel));
    this.host.context.router.requestRefresh();
    const command = this.start(null, Kind.forced);
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
    if (part.command.kind === Kind.subscribe && part.shard !== null) this.followMoved(part.command, part);
    this.releaseReady();
  }

  /** A command that takes its place among the client's replies. */
  private start(frame: Buffer | null, kind: Kind): ShardedCommand {
    const request = this.host.enqueue(EMPTY, -1, true);
    // Pushes, which CLIENT REPLY OFF does not silence (Redis sends the confirmations too).
    request.silent = false;
    const command = new ShardedCommand(this, request, frame, kind);
    this.order.push(command);
    return command;
  }

  /** Sends an SSUBSCRIBE to `address`'s tunnel, opened for it if need be. */
  private sendTo(command: ShardedCommand, address: string | null): void {
    if (address === null) {
      command.addPart(null).completeInPieces([SLOT_NOT_SERVED]);
      return;
    }
    let shard = this.shards.get(address);
    if (shard === undefined) {
      shard = new ShardTunnel(address, this.host, this);
      this.shards.set(address, shard);
    }
    shard.tunnel.sendInTurn(command.frame as Buffer, command.addPart(shard));
  }

  /**
   * SUNSUBSCRIBE goes to every tunnel, with channels or without. Without, every tunnel has channels
   * to drop. With, the one of their slot's master would do, but after a failover a client that
   * subscribed again before slotgate's map caught up holds them on the demoted master, now a
   * replica (Redis lets replicas serve their master's sharded channels); so each tunnel is asked,
   * and those that don't serve the slot answer MOVED, which just means "not here".
   */
  private unsubscribe(frame: Buffer, kind: Kind): void {
    const command = this.start(frame, kind);
    if (this.shards.size === 0) {
      command.addPart(null).completeInPieces([]);
      return;
    }
    // Parts are added before any is sent: a tunnel that closes at once completes its part at once.
    const parts = [...this.shards.values()].map((shard) => command.addPart(shard));
    for (const part of parts) (part.shard as ShardTunnel).tunnel.sendInTurn(frame, part);
  }

  /**
   * The slot map was stale and the master an SSUBSCRIBE went to no longer owns the slot: sends it on
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
      // Sent again now, it may land behind an SUNSUBSCRIBE of all sent after it: then it stays, and
      // its channels are held again.
      this.holdChannelsOf(command);
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
    for (const part of command.parts) if (part.shard !== null) part.shard.unreleased--;
    const out = command.kind === Kind.unsubscribe ? this.unsubscribed(command) : this.confirmed(command);
    // An SSUBSCRIBE answered with an error (a MOVED past the redirect limit, no master for the
    // slot) subscribed nothing: its channels are not held.
    if (command.kind === Kind.subscribe && out.some((reply) => reply[0] === 45 /* - */)) this.forgetChannelsOf(command);
    command.request.completeInPieces(out);
  }

  private forgetChannelsOf(command: ShardedCommand): void {
    const args = arrayElements(command.frame as Buffer) ?? [];
    for (let a = 1; a < args.length; a++) this.channels.delete(bulkLatin1(args[a]));
  }

  private holdChannelsOf(command: ShardedCommand): void {
    const args = arrayElements(command.frame as Buffer) ?? [];
    for (let a = 1; a < args.length; a++) this.channels.add(bulkLatin1(args[a]));
  }

  /** What the parts brought, in order, counts made totals; a SUNSUBSCRIBE of all says "none" only when no tunnel had a channel. */
  private confirmed(command: ShardedCommand): Buffer[] {
    const out: Buffer[] = [];
    let confirmed = false;
    for (const part of command.parts) {
      for (const push of part.pushes) {
        const confirmation = readShardedConfirmation(push);
        if (confirmation === null) {
          out.push(push);
          continue;
        }
        if (part.shard !== null) part.shard.count = confirmation.count;
        if (command.kind === Kind.unsubscribeAll && confirmation.unsubscribe && isNoChannel(confirmation)) continue;
        confirmed = true;
        out.push(withCount(push, confirmation, this.total()));
      }
    }
    if (command.kind === Kind.unsubscribeAll && !confirmed) out.push(sunsubscribed(null, this.total(), this.host.resp3));
    return out;
  }

  /**
   * SUNSUBSCRIBE with channels: one confirmation per channel, as Redis gives, whichever tunnels held
   * them. A tunnel that serves the slot confirms every channel, in order, with its count after each;
   * one that doesn't answers an error. Each count given is the total after that channel is dropped
   * everywhere. When no tunnel serves the slot, an error other than MOVED (CLUSTERDOWN) is passed on;
   * otherwise the client held none of the channels.
   */
  private unsubscribed(command: ShardedCommand): Buffer[] {
    const channels = (arrayElements(command.frame as Buffer) as Buffer[]).slice(1);
    const out: Buffer[] = [];
    const counts: number[][] = [];
    let failure: Buffer | null = null;
    for (const part of command.parts) {
      const confirmed: number[] = [];
      for (const push of part.pushes) {
        const confirmation = readShardedConfirmation(push);
        const next = channels[confirmed.length];
        if (confirmation !== null && confirmation.unsubscribe && next !== undefined && confirmation.channel.equals(next)) {
          confirmed.push(confirmation.count);
        } else if (push[0] === 45 /* - */) {
          if (failure === null && !MOVED.equals(push.subarray(0, MOVED.length))) failure = push;
        } else {
          // A message, or a forced sunsubscribe of another slot's channel: passed on.
          if (confirmation !== null && part.shard !== null) part.shard.count = confirmation.count;
          out.push(confirmation === null ? push : withCount(push, confirmation, this.total()));
        }
      }
      counts.push(confirmed);
    }
    if (failure !== null && counts.every((confirmed) => confirmed.length === 0)) {
      out.push(failure);
      return out;
    }
    for (let i = 0; i < channels.length; i++) {
      command.parts.forEach((part, p) => {
        if (part.shard !== null && i < counts[p].length) part.shard.count = counts[p][i];
      });
      out.push(sunsubscribed(channels[i], this.total(), this.host.resp3));
    }
    return out;
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
  /** The client's frame (sent again after a MOVED), or null for a forced sunsubscribe. */
  readonly frame: Buffer | null;
  readonly kind: Kind;
  /** One per tunnel it went to, in order; a MOVED adds the next. */
  readonly parts: ShardPart[] = [];
  redirects = 0;
  private waiting = 0;

  constructor(owner: ShardedSubscriptions, request: PendingRequest, frame: Buffer | null, kind: Kind) {
    this.owner = owner;
    this.request = request;
    this.frame = frame;
    this.kind = kind;
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
