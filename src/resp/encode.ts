/** Small RESP encoders for replies slotgate makes itself and commands it sends on its own. */
import { copyBytes, headerLength, writeHeader } from './bytes.ts';

const CRLF = '\r\n';

/** Encodes a command (an array of bulk strings), e.g. to send ASKING or an inline request. */
export function encodeCommand(args: (Buffer | string)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}${CRLF}`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}${CRLF}`), bytes, CRLF_BYTES);
  }
  return Buffer.concat(parts);
}

/** An error reply. `message` starts with its code ("ERR ...", "CROSSSLOT ..."); CR and LF are replaced, as Redis does. */
export function encodeError(message: string): Buffer {
  return Buffer.from(`-${message.replace(/[\r\n]/g, ' ')}${CRLF}`);
}

export function encodeSimple(text: string): Buffer {
  return Buffer.from(`+${text}${CRLF}`);
}

export function encodeInteger(value: number | bigint): Buffer {
  return Buffer.from(`:${value}${CRLF}`);
}

export function encodeBulk(value: Buffer | string | null): Buffer {
  if (value === null) return NULL_BULK;
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from(`$${bytes.length}${CRLF}`), bytes, CRLF_BYTES]);
}

/** An array reply whose elements are already encoded. */
export function encodeArray(elements: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`*${elements.length}${CRLF}`), ...elements]);
}

const CRLF_BYTES = Buffer.from(CRLF);
export const NULL_BULK = Buffer.from(`$-1${CRLF}`);
/** RESP3's one null, for every kind of missing value. */
export const NULL_RESP3 = Buffer.from(`_${CRLF}`);

/** A RESP3 map reply from its keys and values, already encoded, alternating. */
export function encodeMap(keysAndValues: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`%${keysAndValues.length / 2}${CRLF}`), ...keysAndValues]);
}
export const OK_REPLY = Buffer.from(`+OK${CRLF}`);
export const PONG_REPLY = Buffer.from(`+PONG${CRLF}`);

/**
 * Encodes a command made of `name` followed by the request arguments at `indexes` (a run of
 * `count` entries from `from`), each argument `span` wide: a split MGET part takes one argument per
 * key, an MSET part two (key and value). Copies the bytes once into a buffer sized up front.
 */
export function encodeSubCommand(
  name: Buffer,
  view: { buffer: Buffer; starts: Int32Array; ends: Int32Array },
  indexes: ArrayLike<number>,
  from: number,
  count: number,
  span: number,
): Buffer {
  const argc = 1 + count * span;
  const starts = view.starts;
  const ends = view.ends;
  let size = headerLength(argc) + headerLength(name.length) + name.length + 2;
  for (let i = from; i < from + count; i++) {
    for (let j = 0; j < span; j++) {
      const length = ends[indexes[i] + j] - starts[indexes[i] + j];
      size += headerLength(length) + length + 2;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let pos = writeHeader(out, 0, 42 /* * */, argc);
  pos = writeHeader(out, pos, 36 /* $ */, name.length);
  pos = copyBytes(name, 0, name.length, out, pos);
  pos = writeCrlf(out, pos);
  const source = view.buffer;
  for (let i = from; i < from + count; i++) {
    for (let j = 0; j < span; j++) {
      const start = starts[indexes[i] + j];
      const end = ends[indexes[i] + j];
      pos = writeHeader(out, pos, 36 /* $ */, end - start);
      pos = copyBytes(source, start, end, out, pos);
      pos = writeCrlf(out, pos);
    }
  }
  return out;
}

function writeCrlf(out: Buffer, pos: number): number {
  out[pos] = 13;
  out[pos + 1] = 10;
  return pos + 2;
}
