import type { ReplyTarget } from '../upstream/reply-target.ts';

/** Anything the router can send to a node and redirect: a client's request, or one part of a split one. */
export interface RoutedRequest extends ReplyTarget {
  /** The bytes to send. */
  readonly frame: Buffer;
  /** Hash slot of its keys, or -1 when it has none. */
  readonly slot: number;
  /** The client it serves: picks that client's connection to each node, which keeps its order. */
  readonly clientId: number;
  /** MOVED/ASK redirects followed so far. */
  redirects: number;
  /** Completes the request with a reply slotgate made (an error, usually). */
  complete(reply: Buffer): void;
}
