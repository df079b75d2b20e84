import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { splitAddress } from '../cluster/address.ts';
import { ReplyScanner } from '../resp/reply-scanner.ts';
import { connectNode } from './connect-node.ts';
import { scheduleFlush, type Flushable } from '../util/flush-scheduler.ts';
import { RingQueue } from '../util/ring-queue.ts';
import { writeBatch } from '../util/write-batch.ts';
import { encodeCommand, encodeError } from '../resp/encode.ts';
import { authFailureMessage, type BackendLogin } from './backend-auth.ts';
import type { BackendTls } from './backend-tls.ts';
import { ignoreReply, type ReplyTarget } from './reply-target.ts';

const READONLY = encodeCommand(['READONLY']);

/** What every connection to a node needs, whatever it is for (shared, blocking, pub/sub). */
export interface NodeConnectionSettings {
  connectTimeoutMs: number;
  /**
   * What every new connection sends first: its AUTH, or for RESP3 its HELLO 3 with AUTH folded in;
   * read at each connect, so a reload's new credentials reach the connections opened after it.
   * Undefined: nothing is sent first.
   */
  login?: BackendLogin;
  /** Speak RESP3 to the node (for RESP3 clients): login.hello3 is sent first, its reply checked like AUTH's. */
  resp3?: boolean;
  /** Where a refused AUTH is reported. */
  logger?: Logger;
  /** How to reach nodes that speak TLS (settings.backendTls); read at each connect, as login is. */
  tls?: BackendTls;
}

export interface BackendConnectionOptions extends NodeConnectionSettings {
  /** Send READONLY first on every new connection: it is to a replica that is to serve reads. */
  replica?: boolean;
  /**
   * Pub/sub: every reply goes here, in arrival order, instead of to the waiting targets (messages
   * come unasked). Targets given to send() are then not used.
   */
  onPush?(reply: Buffer): void;
  /** Called when an established connection drops or a connect attempt fails: the topology may have changed. */
  onConnectionLost(address: string, reason: string): void;
}

/** How long a node that refused a connection is failed fast before the next attempt, growing to the max. */
const RETRY_DELAY_MIN_MS = 50;
const RETRY_DELAY_MAX_MS = 2000;

/**
 * One pipelined connection to a Redis node. Requests from any number of clients are appended to a
 * FIFO and written in one batch per event-loop turn; replies are cut from the byte stream by the
 * skip-only scanner and handed, in order, to whoever waits at the front of the FIFO.
 *
 * It connects on first use and again on the first use after a loss. While a connect attempt is
 * failing, requests fail at once instead of piling up (with backoff between attempts).
 */
export class BackendConnection implements Flushable {
  readonly address: string;
  private readonly host: string;
  private readonly port: number;
  private readonly options: BackendConnectionOptions;

  private socket: Socket | null = null;
  private ready = false;
  private closed = false;
  /** Every request written or waiting to be written, in order; replies come back in this order. */
  private waiting = new RingQueue<ReplyTarget>();
  /** How many at the front of `waiting` have been handed to the socket, and how many after them not yet. */
  private written = 0;
  private unwritten = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  flushQueued = false;

  private scanner = new ReplyScanner();
  /** Pieces of a reply that spans reads. */
  private partial: Buffer[] = [];

  private retryDelayMs = 0;
  private failFastUntil = 0;
  private lastError = '';
  /** The next reply is AUTH's (or HELLO 3's), which is checked here and never handed on. */
  private authPending = false;
  /** The node refused our AUTH last time; reported once until it accepts it again. */
  private authRefused = false;
  /** The login generation (BackendLogin.generation) of the last attempt to connect. */
  private loginGeneration = -1;
  /** Told once that the node needs no password. */
  private authUnneededLogged = false;
  /** Reads from the node, counted so that checkReplies can tell progress between its looks, and bytes the kernel had taken at its last look. */
  private reads = 0;
  private readsAtLastCheck = 0;
  private takenAtLastCheck = 0;
  /** When checkReplies first saw replies owed and nothing read since; 0 while none are owed. */
  private owedSince = 0;

  constructor(address: string, options: BackendConnectionOptions) {
    this.address = address;
    const { host, port } = splitAddress(address);
    this.host = host;
    this.port = port;
    this.options = options;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.waiting.length;
  }

  /**
   * up: connected. idle: never needed yet. down: connecting fails, so requests fail fast until the
   * next attempt. suspect: the connection was lost or is being made, and the outcome is not known.
   */
  get health(): 'up' | 'idle' | 'suspect' | 'down' {
    if (this.ready) return 'up';
    if (Date.now() < this.failFastUntil) return 'down';
    return this.socket === null && this.retryDelayMs === 0 && this.lastError === '' ? 'idle' : 'suspect';
  }

