import type { CommandSpec } from '../commands/command-spec.ts';
import { encodeError } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';
import type { NodeConnectionSettings } from '../upstream/backend-connection.ts';
import type { ProxyContext } from './proxy-context.ts';
import { Policy, type PolicyKind } from './command-policy.ts';
import type { PendingRequest } from './pending-request.ts';
import { applySubscription, subscribedPong } from './pubsub-replies.ts';
import { PubSubTunnel, type ConfirmationSink, type PubSubClient } from './pubsub-tunnel.ts';
import { SLOT_NOT_SERVED } from './request-keys.ts';
import { ShardedSubscriptions, type ShardedHost } from './sharded-subscriptions.ts';

const EMPTY = Buffer.alloc(0);
/** Besides (un)subscribing, what Redis lets a subscribed RESP2 client send. */
const ALLOWED_WHEN_SUBSCRIBED = ['ping', 'quit', 'reset'];

/** What SessionPubSub needs of its client session. */
export interface PubSubHost {
  readonly context: ProxyContext;
  readonly remoteAddress: string;
  readonly resp3: boolean;
  /** The connection settings for connections of the client's own, in its protocol. */
  ownConnectionSettings(): NodeConnectionSettings;
  /** A slot of the master this client's keyless traffic sticks to; -1 when there is none. */
  clientsMasterSlot(): number;
  replyLocal(reply: Buffer): void;
  enqueue(frame: Buffer, slot: number, readOnly: boolean): PendingRequest;
  /** Output no request asked for, in line behind the replies owed, bounded (SessionOutput.sendUnasked). */
  sendUnasked(bytes: Buffer, what: string): void;
  destroy(): void;
}

/**
 * A client session's pub/sub: the tunnel for SUBSCRIBE and PSUBSCRIBE (the client's own connection
 * to one master), its sharded channels (sharded-subscriptions.ts), the RESP2 subscribed-mode rules
 * over both, and the messages held in line behind replies still owed. Kept apart from
 * ClientSession, which holds one only once the client has used pub/sub.
 */
export class SessionPubSub implements PubSubClient, ShardedHost {
  private readonly host: PubSubHost;
  private tunnel: PubSubTunnel | null = null;
  private sharded: ShardedSubscriptions | null = null;
  /**
   * The plain channels and the patterns the client holds, going by what it has sent (see
   * applySubscription): subscribed mode is judged by them, as Redis would once the commands sent
   * before have run, not by confirmations still on their way.
   */
  private readonly channels = new Set<string>();
  private readonly patterns = new Set<string>();
  private closed = false;

  constructor(host: PubSubHost) {
    this.host = host;
  }

  /** From the first (S|P)SUBSCRIBE until the last subscription of any kind is gone, as Redis's CLIENT_PUBSUB. */
  get subscribed(): boolean {
    return this.channels.size > 0 || this.patterns.size > 0 || this.sharded?.subscribed === true;
  }

  /** Plain channels, patterns and sharded channels the client holds, by what it has sent. */
  get counts(): readonly [number, number, number] {
    return [this.channels.size, this.patterns.size, this.sharded?.channelCount ?? 0];
  }

  get context(): ProxyContext {
    return this.host.context;
  }

  get resp3(): boolean {
    return this.host.resp3;
  }

  openTunnel(address: string, client: PubSubClient): PubSubTunnel {
    return new PubSubTunnel(address, this.host.ownConnectionSettings(), client);
  }

  enqueue(frame: Buffer, slot: number, readOnly: boolean): PendingRequest {
    return this.host.enqueue(frame, slot, readOnly);
  }

  replyLocal(reply: Buffer): void {
    this.host.replyLocal(reply);
  }

