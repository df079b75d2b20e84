import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CommandSpec } from '../commands/command-spec.ts';
import { encodeError } from '../resp/encode.ts';
import { RequestParser, type RequestSink } from '../resp/request-parser.ts';
import type { RequestView } from '../resp/request-view.ts';
import { Policy, type PolicyKind } from './command-policy.ts';
import { isReadOnly, SLOT_NOT_SERVED } from './request-keys.ts';
import { BlockingRequest, DedicatedConnections } from './blocking-request.ts';
import { SessionPubSub, type PubSubHost } from './session-pubsub.ts';
import { SessionTransactions } from './session-transactions.ts';
import { QUEUED_REPLY, type Transaction } from './transaction.ts';
import { Outcome, runMonitored, SessionMonitor, type MonitoredSession, type MonitorHost } from './session-monitor.ts';
import { answerLocally, unknownCommand, wrongArity, type LocalSession } from './local-commands.ts';
import type { PendingRequest } from './pending-request.ts';
import { SessionOutput } from './session-output.ts';
import type { Router } from './router.ts';
import { mergeInfo } from './split/merge-info.ts';
import { scanAcrossMasters } from './split/scan.ts';
import { routeByKeys, sendToAllMasters, sendToClientsMaster, type RoutingHost } from './route-request.ts';
import { startReading } from '../util/socket-reader.ts';
import { formatAddress } from '../cluster/address.ts';
import type { NodeConnectionSettings } from '../upstream/backend-connection.ts';
import { NOAUTH, NO_AUTH_NEEDED } from './client-auth.ts';
import type { UserPermissions } from './user-permissions.ts';
import type { ProxyUser, UserTable } from './user-table.ts';
import type { ProxyContext } from './proxy-context.ts';

const EMPTY = Buffer.alloc(0);

const RESET_REPLY = Buffer.from('+RESET\r\n');
const NO_SUBSCRIPTIONS = [0, 0, 0] as const;

/**
 * Local commands that change which connections to the nodes serve the client (HELLO switching
 * protocol; RESET, which also drops its subscriptions, its WATCH and its MULTI): carried out once
 * every reply owed ahead of them is in, as Redis would have sent those before running them. Done
 * at once, they could drop a subscription whose confirmation is still on its way, or let the
 * client's next requests, on other connections, overtake earlier ones.
 */
const WAITS_FOR_EARLIER_REPLIES = ['hello', 'reset'];

/** What a blocked client may send before slotgate stops reading from it. */
const BLOCKED_READ_LIMIT = 1024 * 1024;

/**
 * One client connection: parses its requests, checks each (auth, arity, permissions), and answers,
 * routes, splits or queues it by its command's policy; keeps the client's state (protocol, MULTI,
 * WATCH, subscriptions, MONITOR, user). The replies go back in request order through the
 * SessionOutput it extends, which also holds the flow control.
 */
export class ClientSession extends SessionOutput implements RequestSink, LocalSession, PubSubHost, RoutingHost, MonitoredSession, MonitorHost {
  readonly id: number;
  /** Picks this client's connection to each node: consecutive in this process, whatever the ids. */
  readonly affinity: number;
  readonly router: Router;
  name: Buffer | null = null;
  readonly localAddress: string;
  readonly connectedAt = Date.now();
  lastCommand = 'NULL';
  /** False until the client gives the password, when one is set; true from the start otherwise. */
  authenticated: boolean;
  /** The user it is logged in as: the default user until AUTH names another. */
  user: ProxyUser;
  /**
   * Its user's restrictions (ProxyUser.permissions), copied here so that a client whose user has
   * none pays one field test per request; null: none. Set again at AUTH and at a reload.
   */
  private permissions: UserPermissions | null;
  /** Set by HELLO 3: replies in RESP3, from the nodes' RESP3 connections. */
  resp3 = false;
  /** How MONITOR shows this client: its address, or `unix:<path>` for a Unix-socket client, as Redis does. */
  readonly monitorName: string;

