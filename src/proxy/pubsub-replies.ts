import type { RequestView } from '../resp/request-view.ts';
import { encodeBulk, encodeInteger } from '../resp/encode.ts';
import { arrayElements, readInteger, readString } from '../resp/reply-reader.ts';

/**
 * The pub/sub replies slotgate reads or makes itself: the PONG that ends a tunnel command's
 * confirmations, and the SSUBSCRIBE / SUNSUBSCRIBE confirmations whose count it rewrites, since a
 * client's sharded channels may sit on several masters while it is owed the count of them all.
 */

const PONG_SIMPLE = Buffer.from('+PONG\r\n');
/** PING's reply on a RESP2 connection in subscribed mode. */
const PONG_SUBSCRIBED = Buffer.from('*2\r\n$4\r\npong\r\n$0\r\n\r\n');

/**
 * The reply to the PING a tunnel sends behind each command: +PONG (RESP3, or RESP2 out of
 * subscribed mode) or RESP2's subscribed-mode ["pong", ""]. Nothing else a tunnel receives looks
 * like either, since the client's own PINGs never go over a tunnel.
 */
export function isMarkerPong(reply: Buffer): boolean {
  return reply.equals(PONG_SIMPLE) || reply.equals(PONG_SUBSCRIBED);
}

/** PING's reply to a RESP2 client in subscribed mode, as Redis gives it: ["pong", its argument or ""]. */
export function subscribedPong(argument: Buffer | null): Buffer {
  return Buffer.concat([Buffer.from('*2\r\n$4\r\npong\r\n'), encodeBulk(argument ?? '')]);
}

/** An ssubscribe / sunsubscribe confirmation taken apart: its raw kind and channel elements and the count. */
export interface ShardedConfirmation {
  unsubscribe: boolean;
  kind: Buffer;
  channel: Buffer;
  count: number;
}

/**
 * Reads an ssubscribe or sunsubscribe confirmation (`*3` or RESP3 `>3`: kind, channel, count); null
 * for anything else, smessage included. The first bytes settle most replies without decoding.
 */
export function readShardedConfirmation(reply: Buffer): ShardedConfirmation | null {
  // "*3\r\n$10\r\nssubscribe" / "$12\r\nsunsubscribe"; an smessage's kind is "$8".
  if (reply.length < 20 || (reply[0] !== 42 && reply[0] !== 62) || reply[1] !== 51 || reply[5] !== 49) return null;
  const elements = arrayElements(reply);
  if (elements === null || elements.length !== 3) return null;
  const kind = readString(elements[0]);
  if (kind !== 'ssubscribe' && kind !== 'sunsubscribe') return null;
  const count = readInteger(elements[2]);
  if (count === null) return null;
  return { unsubscribe: kind === 'sunsubscribe', kind: elements[0], channel: elements[1], count };
}

/** The confirmation again, with `count` for its count, in the protocol it came in. */
export function withCount(reply: Buffer, confirmation: ShardedConfirmation, count: number): Buffer {
  if (confirmation.count === count) return reply;
  const header = reply[0] === 62 ? PUSH_OF_3 : ARRAY_OF_3;
  return Buffer.concat([header, confirmation.kind, confirmation.channel, encodeInteger(count)]);
}

const ARRAY_OF_3 = Buffer.from('*3\r\n');
const PUSH_OF_3 = Buffer.from('>3\r\n');
const SUNSUBSCRIBE = encodeBulk('sunsubscribe');

/**
 * A sunsubscribe confirmation made by slotgate, for a channel on a master the client has no tunnel
 * to (so it can't be subscribed to it). `channel` is already encoded as a bulk (an element of the
 * request's frame); null makes the one Redis gives a client with no sharded channels, whose channel
 * is a null.
 */
export function sunsubscribed(channel: Buffer | null, count: number, resp3: boolean): Buffer {
  const name = channel ?? (resp3 ? NULL_RESP3 : NULL_BULK);
  return Buffer.concat([resp3 ? PUSH_OF_3 : ARRAY_OF_3, SUNSUBSCRIBE, name, encodeInteger(count)]);
}

const NULL_BULK = Buffer.from('$-1\r\n');
const NULL_RESP3 = Buffer.from('_\r\n');

/** True for a confirmation whose channel is null: "not subscribed to any". */
export function isNoChannel(confirmation: ShardedConfirmation): boolean {
  return confirmation.channel[0] === 95 /* _ */ || (confirmation.channel[0] === 36 /* $ */ && confirmation.channel[1] === 45); /* - */
}

/**
 * What a (P|S)SUBSCRIBE or its UNSUBSCRIBE does to the names a client holds, going by what it sent:
 * Redis runs a client's commands in order, so a command pipelined behind it is judged by this, not
 * by confirmations still on their way. An unsubscribe without names drops them all.
 */
export function applySubscription(names: Set<string>, view: RequestView, subscribes: boolean): void {
  if (!subscribes && view.argc === 1) {
    names.clear();
    return;
  }
  for (let i = 1; i < view.argc; i++) {
    if (subscribes) names.add(view.argString(i));
    else names.delete(view.argString(i));
  }
}

/**
 * A bulk string element's bytes as latin1 text: one character per byte, as RequestView.argString
 * reads the names a client sends, so the two compare equal whatever the bytes (readString decodes
 * UTF-8, under which a non-ASCII name would never match).
 */
export function bulkLatin1(element: Buffer): string {
  if (element[0] !== 36 /* $ */) return readString(element) ?? '';
  const start = element.indexOf(10) + 1;
  return element.toString('latin1', start, element.length - 2);
}
