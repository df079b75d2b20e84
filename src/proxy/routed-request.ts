import type { ReplyTarget } from '../upstream/reply-target.ts';

/** Anything the router can send to a node and redirect: a client's request, or one part of a split one. */
export interface RoutedRequest extends ReplyTarget {
  /** The bytes to send. */
  readonly frame: Buffer;
  /** Hash slot of its keys, or -1 when it has none. */
  readonly slot: number;
  /**
   * Which of a node's connections (and replicas) serve it: the same for every request of one
   * client, which keeps that client's commands to a node in order.
   */
  readonly affinity: number;
  /** MOVED/ASK redirects followed so far. */
  redirects: number;
  /**
   * True when sending it twice can do no harm (a read-only command), so it may be retried even
   * after a connection died with it in flight.
   */
  readonly readOnly: boolean;
  /** Date.now() when it was first parked for a retry; 0 if never. */
  parkedAt: number;
  /** A read that may be served by a replica, when slotgate is set to read from replicas. */
  readonly replicaRead: boolean;
  /** The client speaks RESP3: the request goes over a node's RESP3 connections, so replies come back in RESP3. */
  readonly resp3: boolean;
  /** Replies the frame produces: 1, or more for a transaction sent as MULTI … EXEC in one frame. */
  readonly replyCount: number;
  /**
   * False for a request that should fail at once rather than be held while its node can't serve it
   * (an INFO part: the rest of the answer is worth more than waiting out a failover). Absent: true.
   */
  readonly waitsForNode?: boolean;
  /** Completes the request with a reply slotgate made (an error, usually). */
  complete(reply: Buffer): void;
}
