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
  if (reply[0] !== 42 /* * */ && reply[0] !== 126 /* ~ */) return null;
  const newline = reply.indexOf(10);
  if (newline < 0) return null;
  const count = Number(reply.toString('latin1', 1, newline - 1));
  return Number.isInteger(count) ? { count, offset: newline + 1 } : null;
}

/**
 * Cuts an array reply into its elements' raw bytes (each a complete reply of its own). Returns null
 * when `reply` is not an array, or a null array.
 */
export function arrayElements(reply: Buffer): Buffer[] | null {
  const header = readArrayHeader(reply);
  if (header === null || header.count < 0) return null;
  const elements: Buffer[] = new Array(header.count);
  const scanner = elementScanner;
  let pos = header.offset;
  for (let i = 0; i < header.count; i++) {
    const end = scanner.scan(reply, pos, reply.length);
    if (end < 0) {
      scanner.reset();
      return null;
    }
    elements[i] = reply.subarray(pos, end);
    pos = end;
  }
  return elements;
}

/** Shared: a whole reply is cut in one synchronous call, which leaves the scanner idle again. */
const elementScanner = new ReplyScanner();

/** The text of a bulk or simple string reply, or null. */
export function readString(reply: Buffer): string | null {
  if (reply[0] === 43 /* + */) return reply.toString('latin1', 1, reply.length - 2);
  if (reply[0] !== 36 /* $ */) return null;
  const newline = reply.indexOf(10);
  const length = Number(reply.toString('latin1', 1, newline - 1));
  if (length < 0) return null;
  return reply.toString('utf8', newline + 1, newline + 1 + length);
}
