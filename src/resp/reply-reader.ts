import { ReplyScanner } from './reply-scanner.ts';

/**
 * Small readers for the replies slotgate must look inside to merge them (parts of a split MGET,
 * integers to sum, SCAN pages). Elements stay as their raw bytes, so a merged reply is made of the
 * nodes' own bytes, never re-encoded values. redis-parser (used by the tests' raw client) decodes
 * into values, which would then have to be encoded again; it is also slower on small replies and
 * on bulks split across reads (bench/MICRO.md), so the data path uses these and the scanner.
 */

/** True for an error reply (simple or blob). */
export function isError(reply: Buffer): boolean {
  return reply[0] === 45 /* - */ || reply[0] === 33 /* ! */;
}

/** The value of an integer reply (":123\r\n"), or null for anything else. */
export function readInteger(reply: Buffer): number | null {
  if (reply[0] !== 58 /* : */) return null;
  const value = Number(reply.toString('latin1', 1, reply.length - 2));
  return Number.isSafeInteger(value) ? value : null;
}

/** The count in an array header ("*3\r\n"), and where its first element starts; null if not an array. */
export function readArrayHeader(reply: Buffer): { count: number; offset: number } | null {
  const count = arrayCount(reply);
  return count === NOT_AN_ARRAY ? null : { count, offset: arrayOffset };
}

/** arrayCount's answer for a reply that is not an array (or has a malformed header). */
const NOT_AN_ARRAY = -2;
/** Where the first element starts, set by arrayCount. */
let arrayOffset = 0;

/** The element count of an array, set or push reply (-1 for a null array), or NOT_AN_ARRAY; sets arrayOffset. */
function arrayCount(reply: Buffer): number {
  if (reply[0] !== 42 /* * */ && reply[0] !== 126 /* ~ */ && reply[0] !== 62 /* > */) return NOT_AN_ARRAY;
  if (reply[1] === 45 /* - */ && reply[2] === 49 /* 1 */ && reply[3] === 13) {
    arrayOffset = 5;
    return -1;
  }
  let count = 0;
  let i = 1;
  for (; i < reply.length && reply[i] !== 13 /* CR */; i++) {
    const digit = reply[i] - 48;
    if (digit < 0 || digit > 9) return NOT_AN_ARRAY;
    count = count * 10 + digit;
  }
  if (i === 1 || i + 1 >= reply.length) return NOT_AN_ARRAY;
  arrayOffset = i + 2;
  return count;
}

/**
 * Where each element of an array reply sits: element i is `reply[starts[i], ends[i])`, a complete
 * reply of its own. Fills the given arrays (which must have room) and returns the count, or -1 when
 * `reply` is not an array, or a null array. For merges that copy elements straight into their
 * output, without a Buffer per element.
 */
export function elementBounds(reply: Buffer, starts: Int32Array, ends: Int32Array): number {
  const count = arrayCount(reply);
  if (count < 0 || count > starts.length) return -1;
  const scanner = elementScanner;
  let pos = arrayOffset;
  for (let i = 0; i < count; i++) {
    const end = scanner.scan(reply, pos, reply.length);
    if (end < 0) {
      scanner.reset();
      return -1;
    }
    starts[i] = pos;
    ends[i] = end;
    pos = end;
  }
  return count;
}

/**
 * Cuts an array reply into its elements' raw bytes (each a complete reply of its own). Returns null
 * when `reply` is not an array, or a null array.
 */
export function arrayElements(reply: Buffer): Buffer[] | null {
  const count = arrayCount(reply);
  if (count < 0) return null;
  // Shared bounds for the usual small arrays; a huge one gets its own, so the scratch stays small.
  const starts = count <= SCRATCH_SIZE ? scratchStarts : new Int32Array(count);
  const ends = count <= SCRATCH_SIZE ? scratchEnds : new Int32Array(count);
  if (elementBounds(reply, starts, ends) < 0) return null;
  const elements: Buffer[] = new Array(count);
  for (let i = 0; i < count; i++) elements[i] = reply.subarray(starts[i], ends[i]);
  return elements;
}

const SCRATCH_SIZE = 1024;
const scratchStarts = new Int32Array(SCRATCH_SIZE);
const scratchEnds = new Int32Array(SCRATCH_SIZE);

/** Shared: a whole reply is cut in one synchronous call, which leaves the scanner idle again. */
const elementScanner = new ReplyScanner();

/** True for a null reply: RESP2's null bulk and null array, RESP3's null. */
export function isNull(reply: Buffer): boolean {
  const type = reply[0];
  return type === 95 /* _ */ || ((type === 36 /* $ */ || type === 42) /* * */ && reply[1] === 45 /* - */);
}

/**
 * The text of a bulk, simple or RESP3 verbatim string reply ("=15\r\ntxt:Some string\r\n", whose
 * text follows the 4-byte format prefix), or null.
 */
export function readString(reply: Buffer): string | null {
  if (reply[0] === 43 /* + */) return reply.toString('latin1', 1, reply.length - 2);
  const verbatim = reply[0] === 61; /* = */
  if (reply[0] !== 36 /* $ */ && !verbatim) return null;
  const newline = reply.indexOf(10);
  const length = Number(reply.toString('latin1', 1, newline - 1));
  if (length < 0 || (verbatim && length < 4)) return null;
  const start = verbatim ? newline + 5 : newline + 1;
  return reply.toString('utf8', start, newline + 1 + length);
}
