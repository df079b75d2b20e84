import { inDoubt, type PendingRequest } from '../pending-request.ts';
import type { RoutedRequest } from '../routed-request.ts';

/**
 * Builds the client's one reply from the replies of the parts, in part order: one buffer, or for a
 * large reply the pieces to write one after the other (saving a copy of the whole).
 */
export type MergeParts = (parts: Buffer[], fanout: Fanout) => Buffer | Buffer[];

/**
 * A client request carried out as several backend requests (one per slot for a split MGET, one per
 * master for DBSIZE). Parts may finish in any order; when the last one does, `merge` makes the
 * reply and the client's request completes, keeping its place in the client's reply order.
 */
export class Fanout {
  readonly target: PendingRequest;
  readonly merge: MergeParts;
  readonly parts: Buffer[];
  /** The frame sent for each part: merges that must name what failed read the keys back from it. */
  readonly frames: Buffer[];
  /**
   * For merges that put elements back in request order (MGET): `order[i]` is the position in the
   * client's request of the i-th key sent, parts taking consecutive runs of it.
   */
  order: Int32Array | null = null;
  /** Whether the parts only read, and so may be retried after a connection died under them. */
  readonly readOnly: boolean;
  /** A part that can't be served now fails at once instead of waiting for its node (see RoutedRequest.waitsForNode). */
  readonly waitsForNode: boolean;
  private remaining: number;

  constructor(target: PendingRequest, partCount: number, merge: MergeParts, waitsForNode = true) {
    this.target = target;
    this.readOnly = target.readOnly;
    this.waitsForNode = waitsForNode;
    this.merge = merge;
    this.parts = new Array<Buffer>(partCount);
    this.frames = new Array<Buffer>(partCount);
    this.remaining = partCount;
  }

  /** Creates part `index`; the caller dispatches it. */
  part(index: number, frame: Buffer, slot: number): PartRequest {
    this.frames[index] = frame;
    return new PartRequest(this, index, frame, slot);
  }

  onPart(index: number, reply: Buffer): void {
    this.parts[index] = reply;
    if (--this.remaining !== 0) return;
    const merged = this.merge(this.parts, this);
    if (Array.isArray(merged)) this.target.completeInPieces(merged);
    else this.target.complete(merged);
  }
}

/** One backend request of a fan-out. */
export class PartRequest implements RoutedRequest {
  readonly frame: Buffer;
  readonly slot: number;
  readonly affinity: number;
  redirects = 0;
  readonly readOnly: boolean;
  parkedAt = 0;
  readonly replyCount = 1;
  readonly replicaRead: boolean;
  readonly resp3: boolean;
  readonly waitsForNode: boolean;
  private readonly fanout: Fanout;
  private readonly index: number;

  constructor(fanout: Fanout, index: number, frame: Buffer, slot: number) {
    this.fanout = fanout;
    this.index = index;
    this.frame = frame;
    this.slot = slot;
    this.affinity = fanout.target.affinity;
    this.readOnly = fanout.readOnly;
    this.replicaRead = fanout.target.replicaRead;
    this.resp3 = fanout.target.resp3;
    this.waitsForNode = fanout.waitsForNode;
  }

  onReply(reply: Buffer, from: string): void {
    if (reply[0] === 45 /* - */ && this.fanout.target.session.router.onClusterError(this, reply, from)) return;
    this.fanout.onPart(this.index, reply);
  }

  onFailure(message: string, written: boolean): void {
    if (written && !this.readOnly) this.fanout.onPart(this.index, inDoubt(this.fanout.target, message));
    else this.fanout.target.session.router.retryLater(this, message);
  }

  complete(reply: Buffer): void {
    this.fanout.onPart(this.index, reply);
  }
}
