/**
 * Byte-level writing for the encoders of split requests and merged replies.
 *
 * Why not Buffer.copy / String(n) + buffer.write: a split MGET of 10 random keys becomes ~10
 * one-key requests, and `perf record` of redis-benchmark -P 16 MGET through slotgate showed the
 * per-call overhead of those (copyImpl, TypedArray creation, number-to-string, the native string
 * write) above the cost of the bytes themselves. Keys and small values are short, and a plain loop
 * over a few dozen bytes beats a call into TypedArray.prototype.set.
 */

/** Below this many bytes a loop copies faster than TypedArray.prototype.set on a subarray. */
const LOOP_COPY_LIMIT = 48;

/** Copies `source[start, end)` into `target` at `at`; returns the position after it. */
export function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): number {
  const length = end - start;
  if (length <= LOOP_COPY_LIMIT) {
    for (let i = 0; i < length; i++) target[at + i] = source[start + i];
  } else {
    target.set(source.subarray(start, end), at);
  }
  return at + length;
}

/** How many characters the decimal form of the non-negative integer `n` takes. */
export function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/** Writes the decimal digits of the non-negative integer `n` at `at`; returns the position after them. */
export function writeDecimal(target: Uint8Array, at: number, n: number): number {
  const end = at + decimalLength(n);
  let pos = end;
  do {
    target[--pos] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return end;
}

/** Bytes of a RESP header line: the type byte, the decimal count, CRLF. */
export function headerLength(count: number): number {
  return decimalLength(count) + 3;
}

/** Writes a RESP header line ("*3\r\n", "$5\r\n") at `at`; returns the position after it. */
export function writeHeader(target: Uint8Array, at: number, type: number, count: number): number {
  target[at] = type;
  const pos = writeDecimal(target, at + 1, count);
  target[pos] = 13;
  target[pos + 1] = 10;
  return pos + 2;
}
