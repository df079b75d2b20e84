import { encodeArray, encodeError, encodeInteger, OK_REPLY } from '../../resp/encode.ts';
import { copyBytes, headerLength, writeHeader } from '../../resp/bytes.ts';
import { arrayElements, elementBounds, isError, isNull, readArrayHeader, readInteger, readString } from '../../resp/reply-reader.ts';
import type { Fanout } from './fanout.ts';

/**
 * How the replies of a fan-out's parts become the client's one reply. Pure functions of the parts'
 * bytes (plus the fan-out's bookkeeping), unit-tested on their own.
 *
 * Rule shared by all: when a part failed, the client gets that error (the first one, by part order)
 * rather than a merged answer that silently leaves out a node.
 */

function firstError(parts: Buffer[]): Buffer | null {
  for (const part of parts) if (isError(part)) return part;
  return null;
}

/** DEL, UNLINK, EXISTS, TOUCH, DBSIZE: the sum of the parts' integers. */
export function sumIntegers(parts: Buffer[]): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  let sum = 0;
  for (const part of parts) {
    const value = readInteger(part);
    if (value === null) return unexpected(part);
    sum += value;
  }
  return encodeInteger(sum);
}

/** FLUSHALL, SCRIPT FLUSH, SCRIPT LOAD, FUNCTION LOAD …: every part must succeed; the reply is the first part's. */
export function allSucceeded(parts: Buffer[]): Buffer {
  return firstError(parts) ?? parts[0];
}

/**
 * KEYS: one array made of every part's elements, as the nodes' bytes, never decoded. RESP2 needs
 * the total count before the first element, so every master's reply must be in before anything is
 * sent; the pieces are then written one after the other rather than copied into one buffer, so the
 * reply is held once, not twice.
 */
export function concatArrays(parts: Buffer[]): Buffer | Buffer[] {
  const error = firstError(parts);
  if (error !== null) return error;
  let count = 0;
  const bodies: Buffer[] = [];
  for (const part of parts) {
    const header = readArrayHeader(part);
    if (header === null) return unexpected(part);
    if (header.count <= 0) continue;
    count += header.count;
    bodies.push(part.subarray(header.offset));
  }
  return [Buffer.from(`*${count}\r\n`), ...bodies];
}

/**
 * PUBSUB CHANNELS: every master's channels, each once (subscribers of one channel may sit on several
 * masters), in the order first met.
 */
export function distinctElements(parts: Buffer[]): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const part of parts) {
    const elements = arrayElements(part);
    if (elements === null) return unexpected(part);
    for (const element of elements) {
      const key = element.toString('latin1');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(element);
    }
  }
  return encodeArray(out);
}

/**
 * PUBSUB NUMSUB and SHARDNUMSUB: [channel, count, ...] in the order asked, from every master; a
 * channel's subscribers are spread over the masters (slotgate's SUBSCRIBE tunnels), or on the
 * master of its slot (sharded), so the counts are summed.
 */
export function sumCountsByChannel(parts: Buffer[]): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  const first = arrayElements(parts[0]);
  if (first === null || first.length % 2 !== 0) return unexpected(parts[0]);
  const counts = new Array<number>(first.length / 2).fill(0);
  for (const part of parts) {
    const elements = arrayElements(part);
    if (elements === null || elements.length !== first.length) return unexpected(part);
    for (let i = 0; i < counts.length; i++) counts[i] += readInteger(elements[2 * i + 1]) ?? 0;
  }
  const out: Buffer[] = [];
  for (let i = 0; i < counts.length; i++) out.push(first[2 * i], encodeInteger(counts[i]));
  return encodeArray(out);
}

/** SCRIPT EXISTS: a script exists only where every master has it, so element-wise the smallest. */
export function minOfIntegerArrays(parts: Buffer[]): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  let result: number[] | null = null;
  for (const part of parts) {
    const elements = arrayElements(part);
    if (elements === null) return unexpected(part);
    const values = elements.map((element) => readInteger(element) ?? 0);
    result = result === null ? values : result.map((value, i) => Math.min(value, values[i] ?? 0));
  }
  return Buffer.concat([Buffer.from(`*${result?.length ?? 0}\r\n`), ...(result ?? []).map(encodeInteger)]);
}

/** LASTSAVE: the oldest save of any master, which is the time by which everything was saved. */
export function minInteger(parts: Buffer[]): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  let min = Infinity;
  for (const part of parts) {
    const value = readInteger(part);
    if (value === null) return unexpected(part);
    min = Math.min(min, value);
  }
  return encodeInteger(min);
}

/**
 * PUBSUB NUMPAT: the most patterns any master has. Each master counts the distinct patterns of the
 * subscribers on it, and the counts can't be merged into the distinct patterns of all: clients that
 * subscribe the same patterns (the usual case) are counted exactly, others at least.
 */
export function maxInteger(parts: Buffer[]): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  let max = 0;
  for (const part of parts) {
    const value = readInteger(part);
    if (value === null) return unexpected(part);
    max = Math.max(max, value);
  }
  return encodeInteger(max);
}

/** SLOWLOG GET without a count: Redis's default. */
const SLOWLOG_DEFAULT_COUNT = 10;

