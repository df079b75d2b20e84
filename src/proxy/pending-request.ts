import { encodeError } from '../resp/encode.ts';
import type { ClientSession } from './client-session.ts';
import type { RoutedRequest } from './routed-request.ts';

/**
 * One client request on its way through slotgate: its place in the client's reply order, the bytes
 * to send, and, once known, the reply. The session keeps these in a singly linked list in request
 * order and writes replies out from the front as soon as they are complete, so a slow node delays
 * only the replies behind its own.
 */
const EMPTY = Buffer.alloc(0);

export class PendingRequest implements RoutedRequest {
  readonly session: ClientSession;
  readonly affinity: number;
  /** The request as sent to the backend (the client's own bytes, or re-encoded inline). */
  readonly frame: Buffer;
  /** Hash slot of its keys, or -1 when it has none. */
  readonly slot: number;
  /** MOVED/ASK redirects followed so far. */
  redirects = 0;
  readonly readOnly: boolean;
  parkedAt = 0;
  readonly replyCount = 1;
  replicaRead = false;
  /** The session's protocol when the request arrived (HELLO 3 changes it for later ones only). */
  readonly resp3: boolean;
  reply: Buffer | null = null;
  /** Set instead of one reply buffer for a large merged reply (KEYS): its pieces, in order. */
  pieces: Buffer[] | null = null;
  /** Its command's CommandSpec.id, for the latency metric; -1: not timed (slotgate's own replies). */
  commandId = -1;
  /** performance.now() of the read that brought it in. */
  arrivedAt = 0;
  /** Under CLIENT REPLY OFF/SKIP: carried out, but its reply is not sent. */
  silent = false;
  /** Unasked output held here behind a reply owed (SessionOutput.sendUnasked): what it counts against the limit. */
  heldCost = 0;
  next: PendingRequest | null = null;

  constructor(session: ClientSession, frame: Buffer, slot: number, readOnly: boolean) {
    this.session = session;
    this.readOnly = readOnly;
    this.affinity = session.affinity;
    this.resp3 = session.resp3;
    this.frame = frame;
    this.slot = slot;
  }

  onReply(reply: Buffer, from: string): void {
    // Only error replies can be redirects; the first byte settles it for every other reply.
    if (reply[0] === 45 /* '-' */ && this.session.router.onClusterError(this, reply, from)) return;
    this.complete(reply);
  }

  onFailure(message: string, written: boolean): void {
    if (written && !this.readOnly) this.complete(inDoubt(this, message));
    else this.session.router.retryLater(this, message);
  }

  complete(reply: Buffer): void {
    this.reply = reply;
    this.session.onRequestComplete(this);
  }

  /** Completes with a reply in several pieces, written one after the other without being joined. */
  completeInPieces(pieces: Buffer[]): void {
    this.pieces = pieces;
    this.complete(EMPTY);
  }
}

/**
 * A write was on its way when its node's connection died: it may or may not have been applied, and
 * sending it again could apply it twice (INCR), so the client is told. Counted against `request`'s
 * session (the client's request, whichever part of it failed).
 */
export function inDoubt(request: PendingRequest, message: string): Buffer {
  request.session.metrics.inDoubtWrites++;
  return encodeError(`${message}; the write was in flight and may or may not have been applied`);
}
