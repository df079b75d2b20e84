import type { Socket } from 'node:net';
import { CommandFlags, type CommandSpec } from '../commands/command-spec.ts';
import { encodeError } from '../resp/encode.ts';
import { RequestParser, type RequestSink } from '../resp/request-parser.ts';
import type { RequestView } from '../resp/request-view.ts';
import { scheduleFlush, type Flushable } from '../util/flush-scheduler.ts';
import { writeBatch } from '../util/write-batch.ts';
import { Policy } from './command-policy.ts';
import { cannotTellKeys, commonSlot, CROSSSLOT, findRequestKeys, isReadOnly, keySlots, MIXED_SLOTS, requestKeys, SLOT_NOT_SERVED } from './request-keys.ts';
import { BlockingRequest, DedicatedConnections } from './blocking-request.ts';
import { PubSubTunnel, type PubSubClient } from './pubsub-tunnel.ts';
import { SessionTransactions } from './session-transactions.ts';
import { answerLocally, wrongArity, type LocalSession } from './local-commands.ts';
import { PendingRequest } from './pending-request.ts';
import type { Router } from './router.ts';
import { Fanout, type MergeParts } from './split/fanout.ts';
import { mergeInfo } from './split/merge-info.ts';
import { scanAcrossMasters } from './split/scan.ts';
import { splitBySlot } from './split/split-by-slot.ts';
import { startReading } from '../util/socket-reader.ts';
import type { ProxyMetrics } from '../observability/metrics.ts';
import type { NodeConnectionSettings } from '../upstream/backend-connection.ts';
import { NOAUTH, NO_AUTH_NEEDED, type PasswordCheck } from './client-auth.ts';
import type { ProxyContext } from './proxy-context.ts';

const EMPTY = Buffer.alloc(0);
/** Besides (un)subscribing, what Redis lets a subscribed RESP2 client send. */
const ALLOWED_WHEN_SUBSCRIBED = ['ping', 'quit', 'reset'];

/** What a blocked client may send before slotgate stops reading from it. */
const BLOCKED_READ_LIMIT = 1024 * 1024;

/**
 * One client connection: parses its requests, answers or routes each, and writes the replies back
 * in request order, gathered into one write per event-loop turn.
 *
 * Flow control: when too many requests are in flight, or the client is not reading its replies
 * (the socket wants a drain), the session stops reading from the socket until that clears, so a
 * client can never make slotgate buffer without bound.
 */
export class ClientSession implements RequestSink, Flushable, LocalSession, PubSubClient {
  readonly id: number;
  /** Picks this client's connection to each node: consecutive in this process, whatever the ids. */
  readonly affinity: number;
  readonly router: Router;
  readonly metrics: ProxyMetrics;
  name: Buffer | null = null;
  flushQueued = false;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly connectedAt = Date.now();
  lastActiveAt = this.connectedAt;
  lastCommand = 'NULL';
  /** False until the client gives the password, when one is set; true from the start otherwise. */
  authenticated: boolean;
  /** Set by HELLO 3: replies in RESP3, from the nodes' RESP3 connections. */
  resp3 = false;

  private readonly socket: Socket;
  private readonly context: ProxyContext;
  private readonly parser: RequestParser;

  /** Requests in order; replies leave from the head once complete. */
  private head: PendingRequest | null = null;
  private tail: PendingRequest | null = null;
  private pending = 0;
  private out: Buffer[] = [];
  private outBytes = 0;

  /** CLIENT REPLY OFF in force, SKIP pending, and whether the request being handled is silenced. */
  private repliesOff = false;
  private skipNext = false;
  private silent = false;

  /**
   * Connections of this client's own, for blocking commands and WATCH; and whether the client's
   * later requests are held (a blocking command, a WATCH or a watched EXEC on its way).
   */
  private dedicated: DedicatedConnections | null = null;
  private blocked = false;

  /** The connection this client's subscriptions live on, once it has subscribed. */
  private tunnel: PubSubTunnel | null = null;
  /** Bytes of pub/sub messages waiting behind a reply still owed (see onPush). */
  private heldPushBytes = 0;

  /** MULTI … EXEC and WATCH state, once the client has used either. */
  private transactions: SessionTransactions | null = null;

  private closing = false;
  /** The socket's end() has been called. */
  private ending = false;
  private closed = false;
  private readingPaused = false;
  private waitingForDrain = false;

  get serverVersion(): string {
    return this.context.serverVersion;
  }