  /** CLIENT REPLY OFF in force, SKIP pending, and whether SKIP silences the request being handled. */
  private repliesOff = false;
  private skipNext = false;
  private skipped = false;

  /** Connections of this client's own, for blocking commands and WATCH. */
  private dedicated: DedicatedConnections | null = null;
  /**
   * What runs once every reply owed ahead of `target` is in: a request going over another
   * connection than the client's earlier ones, which it must not overtake, or a HELLO or RESET
   * (see sendWhenFirst).
   */
  private heldSend: { target: PendingRequest; send: () => void } | null = null;
  /** The MONITOR line of a HELLO or RESET waiting its turn (see answerWhenFirst). */
  private shownWhenRun: Buffer | null = null;

  /** Pub/sub state (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE), once the client has subscribed. */
  private pubsub: SessionPubSub | null = null;

  /** MULTI … EXEC and WATCH state, once the client has used either. */
  private transactions: SessionTransactions | null = null;

  /** MONITOR mode: the lines this client is sent, while it monitors. */
  private monitor: SessionMonitor | null = null;

  get serverVersion(): string {
    return this.context.serverVersion;
  }

  get users(): UserTable {
    return this.context.users;
  }

  /** `unixSocket`: the path the client connected to, when it came over a Unix domain socket. */
  constructor(socket: Socket, id: number, affinity: number, context: ProxyContext, unixSocket: string | null = null) {
    // A Unix-socket client has neither address nor port: Redis shows the socket's path and port 0.
    super(socket, context, unixSocket === null ? formatAddress(socket.remoteAddress, socket.remotePort) : `${unixSocket}:0`);
    this.id = id;
    this.affinity = affinity;
    this.router = context.router;
    this.parser = new RequestParser(this, context);
    this.user = context.users.defaultUser;
    this.permissions = this.user.permissions;
    // As Redis: a default user that needs no password logs everyone in from the start.
    this.authenticated = this.user.passwords === null;
    this.monitorName = unixSocket === null ? this.remoteAddress : `unix:${unixSocket}`;
    this.localAddress = unixSocket === null ? formatAddress(socket.localAddress, socket.localPort) : `${unixSocket}:0`;
    socket.setNoDelay(true);
    startReading(socket, (chunk: Buffer) => {
      // After QUIT or a protocol error nothing more is read: it would only pile up.
      if (this.closing) return;
      this.lastReadAt = performance.now();
      this.metrics.clientBytesRead += chunk.length;
      try {
        this.parser.feed(chunk);
        // Blocked, the socket is still read so a client that leaves is noticed (and its blocking
        // command unblocked); what it sends meanwhile waits in the parser, up to a bound.
        if (this.blocked && this.parser.bufferedBytes > BLOCKED_READ_LIMIT) this.pauseReading();
      } catch (error) {
        this.onInternalError(error);
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
    this.skipped = this.skipNext;
    this.skipNext = false;
    const spec = this.context.table.lookup(view);
    if (spec === undefined) {
      this.commandId = -1;
      this.refuse(unknownCommand(view));
      return;
    }
    this.lastCommand = spec.name;
    this.commandId = spec.id;
    this.metrics.commands[spec.id]++;
    const arity = spec.arity;
    if ((arity > 0 && view.argc !== arity) || view.argc < -arity) {
      this.refuse(wrongArity(spec.name));
      return;
    }
    // As in Redis, after the command and arity checks.
    if (!this.authenticated && !NO_AUTH_NEEDED.includes(spec.name)) {
      this.refuse(NOAUTH);
      return;
    }
    // The one test a client whose user may do everything pays. Here, ahead of every path a request
    // takes (queued in MULTI, WATCH, blocking, split by slot), as Redis checks before running it.
    if (this.permissions !== null) {
      const denied = this.permissions.check(spec, view);
      if (denied !== null) {
        this.refuse(denied);
        return;
      }
    }
    const kind = this.context.policies.kindOf(spec);
    // The one test MONITOR costs while nobody monitors.
    if (this.context.monitors.count !== 0) runMonitored(this, spec, kind, view);
    else this.dispatch(spec, kind, view);
  }

  /** Carries out a request that passed the checks of onRequest; says what became of it, for MONITOR. */
  dispatch(spec: CommandSpec, kind: PolicyKind, view: RequestView): Outcome {
    if (this.pubsub !== null && this.pubsub.handledWhileSubscribed(spec, kind, view)) {
      // Refused, or a PING answered in its subscribed-mode form.
      return spec.name === 'ping' ? Outcome.ran : Outcome.refused;
    }
    if (this.transactions?.queuing === true && kind !== Policy.transaction && spec.name !== 'quit' && spec.name !== 'reset') {
      const reply = this.transactions.queue(spec, view, kind);
      this.replyLocal(reply);
      return reply === QUEUED_REPLY ? Outcome.queued : Outcome.refused;
    }
    switch (kind) {
      case Policy.byKeys:
        routeByKeys(this, spec, view);
        return Outcome.ran;
      case Policy.local:
        if (this.head !== null && WAITS_FOR_EARLIER_REPLIES.includes(spec.name)) {
          this.answerWhenFirst(spec, view.detach());
          return Outcome.deferred;
        }
        this.replyLocal(answerLocally(spec, view, this));
        return Outcome.ran;
      case Policy.anyMaster:
        this.router.dispatchToAnyMaster(this.enqueue(view.frame, -1, isReadOnly(spec)));
        return Outcome.ran;
      case Policy.clientsMaster:
        sendToClientsMaster(this, view.frame, spec);
        return Outcome.ran;
      case Policy.allMasters:
        sendToAllMasters(this, view.frame, this.context.policies.mergeOf(spec), isReadOnly(spec));
        return Outcome.ran;
      case Policy.scan:
        scanAcrossMasters(this.enqueue(EMPTY, -1, true), view, this.router);
        return Outcome.ran;
      case Policy.info:
        sendToAllMasters(this, view.frame, (parts) => mergeInfo(parts, this.context.proxyInfo()), true, false);
        return Outcome.ran;
      case Policy.transaction:
        this.sessionTransactions().transactionCommand(spec);
        return Outcome.ran;
      case Policy.watch:
        this.sessionTransactions().watchCommand(spec, view);
        return Outcome.ran;
      case Policy.subscribe:
        this.pubsub ??= new SessionPubSub(this);
        this.pubsub.command(spec, view);
        return Outcome.ran;
      case Policy.shardedSubscribe:
        this.pubsub ??= new SessionPubSub(this);
        this.pubsub.shardedCommand(spec, view);
        return Outcome.ran;
      default:
        this.replyLocal(encodeError(`ERR ${this.context.policies.refusalOf(spec)}`));
        return Outcome.refused;
    }
  }

  get monitoring(): boolean {
    return this.monitor !== null;
  }

  get transactionBeingQueued(): Transaction | null {
    return this.transactions?.current ?? null;
  }

  /** MONITOR: from now on, a line for every command this process's clients run. */
  startMonitor(): void {
    if (this.monitor !== null) return;
    this.monitor = new SessionMonitor(this);
    this.context.monitors.add(this.monitor);
  }

  private stopMonitor(): void {
    if (this.monitor === null) return;
    this.monitor.stopped = true;
    this.context.monitors.remove(this.monitor);
    this.monitor = null;
  }

  /**
   * RESET, as Redis does it: out of MONITOR mode, MULTI discarded and WATCHes dropped, every
   * subscription gone, CLIENT REPLY ON, no name, RESP2, and the default user again (so, with a
   * password set, not authenticated). Answered +RESET.
   */
  reset(): Buffer {
    this.stopMonitor();
    this.transactions?.reset();
    // Closing the client's own connection to the node ends its subscriptions there; messages still on their way are dropped.
    this.pubsub?.close();
    this.pubsub = null;
    this.setReplyMode('on');
    // As Redis: RESET clears CLIENT REPLY OFF and a SKIP still to come, but a SKIP that applies to
    // RESET itself still silences its reply.
    this.silent = this.skipped;
    this.name = null;
    if (this.resp3) this.setProtocol(false);
    const defaultUser = this.context.users.defaultUser;
    this.user = defaultUser;
    this.permissions = defaultUser.permissions;
    this.authenticated = defaultUser.passwords === null;
    return RESET_REPLY;
  }

  onProtocolError(message: string): void {
    // As Redis does: answer what came before, then the error, then close.
    this.replyLocal(encodeError(`ERR ${message}`));
    this.closeAfterReplies();
  }

  logIn(user: ProxyUser): void {
    this.user = user;
    this.permissions = user.permissions;
    this.authenticated = true;
  }

  /**
   * After a reload changed the users: the client of a removed user is disconnected (as by Redis's
   * ACL DELUSER); any other takes its user's new permissions at once, and stays logged in whatever
   * happened to the passwords (as after ACL SETUSER). With a default user that needs no password
   * any more, a client that had not authenticated needs not.
   */
  onUsersChanged(): void {
    if (this.user.removed) {
      this.destroy();
      return;
    }
    this.permissions = this.user.permissions;
    if (!this.authenticated && this.context.users.defaultUser.passwords === null) this.authenticated = true;
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

  get connected(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  get subscribed(): boolean {
    return this.pubsub?.subscribed === true;
  }

  get subscriptionCounts(): readonly [number, number, number] {
    return this.pubsub?.counts ?? NO_SUBSCRIPTIONS;
  }

  /**
   * Spared by the idle `timeout` (server/idle-client-sweep.ts), as Redis spares blocked, subscribed
   * and monitoring clients: while a reply is owed (a blocking command's among them), it is
   * subscribed, or it monitors.
   */
  get timeoutExempt(): boolean {
    return this.head !== null || this.subscribed || this.monitoring;
  }

  /** Reply bytes the socket has finished writing: while it grows, the client reads (Redis counts that as activity). */
  get bytesDelivered(): number {
    return (this.socket.bytesWritten ?? 0) - this.socket.writableLength;
  }

  setProtocol(resp3: boolean): Buffer | null {
    if (this.pubsub?.subscribed === true) return encodeError('ERR slotgate: switching protocol while subscribed is not supported');
    // Connections of the client's own speak the protocol they were opened in: new ones from now on.
    this.pubsub?.dropTunnel();
    // A WATCH lives on one of those connections: EXEC must then fail, not run unwatched.
    this.transactions?.onOwnConnectionsDropped();
    this.dedicated?.closeAll();
    this.dedicated = null;
    // Later requests go over other connections (a node's RESP3 set, or back): nothing sent before
    // is still owed a reply (HELLO waits for that, see WAITS_FOR_EARLIER_REPLIES), so none can
    // overtake an earlier one.
    this.resp3 = resp3;
    return null;
  }

  /**
   * Answers `spec` (a local command of WAITS_FOR_EARLIER_REPLIES) once the replies owed ahead of it
   * are in, reading no further request meanwhile. `view` must be detached: the parser moves on.
   */
  private answerWhenFirst(spec: CommandSpec, view: RequestView): void {
    const target = this.enqueue(EMPTY, -1, true);
    // slotgate's own answer: not timed as the cluster's.
    target.commandId = -1;
    this.sendWhenFirst(target, () => {
      const reply = answerLocally(spec, view, this);
      // Messages and MONITOR lines that came while it waited were queued behind it, but came before
      // it ran: they go ahead of its reply, in the protocol and subscriptions they were sent in, and
      // CLIENT REPLY does not silence them. The reply itself is silenced as the session now says
      // (RESET turns CLIENT REPLY OFF off; nothing was parsed meanwhile).
      const taken = this.takeUnaskedBehind(target);
      const silenced = this.silent;
      target.silent = false;
      target.completeInPieces(silenced ? taken : [...taken, reply]);
      const shown = this.shownWhenRun;
      this.shownWhenRun = null;
      // Shown once run, as Redis shows a command: after RESET, not to this client any more.
      if (shown !== null) this.context.monitors.publish(this.monitorName, shown);
      this.unblock();
    });
  }

  showWhenRun(args: Buffer): void {
    this.shownWhenRun = args;
  }

  /** For the connections this client opens of its own (blocking, pub/sub): in its protocol. */
  ownConnectionSettings(): NodeConnectionSettings {
    return this.resp3 ? { ...this.context.nodeConnection, resp3: true } : this.context.nodeConnection;
  }

  protected onClosing(): void {
    // Nothing more to send it but the replies owed.
    this.stopMonitor();
  }

  protected onHeadMoved(head: PendingRequest | null): void {
    if (this.heldSend !== null && this.heldSend.target === head) {
      const held = this.heldSend;
      this.heldSend = null;
      held.send();
    }
  }

  /**
   * A command that may block (BLPOP, XREAD BLOCK …) goes over a connection of this client's own,
   * and nothing more of the client's is handled until it returns, as Redis does for a blocked client.
   */
  sendBlocking(frame: Buffer, slot: number, spec: CommandSpec): void {
    const owner = this.router.ownerOf(slot);
    if (owner === null) {
      this.replyLocal(SLOT_NOT_SERVED);
      return;
    }
    const target = this.enqueue(frame, slot, isReadOnly(spec));
    const blocking = new BlockingRequest(target, frame, this.dedicatedConnections(), () => this.unblock());
    // The owner as it is when the command goes: the map may have changed while it waited its turn.
    this.sendWhenFirst(target, () => blocking.send(this.router.ownerOf(slot) ?? owner));
  }

  /**
   * Runs `send` once `target` is the oldest request owed a reply, and reads no further request
   * until unblock(). For requests that go over a connection of the client's own (a blocking
   * command, a WATCH, a watched EXEC): sent at once, they could run before the client's earlier
   * requests, still on their way over the shared connections (`DEL l` then `BLPOP l` popping what
   * was deleted; a WATCH placed before the client's own SET of that key).
   */
  sendWhenFirst(target: PendingRequest, send: () => void): void {
    this.holdRequests();
    if (this.head === target) send();
    else this.heldSend = { target, send };
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
        table: this.context.table,
        get permissions() {
          return session.permissions;
        },
        limits: this.context,
        replyLocal: (reply) => this.replyLocal(reply),
        enqueue: (frame, slot, readOnly) => this.enqueue(frame, slot, readOnly),
        dedicatedConnections: () => this.dedicatedConnections(),
        sendWhenFirst: (target, send) => this.sendWhenFirst(target, send),
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
    else if (!this.closing) this.resumeParsing();
  }

  /** A slot of the master this client's keyless traffic sticks to (PUBLISH, its subscriptions); -1 when there is none. */
  clientsMasterSlot(): number {
    const masters = this.router.masterCount();
    return masters === 0 ? -1 : this.router.slotOfMaster(this.affinity % masters);
  }

  /** An error reply for a command that was refused; inside MULTI it also dooms the transaction. */
  refuse(reply: Buffer): void {
    this.replyLocal(this.transactions === null ? reply : this.transactions.refuse(reply));
  }

  private onClose(): void {
    this.forgetReplies();
    // Closing a blocked command's connection unblocks it on the node.
    this.dedicated?.closeAll();
    this.pubsub?.close();
    this.stopMonitor();
    this.context.onSessionClosed(this);
  }
}