  /**
   * A RESP2 client in subscribed mode may only (un)subscribe, PING, QUIT and RESET, as in Redis
   * (RESP3 lifts this: pushes are told apart from replies by their type). Returns true when it
   * dealt with the request itself: refused it, or answered a PING in its pub/sub form.
   */
  handledWhileSubscribed(spec: CommandSpec, kind: PolicyKind, view: RequestView): boolean {
    if (this.host.resp3 || !this.subscribed) return false;
    if (kind !== Policy.subscribe && kind !== Policy.shardedSubscribe && !ALLOWED_WHEN_SUBSCRIBED.includes(spec.name)) {
      this.host.replyLocal(encodeError(`ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`));
      return true;
    }
    if (spec.name === 'ping') {
      // Answered here, in line: the tunnels' own PINGs mark the end of each command's confirmations.
      this.host.replyLocal(subscribedPong(view.argc > 1 ? view.arg(1) : null));
      return true;
    }
    return false;
  }

  /** SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE: sent as they are over the client's tunnel. */
  command(spec: CommandSpec, view: RequestView): void {
    if (this.tunnel === null) {
      // Any master gets every message; spread subscribers over them.
      const slot = this.host.clientsMasterSlot();
      if (slot < 0) {
        this.host.replyLocal(SLOT_NOT_SERVED);
        return;
      }
      const address = this.host.context.router.ownerOf(slot) as string;
      this.tunnel = new PubSubTunnel(address, this.host.ownConnectionSettings(), this);
    }
    const subscribes = spec.name === 'subscribe' || spec.name === 'psubscribe';
    const names = spec.name === 'subscribe' || spec.name === 'unsubscribe' ? this.channels : this.patterns;
    // The confirmations keep this command's place among the client's replies, whatever runs elsewhere meanwhile.
    const request = this.host.enqueue(EMPTY, -1, true);
    // Redis sends (un)subscribe confirmations under CLIENT REPLY OFF too.
    request.silent = false;
    // Made before the names are added, to tell which are new.
    const sink = subscribes ? new SubscribeConfirmations(request, view, names) : request;
    applySubscription(names, view, subscribes);
    this.tunnel.sendInTurn(view.frame, sink);
  }

  /** SSUBSCRIBE and SUNSUBSCRIBE: over tunnels to the masters of their channels' slots. */
  shardedCommand(spec: CommandSpec, view: RequestView): void {
    this.sharded ??= new ShardedSubscriptions(this);
    this.sharded.command(spec, view);
  }

  onPush(reply: Buffer): void {
    // Messages and forced unsubscribes, in line behind replies still owed for earlier requests.
    if (!this.closed) this.host.sendUnasked(reply, 'pub/sub messages');
  }

  /** A tunnel's connection, plain or sharded, is gone. */
  onTunnelLost(): void {
    // Its subscriptions went with the connection; closing tells the client to subscribe again, as
    // when the one Redis it talks to goes away.
    this.host.context.logger.warn({ client: this.host.remoteAddress }, 'pub/sub connection to the cluster lost; closing the subscriber');
    this.host.destroy();
  }

  /** HELLO switched the protocol: the tunnels spoke the old one, so later subscriptions get new tunnels. */
  dropTunnel(): void {
    this.tunnel?.closeWhenSettled();
    this.tunnel = null;
    this.sharded?.dropTunnels();
    this.sharded = null;
  }

  close(): void {
    this.closed = true;
    this.tunnel?.close();
    this.sharded?.close();
  }
}

/**
 * A (P)SUBSCRIBE's confirmations, on their way to the client: if the node refused it (a NOPERM for
 * channels the nodes' user may not use, say), the names it would have added are not held. Names
 * held before it stay: a refused command changes nothing.
 */
export class SubscribeConfirmations implements ConfirmationSink {
  private readonly request: PendingRequest;
  private readonly added: string[] = [];
  private readonly names: Set<string>;

  constructor(request: PendingRequest, view: RequestView, names: Set<string>) {
    this.request = request;
    this.names = names;
    for (let i = 1; i < view.argc; i++) {
      const name = view.argString(i);
      if (!names.has(name)) this.added.push(name);
    }
  }

  completeInPieces(pieces: Buffer[]): void {
    if (pieces.some((piece) => piece[0] === 45 /* - */)) for (const name of this.added) this.names.delete(name);
    this.request.completeInPieces(pieces);
  }
}