  get password(): PasswordCheck | null {
    return this.context.password;
  }

  /** `unixSocket`: the path the client connected to, when it came over a Unix domain socket. */
  constructor(socket: Socket, id: number, affinity: number, context: ProxyContext, unixSocket: string | null = null) {
    this.socket = socket;
    this.id = id;
    this.affinity = affinity;
    this.context = context;
    this.router = context.router;
    this.metrics = context.metrics;
    this.parser = new RequestParser(this, context);
    this.authenticated = context.password === null;
    // A Unix-socket client has neither address nor port: Redis shows the socket's path and port 0.
    this.remoteAddress = unixSocket === null ? `${socket.remoteAddress}:${socket.remotePort}` : `${unixSocket}:0`;
    this.localAddress = unixSocket === null ? `${socket.localAddress}:${socket.localPort}` : `${unixSocket}:0`;
    socket.setNoDelay(true);
    startReading(socket, (chunk: Buffer) => {
      // After QUIT or a protocol error nothing more is read: it would only pile up.
      if (this.closing) return;
      this.lastActiveAt = Date.now();
      this.metrics.clientBytesRead += chunk.length;
      try {
        this.parser.feed(chunk);
        // Blocked, the socket is still read so a client that leaves is noticed (and its blocking
        // command unblocked); what it sends meanwhile waits in the parser, up to a bound.
        if (this.blocked && this.parser.bufferedBytes > BLOCKED_READ_LIMIT) this.pauseReading();
      } catch (error) {
        // A bug of ours must cost this one client its connection, never the whole proxy.
        this.context.logger.error({ err: error, client: this.remoteAddress }, 'internal error handling a request');
        this.replyLocal(encodeError('ERR slotgate: internal error; closing the connection'));
        this.closeAfterReplies();
      }
    });
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.resumeIfRoom();
    });
    // 'close' always follows an error; that is where the session ends.
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
  }

  onRequest(view: RequestView): void {
    if (this.closing || this.closed) return;
    this.silent = this.repliesOff || this.skipNext;
    this.skipNext = false;
    const spec = this.context.table.lookup(view);
    if (spec === undefined) {
      this.refuse(unknownCommand(view));
      return;
    }
    this.lastCommand = spec.name;
    this.metrics.commands[spec.id]++;
    const arity = spec.arity;
    if ((arity > 0 && view.argc !== arity) || view.argc < -arity) {
      this.refuse(wrongArity(spec.name));
      return;
    }
    // The one test an authenticated client pays; as in Redis, after the command and arity checks.
    if (!this.authenticated && !NO_AUTH_NEEDED.includes(spec.name)) {
      this.refuse(NOAUTH);
      return;
    }
    const kind = this.context.policies.kindOf(spec);
    // RESP3 lifts these limits: pushes are told apart from replies by their type.
    if (this.tunnel?.subscribed === true && !this.resp3 && kind !== Policy.subscribe && !ALLOWED_WHEN_SUBSCRIBED.includes(spec.name)) {
      this.replyLocal(encodeError(`ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`));
      return;
    }
    if (this.tunnel?.subscribed === true && !this.resp3 && spec.name === 'ping') {
      // In subscribed mode Redis answers PING in its pub/sub form; the node says it in turn.
      this.tunnel.send(view.frame);
      return;
    }
    if (this.transactions?.queuing === true && kind !== Policy.transaction && spec.name !== 'quit') {
      this.replyLocal(this.transactions.queue(spec, view, kind));
      return;
    }
    switch (kind) {
      case Policy.byKeys:
        this.routeByKeys(spec, view);
        return;
      case Policy.local:
        this.replyLocal(answerLocally(spec, view, this));
        return;
      case Policy.anyMaster:
        this.router.dispatchToAnyMaster(this.enqueue(view.frame, -1, isReadOnly(spec)));
        return;
      case Policy.clientsMaster:
        this.sendToClientsMaster(view.frame, spec);
        return;
      case Policy.allMasters:
        this.sendToAllMasters(view.frame, this.context.policies.mergeOf(spec), isReadOnly(spec));
        return;
      case Policy.scan:
        scanAcrossMasters(this.enqueue(EMPTY, -1, true), view, this.router);
        return;
      case Policy.info:
        this.sendToAllMasters(view.frame, (parts) => mergeInfo(parts, this.context.proxyInfo()), true);
        return;
      case Policy.transaction:
        this.sessionTransactions().transactionCommand(spec);
        return;
      case Policy.watch:
        this.sessionTransactions().watchCommand(spec, view);
        return;
      case Policy.subscribe:
        this.subscribeCommand(view.frame, spec);
        return;
      default:
        this.replyLocal(encodeError(`ERR ${this.context.policies.refusalOf(spec)}`));
    }
  }

  onProtocolError(message: string): void {
    // As Redis does: answer what came before, then the error, then close.
    this.replyLocal(encodeError(`ERR ${message}`));
    this.closeAfterReplies();
  }

  setReplyMode(mode: 'on' | 'off' | 'skip'): void {
    this.repliesOff = mode === 'off';
    this.skipNext = mode === 'skip';
    // OFF and SKIP are not answered themselves; ON is.
    this.silent = mode !== 'on';
  }

  allSessions(): Iterable<ClientSession> {
    return this.context.sessions;
  }

  setProtocol(resp3: boolean): Buffer | null {
    if (this.tunnel?.subscribed === true) return encodeError('ERR slotgate: switching protocol while subscribed is not supported');
    // Connections of the client's own speak the protocol they were opened in: new ones from now on.
    this.tunnel?.closeWhenSettled();
    this.tunnel = null;
    // A WATCH lives on one of those connections: EXEC must then fail, not run unwatched.
    this.transactions?.onOwnConnectionsDropped();
    this.dedicated?.closeAll();
    this.dedicated = null;
    this.resp3 = resp3;
    return null;
  }

  /** For the connections this client opens of its own (blocking, pub/sub): in its protocol. */
  private ownConnectionSettings(): NodeConnectionSettings {
    return this.resp3 ? { ...this.context.nodeConnection, resp3: true } : this.context.nodeConnection;
  }

  closeAfterReplies(): void {
    this.closing = true;
    this.pauseReading();
    scheduleFlush(this);
  }

  /** Called by a request when its reply is ready (or it failed). */
  onRequestComplete(request: PendingRequest): void {
    if (this.closed || request !== this.head) return;
    let head: PendingRequest | null = request;
    while (head !== null && head.reply !== null) {
      if (head.silent) {
        // CLIENT REPLY OFF/SKIP: carried out, not answered.
      } else if (head.pieces !== null) {
        for (const piece of head.pieces) {
          this.out.push(piece);
          this.outBytes += piece.length;
        }
      } else {
        this.out.push(head.reply);
        this.outBytes += head.reply.length;
      }
      this.pending--;
      head = head.next;
    }
    this.head = head;
    if (head === null) {
      this.tail = null;
      this.heldPushBytes = 0;
    }
    scheduleFlush(this);
    if (this.readingPaused) this.resumeIfRoom();
    if (this.transactions !== null) this.transactions.onHeadChanged(head);
  }

  flush(): void {
    if (this.closed) return;
    if (this.out.length > 0) {
      this.metrics.clientBytesWritten += this.outBytes;
      const drained = writeBatch(this.socket, this.out, this.outBytes);
      this.out = [];
      this.outBytes = 0;
      if (!drained) {
        if (this.socket.writableLength > this.context.maxClientOutputBytes) {
          this.context.logger.warn({ client: this.remoteAddress, bytes: this.socket.writableLength }, 'client output buffer limit reached; closing it');
          this.socket.destroy();
          return;
        }
        this.waitingForDrain = true;
        this.pauseReading();
      }
    }
    // Like Redis after QUIT or a protocol error: once the replies owed are written, close outright,
    // without waiting for the client to close its side (a paused socket would never notice it).
    if (this.closing && this.head === null && !this.ending) {
      this.ending = true;
      this.socket.end(() => this.socket.destroy());
    }
  }

  /** Stops reading, lets the replies still owed go out, then closes (graceful shutdown). */
  shutdown(): void {
    this.closeAfterReplies();
  }

  /** Closes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private routeByKeys(spec: CommandSpec, view: RequestView): void {
    const complete = findRequestKeys(spec, view);
    if (requestKeys.count === 0) {
      if (!complete) {
        this.replyLocal(cannotTellKeys(spec));
        return;
      }
      // A command that takes a variable number of keys was given none (EVAL "..." 0): any master
      // runs it the same.
      this.router.dispatchToAnyMaster(this.enqueue(view.frame, -1, isReadOnly(spec)));
      return;
    }
    const slot = commonSlot(view);
    if (slot !== MIXED_SLOTS && (spec.flags & CommandFlags.blocking) !== 0 && mayBlock(spec, view)) {
      this.sendBlocking(view.frame, slot, spec);
      return;
    }
    if (slot === MIXED_SLOTS) {
      const rule = this.context.policies.splitRuleOf(spec);
      if (rule === undefined) this.replyLocal(CROSSSLOT);
      // MSET's arity (-3) lets "MSET k1 v1 k2" through; a node would refuse it, so must we before
      // splitting reads a value that is not there.
      else if (requestKeys.indexes[requestKeys.count - 1] + rule.span > view.argc) this.replyLocal(wrongArity(spec.name));
      else splitBySlot(this.enqueueKeyed(EMPTY, -1, spec), view, requestKeys, keySlots, rule, this.router);
      return;
    }
    this.router.dispatch(this.enqueueKeyed(view.frame, slot, spec));
  }

  /**
   * A command that may block (BLPOP, XREAD BLOCK …) goes over a connection of this client's own,
   * and nothing more of the client's is handled until it returns, as Redis does for a blocked client.
   */
  private sendBlocking(frame: Buffer, slot: number, spec: CommandSpec): void {
    const owner = this.router.ownerOf(slot);
    if (owner === null) {
      this.replyLocal(SLOT_NOT_SERVED);
      return;
    }
    const target = this.enqueue(frame, slot, isReadOnly(spec));
    this.holdRequests();
    new BlockingRequest(target, frame, this.dedicatedConnections(), () => this.unblock()).send(owner);
  }

  private dedicatedConnections(): DedicatedConnections {
    this.dedicated ??= new DedicatedConnections(this.ownConnectionSettings(), (address) => this.transactions?.onOwnConnectionLost(address));
    return this.dedicated;
  }

  private sessionTransactions(): SessionTransactions {
    if (this.transactions === null) {
      const session = this;
      this.transactions = new SessionTransactions({
        router: this.router,
        policies: this.context.policies,
        limits: this.context,
        get head() {
          return session.head;
        },
        replyLocal: (reply) => this.replyLocal(reply),
        enqueue: (frame, slot, readOnly) => this.enqueue(frame, slot, readOnly),
        dedicatedConnections: () => this.dedicatedConnections(),
        holdRequests: () => this.holdRequests(),
        unblock: () => this.unblock(),
      });
    }
    return this.transactions;
  }

  /** Reads no further request until unblock(): what comes next must not overtake this one. */
  private holdRequests(): void {
    this.blocked = true;
    this.parser.pause();
  }

  private unblock(): void {
    this.blocked = false;
    if (this.closed) return;
    if (this.readingPaused) this.resumeIfRoom();
    else if (!this.closing) this.parser.resume();
  }

  /** To the master this client's keyless commands stick to: routed by a slot of that master's, so it follows a failover. */
  private sendToClientsMaster(frame: Buffer, spec: CommandSpec): void {
    const slot = this.clientsMasterSlot();
    if (slot < 0) this.replyLocal(SLOT_NOT_SERVED);
    else this.router.dispatch(this.enqueue(frame, slot, isReadOnly(spec)));
  }

  /** A slot of the master this client's keyless traffic sticks to (PUBLISH, its subscriptions); -1 when there is none. */
  private clientsMasterSlot(): number {
    const masters = this.router.masterCount();
    return masters === 0 ? -1 : this.router.slotOfMaster(this.affinity % masters);
  }

  /** SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE: sent as they are over the client's tunnel. */
  private subscribeCommand(frame: Buffer, spec: CommandSpec): void {
    if (this.tunnel === null) {
      // Any master gets every message; spread subscribers over them.
      const slot = this.clientsMasterSlot();
      if (slot < 0) {
        this.replyLocal(SLOT_NOT_SERVED);
        return;
      }
      const address = this.router.ownerOf(slot) as string;
      this.tunnel = new PubSubTunnel(address, this.ownConnectionSettings(), this);
    }
    if (spec.name === 'subscribe' || spec.name === 'psubscribe') this.tunnel.subscribed = true;
    if (this.resp3) this.tunnel.sendInTurn(frame, this.enqueue(EMPTY, -1, true));
    else this.tunnel.send(frame);
  }

  onPush(reply: Buffer): void {
    if (this.closed) return;
    // In line behind replies still owed for earlier requests; CLIENT REPLY does not apply to pushes.
    if (this.head === null) {
      this.out.push(reply);
      this.outBytes += reply.length;
      scheduleFlush(this);
      return;
    }
    // Held until what is ahead completes, which a RESP3 subscriber's BLPOP may put off forever:
    // bounded like unread replies, since the messages keep coming.
    this.heldPushBytes += reply.length;
    if (this.heldPushBytes > this.context.maxClientOutputBytes) {
      this.context.logger.warn({ client: this.remoteAddress, bytes: this.heldPushBytes }, 'pub/sub messages held behind a pending reply passed the client output limit; closing it');
      this.destroy();
      return;
    }
    const request = this.enqueue(EMPTY, -1, true);
    request.silent = false;
    request.reply = reply;
  }

  onTunnelLost(): void {
    // Its subscriptions went with the connection; closing tells the client to subscribe again.
    this.context.logger.warn({ client: this.remoteAddress }, 'pub/sub connection to the cluster lost; closing the subscriber');
    this.destroy();
  }

  /** An error reply for a command that was refused; inside MULTI it also dooms the transaction. */
  private refuse(reply: Buffer): void {
    this.replyLocal(this.transactions === null ? reply : this.transactions.refuse(reply));
  }

  /**
   * Sends `frame` to every master, each part routed by a slot that master owns, so a part whose
   * master fails over follows it to the new one. The merged reply keeps this request's place in line.
   */
  private sendToAllMasters(frame: Buffer, merge: MergeParts, readOnly: boolean): void {
    const count = this.router.masterCount();
    if (count === 0) {
      this.replyLocal(SLOT_NOT_SERVED);
      return;
    }
    const fanout = new Fanout(this.enqueue(EMPTY, -1, readOnly), count, merge);
    for (let i = 0; i < count; i++) this.router.dispatch(fanout.part(i, frame, this.router.slotOfMaster(i)));
  }

  /** A request routed by its keys: a read may go to a replica when slotgate is set to. */
  private enqueueKeyed(frame: Buffer, slot: number, spec: CommandSpec): PendingRequest {
    const readOnly = isReadOnly(spec);
    const request = this.enqueue(frame, slot, readOnly);
    if (readOnly && this.context.readFromReplicas) request.replicaRead = true;
    return request;
  }

  private enqueue(frame: Buffer, slot: number, readOnly: boolean): PendingRequest {
    const request = new PendingRequest(this, frame, slot, readOnly);
    if (this.silent) request.silent = true;
    if (this.tail === null) this.head = request;
    else this.tail.next = request;
    this.tail = request;
    this.pending++;
    if (this.pending >= this.context.maxPendingPerClient) this.pauseReading();
    return request;
  }

  /** A reply slotgate made itself: straight out when nothing is ahead of it, else in line. */
  private replyLocal(reply: Buffer): void {
    if (reply[0] === 45 /* '-' */) this.metrics.localErrors++;
    if (this.head === null) {
      if (this.silent) return;
      this.out.push(reply);
      this.outBytes += reply.length;
      scheduleFlush(this);
      return;
    }
    this.enqueue(EMPTY, -1, true).reply = reply;
  }

  /** Stops reading, and stops parsing what was already read: the limits hold to the request. */
  private pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.parser.pause();
    this.socket.pause();
  }

  private resumeIfRoom(): void {
    if (!this.readingPaused || this.closing || this.waitingForDrain || this.blocked) return;
    if (this.pending > this.context.maxPendingPerClient / 2) return;
    this.readingPaused = false;
    this.socket.resume();
    this.parser.resume();
  }

  private onClose(): void {
    this.closed = true;
    // Requests still at the backends finish there; their replies are dropped when they arrive.
    this.head = null;
    this.tail = null;
    this.out = [];
    // Closing a blocked command's connection unblocks it on the node.
    this.dedicated?.closeAll();
    this.tunnel?.close();
    this.context.onSessionClosed(this);
  }
}

/** BLPOP and the like always may; XREAD and XREADGROUP only when asked to (BLOCK). */
function mayBlock(spec: CommandSpec, view: RequestView): boolean {
  if (spec.name !== 'xread' && spec.name !== 'xreadgroup') return true;
  for (let i = 1; i < view.argc; i++) {
    if (view.argEquals(i, 'STREAMS')) return false;
    if (view.argEquals(i, 'BLOCK')) return true;
  }
  return false;
}

/** Redis's wording, including the first arguments it quotes back. */
function unknownCommand(view: RequestView): Buffer {
  let args = '';
  for (let i = 1; i < view.argc && args.length < 128; i++) args += `'${view.argString(i).slice(0, 128 - args.length)}' `;
  return encodeError(`ERR unknown command '${view.argString(0).slice(0, 128)}', with args beginning with: ${args}`);
}
