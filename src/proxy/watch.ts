import { encodeCommand, encodeError } from '../resp/encode.ts';
import type { BackendConnection } from '../upstream/backend-connection.ts';
import { ignoreReply, type ReplyTarget } from '../upstream/reply-target.ts';
import type { DedicatedConnections } from './blocking-request.ts';
import { inDoubt, type PendingRequest } from './pending-request.ts';
import type { Transaction } from './transaction.ts';

const UNWATCH = encodeCommand(['UNWATCH']);
export const WATCH_INSIDE_MULTI = encodeError('ERR WATCH inside MULTI is not allowed');
export const WATCH_LOST = encodeError('ERR slotgate: the connection holding WATCH was lost; the transaction was not run');

/**
 * A client's WATCHes in force. Watches belong to a connection, so they are sent over the client's
 * own (dedicated) connection to the slot's master, and the EXEC that ends them goes over the same
 * one. Like a transaction, all of them are in one slot. The client's other commands between WATCH
 * and EXEC keep using the shared connections: commands never disturb watches on another connection
 * except by writing the watched keys, which is what WATCH is for.
 */
export class Watch {
  readonly slot: number;
  /** The node whose connection holds the watches. */
  readonly address: string;
  /** That connection dropped since: the watches went with it, and EXEC must not run. */
  lost = false;

  constructor(slot: number, address: string) {
    this.slot = slot;
    this.address = address;
  }

  /** Ends the watches on the node (UNWATCH, DISCARD), so a later WATCH on the connection starts clean. */
  unwatch(connections: DedicatedConnections): void {
    if (!this.lost) connections.get(this.address).send(UNWATCH, ignoreReply);
  }
}

/**
 * The transaction of a watching client, sent as one MULTI … EXEC frame over the connection holding
 * the watches, so the node checks them (EXEC answers a null array when a watched key changed). Only
 * EXEC's reply goes to the client. Nothing is retried: a new connection would not hold the watches.
 */
export class WatchedExec implements ReplyTarget {
  readonly target: PendingRequest;
  private readonly frame: Buffer;
  private readonly readOnly: boolean;
  private readonly replyCount: number;
  private readonly connection: BackendConnection;
  private readonly onDone: () => void;
  private readonly transaction: Transaction;
  private received = 0;
  private written = false;

  constructor(target: PendingRequest, transaction: Transaction, connection: BackendConnection, onDone: () => void) {
    this.target = target;
    this.transaction = transaction;
    this.frame = transaction.frame();
    this.readOnly = transaction.readOnly;
    this.replyCount = transaction.replyCount;
    this.connection = connection;
    this.onDone = onDone;
  }

  send(): void {
    this.connection.send(this.frame, this, this.replyCount);
  }

  onReply(reply: Buffer): void {
    // MULTI's +OK and the +QUEUED (or an error, then EXEC answers EXECABORT) of each command.
    if (++this.received === this.replyCount) this.finish(this.transaction.execReply(reply));
  }

  onFailure(message: string, written: boolean): void {
    if (written) this.written = true;
    if (++this.received < this.replyCount) return;
    this.finish(this.written && !this.readOnly ? inDoubt(this.target, message) : WATCH_LOST);
  }

  private finish(reply: Buffer): void {
    this.onDone();
    this.target.complete(reply);
  }
}