  /**
   * Queues `frame` for the node; `target` hears of its reply, or of `replies` replies when the
   * frame holds that many commands (a transaction: MULTI … EXEC), in order.
   */
  send(frame: Buffer, target: ReplyTarget, replies = 1): void {
    if (this.closed) {
      for (let i = 0; i < replies; i++) target.onFailure(`ERR slotgate: connection to ${this.address} is closed`, false);
      return;
    }
    if (this.socket === null) {
      // Credentials changed since the node refused them (a reload): the new ones get one attempt now,
      // not after the backoff; if that fails too, in any way, the backoff holds again.
      if (Date.now() < this.failFastUntil && !(this.authRefused && this.options.login !== undefined && this.options.login.generation !== this.loginGeneration)) {
        if (this.authRefused) {
          // Not worth parking and retrying: only an operator can fix the credentials.
          const error = encodeError(`ERR slotgate: ${this.lastError}`);
          for (let i = 0; i < replies; i++) target.onReply(error, this.address);
          return;
        }
        for (let i = 0; i < replies; i++) target.onFailure(`ERR slotgate: cannot reach ${this.address}: ${this.lastError}`, false);
        return;
      }
      this.open();
    }
    if (this.options.onPush === undefined) {
      for (let i = 0; i < replies; i++) this.waiting.push(target);
      this.unwritten += replies;
    }
    this.out.push(frame);
    this.outBytes += frame.length;
    scheduleFlush(this);
  }

  flush(): void {
    if (!this.ready || this.out.length === 0) return;
    const socket = this.socket as Socket;
    writeBatch(socket, this.out, this.outBytes);
    this.written += this.unwritten;
    this.unwritten = 0;
    this.out = [];
    this.outBytes = 0;
  }

