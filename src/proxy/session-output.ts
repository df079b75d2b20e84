import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ProxyMetrics } from '../observability/metrics.ts';
import type { RequestParser } from '../resp/request-parser.ts';
import { encodeError } from '../resp/encode.ts';
import { scheduleFlush, type Flushable } from '../util/flush-scheduler.ts';
import { writeBatch } from '../util/write-batch.ts';
import type { ClientSession } from './client-session.ts';
import { PendingRequest } from './pending-request.ts';
import type { ProxyContext } from './proxy-context.ts';

const EMPTY = Buffer.alloc(0);
const INTERNAL_ERROR = encodeError('ERR slotgate: internal error; closing the connection');
/**
 * What one piece of held unasked output costs beyond its bytes (its Buffer object, its slot in the
 * list), counted against maxClientOutputBytes with them, so small messages can't take many times
 * the limit (measured: ~490 bytes of heap per 32-byte message held one request each).
 */
const HELD_PIECE_UPKEEP = 96;

/**
 * The reply side of a client session: its requests in arrival order (a list of PendingRequest),
 * replies taken from the head as they complete and written once per event-loop turn, and the flow
 * control that stops reading from a client with too much in flight or that does not read its
 * replies, so no client can make slotgate buffer without bound. ClientSession extends it with the
 * request side (what each command does); one object, so the data path reads plain fields.
 */
export abstract class SessionOutput implements Flushable {
  flushQueued = false;
  readonly context: ProxyContext;
  readonly metrics: ProxyMetrics;
  readonly remoteAddress: string;
  /**
   * performance.now() at the last read from the client: the arrival time of what it brought, and
   * what its idle time counts from. Monotonic, so a step of the wall clock changes neither.
   */
  lastReadAt = performance.now();

  protected readonly socket: Socket;
  /** Made by the subclass, which is the parser's sink. */
  protected parser!: RequestParser;
  /** The command being handled (CommandSpec.id), for the latency of its reply; -1 for none. */
  protected commandId = -1;
  /** The request being handled is silenced (CLIENT REPLY OFF or SKIP). */
  protected silent = false;

  /** Requests in order; replies leave from the head once complete. */
  protected head: PendingRequest | null = null;
  private tail: PendingRequest | null = null;
  private pending = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  /** Bytes of unasked output (see sendUnasked) waiting behind a reply still owed, with their upkeep. */
  private heldUnaskedBytes = 0;
  /** The last request made to hold unasked output, which more of it joins while nothing is queued behind it. */
  private heldUnasked: PendingRequest | null = null;

  protected closing = false;
  /** The socket's end() has been called. */
  private ending = false;
  protected closed = false;
  protected readingPaused = false;
  protected waitingForDrain = false;
  /** Later requests are held (a blocking command, a WATCH, a watched EXEC, a HELLO or RESET on its way). */
  protected blocked = false;

  constructor(socket: Socket, context: ProxyContext, remoteAddress: string) {
    this.socket = socket;
    this.context = context;
    this.metrics = context.metrics;
    this.remoteAddress = remoteAddress;
  }

  /** The head of the reply order moved to `head` (null: none owed). */
  protected abstract onHeadMoved(head: PendingRequest | null): void;
  /** The session will take nothing more: only the replies owed go out. */
  protected abstract onClosing(): void;

  /** A new request, last in the reply order. */
  enqueue(frame: Buffer, slot: number, readOnly: boolean): PendingRequest {
    // Only ClientSession extends this class.
    const request = new PendingRequest(this as unknown as ClientSession, frame, slot, readOnly);
    request.commandId = this.commandId;
    request.arrivedAt = this.lastReadAt;
    if (this.silent) request.silent = true;
    if (this.tail === null) this.head = request;
    else this.tail.next = request;
    this.tail = request;
    this.pending++;
    if (this.pending >= this.context.maxPendingPerClient) this.pauseReading();
    return request;
  }

  /** A reply slotgate made itself: straight out when nothing is ahead of it, else in line. */
  replyLocal(reply: Buffer): void {
    if (reply[0] === 45 /* '-' */) this.metrics.localErrors++;
    if (this.head === null) {
      if (this.silent) return;
      this.out.push(reply);
      this.outBytes += reply.length;
      scheduleFlush(this);
      return;
    }
    this.queueReady(reply);
  }

  /** A reply that needs nothing more (slotgate's own, or a pub/sub message): in line, and not timed. */
  private queueReady(reply: Buffer): PendingRequest {
    const request = this.enqueue(EMPTY, -1, true);
    request.reply = reply;
    request.commandId = -1;
    return request;
  }