/**
 * SLOWLOG GET [count]: every master's entries, newest first (by their timestamp), at most `count`
 * of them (-1: all), as one Redis would list its own. Entry ids are each master's own, so two
 * entries may share one.
 */
export function newestSlowlogEntries(parts: Buffer[], fanout: Fanout): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  const args = arrayElements(fanout.frames[0]);
  const countArg = args !== null && args.length > 2 ? Number(readString(args[2])) : SLOWLOG_DEFAULT_COUNT;
  const entries: { time: number; id: number; bytes: Buffer }[] = [];
  for (const part of parts) {
    const elements = arrayElements(part);
    if (elements === null) return unexpected(part);
    for (const entry of elements) {
      const fields = arrayElements(entry);
      if (fields === null || fields.length < 2) return unexpected(part);
      entries.push({ id: readInteger(fields[0]) ?? 0, time: readInteger(fields[1]) ?? 0, bytes: entry });
    }
  }
  entries.sort((a, b) => b.time - a.time || b.id - a.id);
  const kept = countArg < 0 ? entries : entries.slice(0, countArg);
  return encodeArray(kept.map((entry) => entry.bytes));
}

/**
 * RANDOMKEY: a random key from one of the masters that have any; nil only when all are empty, as
 * a single Redis would answer.
 */
export function randomNonNull(parts: Buffer[]): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  const found = parts.filter((part) => !isNull(part) /* $-1, or _ in RESP3 */);
  return found.length === 0 ? parts[0] : found[Math.floor(Math.random() * found.length)];
}

/**
 * MGET: each part holds the values of its keys in the order sent; `fanout.order` says where each
 * of those belongs in the client's request. The elements are the nodes' own bytes, copied once
 * into the merged reply: no Buffer per element (perf showed that allocation, with a concat over
 * them, as a large part of a split MGET's cost).
 */
export function reorderArrays(parts: Buffer[], fanout: Fanout): Buffer {
  const error = firstError(parts);
  if (error !== null) return error;
  const order = fanout.order as Int32Array;
  const total = order.length;
  const scratch = mergeScratch(total);
  let sent = 0;
  let bytes = 0;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    const count = elementBounds(part, scratch.starts, scratch.ends);
    if (count < 0) return unexpected(part);
    if (sent + count > total) return wrongValueCount();
    for (let i = 0; i < count; i++) {
      const at = order[sent++];
      scratch.part[at] = p;
      scratch.start[at] = scratch.starts[i];
      scratch.end[at] = scratch.ends[i];
      bytes += scratch.ends[i] - scratch.starts[i];
    }
  }
  if (sent !== total) return wrongValueCount();
  const out = Buffer.allocUnsafe(headerLength(total) + bytes);
  let pos = writeHeader(out, 0, 42 /* * */, total);
  for (let i = 0; i < total; i++) pos = copyBytes(parts[scratch.part[i]], scratch.start[i], scratch.end[i], out, pos);
  return out;
}

function wrongValueCount(): Buffer {
  return encodeError('ERR slotgate: a node answered MGET with the wrong number of values');
}

/**
 * Scratch for reorderArrays, shared: a merge runs start to end in one synchronous call. For each
 * element of the client's reply, which part holds it and where; and the bounds of one part's
 * elements while it is read.
 */
const scratch = {
  part: new Int32Array(64),
  start: new Int32Array(64),
  end: new Int32Array(64),
  starts: new Int32Array(64),
  ends: new Int32Array(64),
};

function mergeScratch(size: number): typeof scratch {
  if (scratch.part.length < size) {
    const capacity = Math.max(size, scratch.part.length * 2);
    scratch.part = new Int32Array(capacity);
    scratch.start = new Int32Array(capacity);
    scratch.end = new Int32Array(capacity);
    scratch.starts = new Int32Array(capacity);
    scratch.ends = new Int32Array(capacity);
  }
  return scratch;
}

/**
 * MSET: OK once every part is. Otherwise some keys were written and some were not (a cluster can't
 * make one MSET over many slots atomic): the error names the keys that were not.
 */
export function msetResult(parts: Buffer[], fanout: Fanout): Buffer {
  const failed: string[] = [];
  let reason = '';
  parts.forEach((part, i) => {
    if (!isError(part)) return;
    reason ||= part.toString('latin1', 1, part.length - 2);
    failed.push(...keysOfMsetFrame(fanout.frames[i]));
  });
  if (failed.length === 0) return OK_REPLY;
  const shown = failed.slice(0, 10).join(' ') + (failed.length > 10 ? ` and ${failed.length - 10} more` : '');
  return encodeError(`ERR slotgate: MSET was only partly applied; keys not written: ${shown} (${reason})`);
}

/** The keys of an MSET part frame: arguments 1, 3, 5 … */
function keysOfMsetFrame(frame: Buffer): string[] {
  const elements = arrayElements(frame) ?? [];
  const keys: string[] = [];
  for (let i = 1; i < elements.length; i += 2) {
    const element = elements[i];
    const start = element.indexOf(10) + 1;
    keys.push(element.toString('utf8', start, element.length - 2));
  }
  return keys;
}

function unexpected(part: Buffer): Buffer {
  return encodeError(`ERR slotgate: unexpected reply from a node while merging: ${part.toString('latin1', 0, Math.min(part.length, 40)).replace(/\r\n/g, ' ')}`);
}