  /** Closes at once; whatever still waits fails. */
  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.failAll(`ERR slotgate: connection to ${this.address} closed`);
  }

  private open(): void {
    const { socket, readyEvent } = connectNode(this.host, this.port, this.options.tls?.options, (chunk) => this.onChunk(chunk));
    const login = this.options.login;
    this.loginGeneration = login?.generation ?? -1;
    const auth = this.options.resp3 === true ? login?.hello3 : login?.auth;
    this.authPending = auth !== undefined;
    if (auth !== undefined) {
      // First of all, so nothing runs before it; its reply is checked in onData, not by a target.
      this.out.push(auth);
      this.outBytes += auth.length;
    }
    if (this.options.replica === true) {
      // Ahead of everything queued: a replica refuses reads (MOVED) on a connection without it.
      this.waiting.push(ignoreReply);
      this.out.push(READONLY);
      this.outBytes += READONLY.length;
      this.unwritten++;
    }
    this.socket = socket;
    this.ready = false;
    socket.setTimeout(this.options.connectTimeoutMs);
    socket.on(readyEvent, () => {
      socket.setTimeout(0);
      this.ready = true;
      // With AUTH to come, the backoff is reset only once the node accepts it.
      if (!this.authPending) this.retryDelayMs = 0;
      this.lastError = '';
      this.flush();
    });
    socket.on('timeout', () => socket.destroy(new Error('connect timed out')));
    socket.on('error', (error: Error) => {
      this.lastError = error.message;
    });
    socket.on('close', () => this.onClose(socket));
  }

  /**
   * Drops the connection when it has owed replies for `timeoutMs` with no byte read: a node that
   * froze or that the network cut off silently (no reset) would otherwise hold its requests until
   * the kernel gives up, many minutes later. Requests still being sent count as progress while the
   * kernel takes them from a backlog Node holds (Node reports each write once handed over whole);
   * bytes the kernel takes at once do not (a frozen node's kernel still takes a trickle of small
   * requests). Called by one coarse timer for every shared
   * connection (see ReplyTimeout), so the data path only counts reads; the timeout fires between
   * `timeoutMs` and two timer periods more after the last progress (or the first request owed).
   */
  checkReplies(now: number, timeoutMs: number): void {
    const socket = this.socket;
    const taken = socket === null ? 0 : socket.bytesWritten - socket.writableLength;
    const sending = socket !== null && socket.writableLength > 0 && taken !== this.takenAtLastCheck;
    this.takenAtLastCheck = taken;
    if (!this.ready || this.written === 0) {
      this.owedSince = 0;
      this.readsAtLastCheck = this.reads;
      return;
    }
    if (this.owedSince === 0 || this.reads !== this.readsAtLastCheck || sending) {
      this.owedSince = now;
      this.readsAtLastCheck = this.reads;
      return;
    }
    if (now - this.owedSince >= timeoutMs) this.abort(`no reply for ${timeoutMs} ms (replyTimeoutMs)`);
  }

  private onChunk(chunk: Buffer): void {
    this.reads++;
    try {
      this.onData(chunk);
    } catch (error) {
      // A throw while delivering replies leaves the FIFO out of step with the stream: drop the
      // connection (its requests fail cleanly) rather than the process.
      this.abort(`internal error: ${(error as Error).message}`);
    }
  }

  private onData(chunk: Buffer): void {
    let pos = 0;
    const length = chunk.length;
    while (pos < length) {
      const end = this.scanner.scan(chunk, pos, length);
      if (end === -1) {
        this.partial.push(pos === 0 ? chunk : chunk.subarray(pos));
        return;
      }
      if (end === -2) {
        this.abort(`protocol error from ${this.address}: ${this.scanner.error}`);
        return;
      }
      let reply: Buffer;
      if (this.partial.length === 0) {
        reply = chunk.subarray(pos, end);
      } else {
        this.partial.push(chunk.subarray(pos, end));
        reply = Buffer.concat(this.partial);
        this.partial = [];
      }
      pos = end;
      if (this.authPending) {
        this.authPending = false;
        if (reply[0] === 45 /* - */ && !this.authNotNeeded(reply)) {
          this.onAuthRefused(reply);
          return;
        }
        this.authRefused = false;
        this.retryDelayMs = 0;
        continue;
      }
      if (this.options.onPush !== undefined) {
        this.options.onPush(reply);
        continue;
      }
      const target = this.waiting.shift();
      if (target === undefined) {
        this.abort(`unexpected reply from ${this.address}`);
        return;
      }
      this.written--;
      target.onReply(reply, this.address);
    }
  }

  /**
   * A node without a password answers `AUTH <password>` with an error but serves the connection
   * (a password being rolled out): what was sent behind the AUTH ran, so the connection goes on.
   */
  private authNotNeeded(reply: Buffer): boolean {
    const detail = reply.toString('utf8', 1, reply.length - 2);
    if (!/without any password configured/.test(detail)) return false;
    if (!this.authUnneededLogged) this.options.logger?.warn({ node: this.address, reply: detail }, 'backendPassword is set but the node has no password');
    this.authUnneededLogged = true;
    return true;
  }

  /**
   * The node refused our AUTH: drop the connection and back off as from a refused connect. What was
   * written behind the AUTH most likely got NOAUTH, but a node that lets the default user in
   * without a password ran it, so those requests fail as any lost connection's do (writes in doubt,
   * reads retried); a retry, like every new request until the node accepts the credentials, gets
   * the authentication error at once (see send()).
   */
  private onAuthRefused(reply: Buffer): void {
    const socket = this.socket as Socket;
    const detail = reply.toString('utf8', 1, reply.length - 2);
    this.lastError = authFailureMessage(this.address, detail);
    if (!this.authRefused) this.options.logger?.error({ node: this.address, reply: detail }, 'backend authentication failed');
    this.authRefused = true;
    this.detach(true);
    socket.destroy();
    this.options.onPush?.(encodeError(`ERR slotgate: ${this.lastError}`));
    this.reportLoss(this.lastError, `ERR slotgate: ${this.lastError}`);
  }

  private abort(reason: string): void {
    this.lastError = reason;
    this.socket?.destroy();
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    this.detach(!this.ready);
    const reason = this.lastError || 'connection closed';
    this.reportLoss(reason, `ERR slotgate: lost connection to ${this.address}: ${reason}`);
  }

  /** Forgets the socket and any reply half read; `backOff` after a failed attempt: fail fast for a while. */
  private detach(backOff: boolean): void {
    this.socket = null;
    this.ready = false;
    this.partial = [];
    // A fresh scanner: the old one may have stopped halfway through a reply.
    this.scanner = new ReplyScanner();
    if (backOff) {
      this.retryDelayMs = Math.min(RETRY_DELAY_MAX_MS, Math.max(RETRY_DELAY_MIN_MS, this.retryDelayMs * 2));
      this.failFastUntil = Date.now() + this.retryDelayMs;
    }
  }

  /**
   * The socket is gone: says so, then fails what waited on it. The waiting list is taken out before
   * anyone hears of it: what is sent from here on, by onConnectionLost or by a failure's callback (a
   * client whose reading resumes parses its next requests at once), belongs to the next socket.
   * Told before the failures, so that what they set off already knows (a WATCH on it is lost).
   */
  private reportLoss(reason: string, message: string): void {
    const orphans = this.takeWaiting();
    if (!this.closed) this.options.onConnectionLost(this.address, reason);
    this.fail(orphans, message);
  }

  private failAll(message: string): void {
    this.fail(this.takeWaiting(), message);
  }

  /** Empties the queues of the socket that is gone; returns its targets and how many of them were written. */
  private takeWaiting(): { waiting: RingQueue<ReplyTarget>; written: number } {
    const taken = { waiting: this.waiting, written: this.written };
    this.waiting = new RingQueue<ReplyTarget>();
    this.written = 0;
    this.unwritten = 0;
    this.out = [];
    this.outBytes = 0;
    return taken;
  }

  private fail({ waiting, written }: { waiting: RingQueue<ReplyTarget>; written: number }, message: string): void {
    for (let target = waiting.shift(); target !== undefined; target = waiting.shift()) {
      target.onFailure(message, written > 0);
      written--;
    }
  }
}