  /**
   * Output no request asked for: a pub/sub message or forced unsubscribe, a MONITOR line. Written
   * now when no reply is owed, else in line behind those, never silenced by CLIENT REPLY. What waits
   * there is bounded like unread replies (maxClientOutputBytes), since such output keeps coming
   * while a reply ahead of it may be put off for ever (a RESP3 subscriber's BLPOP): past that the
   * client is closed, as the flush closes one that does not read. `what` names it in the log.
   */
  sendUnasked(bytes: Buffer, what: string): void {
    if (this.closed) return; // nobody left to write it to
    if (this.head === null) {
      this.out.push(bytes);
      this.outBytes += bytes.length;
      scheduleFlush(this);
      return;
    }
    const cost = bytes.length + HELD_PIECE_UPKEEP;
    this.heldUnaskedBytes += cost;
    if (this.heldUnaskedBytes > this.context.maxClientOutputBytes) {
      this.context.logger.warn({ client: this.remoteAddress, bytes: this.heldUnaskedBytes }, `${what} held behind a pending reply passed the client output limit; closing it`);
      this.socket.destroy();
      return;
    }
    // A copy: a message is a view into the read that brought it from the node, which it would
    // keep alive whole for as long as it waits.
    const held = Buffer.from(bytes);
    const last = this.heldUnasked;
    if (last !== null && last === this.tail) {
      (last.pieces as Buffer[]).push(held);
      last.heldCost += cost;
      return;
    }
    const request = this.queueReady(held);
    request.silent = false;
    request.pieces = [held];
    request.heldCost = cost;
    this.heldUnasked = request;
  }

  /** Called by a request when its reply is ready (or it failed). */
  onRequestComplete(request: PendingRequest): void {
    if (this.closed || request !== this.head) return;
    let head: PendingRequest | null = request;
    while (head !== null && head.reply !== null) {
      if (head.silent) {
        // CLIENT REPLY OFF/SKIP: carried out, not answered.
      } else {
        if (head.pieces !== null) {
          for (const piece of head.pieces) {
            this.out.push(piece);
            this.outBytes += piece.length;
          }
        } else {
          this.out.push(head.reply);
          this.outBytes += head.reply.length;
        }
        if (head.commandId >= 0) this.metrics.latency.completed(head.commandId, head.arrivedAt);
      }
      // Held unasked output written: no longer held (the list may never empty for a busy client).
      if (head.heldCost !== 0) this.heldUnaskedBytes -= head.heldCost;
      this.pending--;
      head = head.next;
    }
    this.head = head;
    if (head === null) {
      this.tail = null;
      // The unasked output held went out with the replies.
      this.heldUnaskedBytes = 0;
      this.heldUnasked = null;
    }
    scheduleFlush(this);
    if (this.readingPaused) this.resumeIfRoom();
    this.onHeadMoved(head);
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

  closeAfterReplies(): void {
    this.closing = true;
    this.onClosing();
    this.pauseReading();
    scheduleFlush(this);
  }

  /** Stops reading, lets the replies still owed go out, then closes (graceful shutdown). */
  shutdown(): void {
    this.closeAfterReplies();
  }

  /** Closes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Unlinks the held unasked output queued right behind `target` (the head, whose client sends
   * nothing meanwhile) and returns its pieces, so that they can go out ahead of target's reply. Stops
   * at anything not ready yet (a forced sunsubscribe waiting its turn), which stays behind.
   */
  protected takeUnaskedBehind(target: PendingRequest): Buffer[] {
    const pieces: Buffer[] = [];
    let held = target.next;
    for (; held !== null && held.reply !== null; held = held.next) {
      if (held.pieces !== null) pieces.push(...held.pieces);
      else pieces.push(held.reply);
      this.heldUnaskedBytes -= held.heldCost;
      this.pending--;
    }
    target.next = held;
    if (held === null) this.tail = target;
    // Later unasked output starts a request of its own (harmless if one it could join remains).
    this.heldUnasked = null;
    return pieces;
  }

  /** The socket is gone: requests still at the backends finish there, and their replies are dropped. */
  protected forgetReplies(): void {
    this.closed = true;
    this.head = null;
    this.tail = null;
    this.heldUnasked = null;
    this.out = [];
  }

  /** Stops reading, and stops parsing what was already read: the limits hold to the request. */
  protected pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.parser.pause();
    this.socket.pause();
  }

  protected resumeIfRoom(): void {
    if (!this.readingPaused || this.closing || this.waitingForDrain || this.blocked) return;
    if (this.pending > this.context.maxPendingPerClient / 2) return;
    this.readingPaused = false;
    this.socket.resume();
    this.resumeParsing();
  }

  /**
   * Parses what the client sent while it was held. This runs inside whatever freed it (a node's
   * reply, a retry timer, a drain), so a throw here would fail that instead: a backend connection
   * and every client on it, or the process. Caught, it costs this one client its connection.
   */
  protected resumeParsing(): void {
    try {
      this.parser.resume();
    } catch (error) {
      this.onInternalError(error);
    }
  }

  /** A bug of ours while handling this client's requests: it must cost this one client its connection, never the whole proxy. */
  protected onInternalError(error: unknown): void {
    this.context.logger.error({ err: error, client: this.remoteAddress }, 'internal error handling a request');
    this.replyLocal(INTERNAL_ERROR);
    this.closeAfterReplies();
  }
}
