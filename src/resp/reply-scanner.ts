/**
 * Finds where each backend reply ends without decoding it, so replies can be forwarded byte for byte.
 *
 * It is resumable: when a read ends inside a reply, the scanner keeps how many elements each open
 * aggregate still owes and how many bulk bytes are left to skip, and carries on with the next read.
 * No byte is looked at twice and bulk bodies are skipped, not read, so a 10 MB value costs the same
 * as a short one. Values are decoded only where slotgate must (redirects, merges), elsewhere.
 *
 * Understands RESP2 and RESP3 (maps, sets, pushes, attributes, nulls, booleans, doubles, big
 * numbers, verbatim and blob errors). Streamed RESP3 aggregates (`$?`, `*?`) are not sent by Redis
 * and are reported as protocol errors.
 */
export class ReplyScanner {
  /** Elements still owed by each open aggregate, innermost last. */
  private owed = new Float64Array(32);
  private depth = 0;
  private state = TYPE;
  private type = 0;
  private negative = false;
  private value = 0;
  private digits = 0;
  /** Bulk body bytes plus CRLF still to skip. */
  private skip = 0;
  /** Set when the input is not RESP; the connection should be dropped. */
  error: string | null = null;

  /**
   * Scans `buffer[start, end)`. Returns the offset just past the end of the first complete reply,
   * or -1 when the bytes ran out first (the scanner remembers where it was: call again with the
   * next read). Returns -2 on a protocol error (see `error`).
   */
  scan(buffer: Buffer, start: number, end: number): number {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case TYPE: {
          const type = buffer[i++];
          this.type = type;
          if (type === 36 || type === 42 || type === 37 || type === 126 || type === 62 || type === 124 || type === 33 || type === 61) {
            // $ * % ~ > | ! = : a length or count follows.
            this.state = NUMBER;
            this.negative = false;
            this.value = 0;
            this.digits = 0;
          } else if (type === 43 || type === 45 || type === 58 || type === 95 || type === 44 || type === 35 || type === 40) {
            // + - : _ , # ( : one line.
            this.state = LINE;
          } else {
            return this.fail(`unexpected reply type byte ${type}`);
          }
          break;
        }
        case LINE: {
          const newline = findNewline(buffer, i, end);
          if (newline < 0) return -1;
          i = newline + 1;
          this.state = TYPE;
          if (this.completeElement()) return i;
          break;
        }
        case NUMBER: {
          const c = buffer[i++];
          if (c >= 48 && c <= 57) {
            this.value = this.value * 10 + (c - 48);
            if (++this.digits > 20) return this.fail('length too long');
          } else if (c === 45 && this.digits === 0 && !this.negative) {
            this.negative = true;
          } else if (c === 13) {
            this.state = NUMBER_LF;
          } else {
            return this.fail('bad length');
          }
          break;
        }
        case NUMBER_LF: {
          if (buffer[i++] !== 10) return this.fail('expected LF');
          const n = this.negative ? -this.value : this.value;
          if (this.beginValue(n)) return i;
          if (this.error !== null) return -2;
          break;
        }
        default: {
          // BODY: skip bulk bytes and their CRLF.
          const available = end - i;
          if (available < this.skip) {
            this.skip -= available;
            return -1;
          }
          i += this.skip;
          this.skip = 0;
          this.state = TYPE;
          if (this.completeElement()) return i;
        }
      }
    }
    return -1;
  }

  /** Forgets a half-read reply, to scan a new stream from its start. */
  reset(): void {
    this.depth = 0;
    this.state = TYPE;
    this.skip = 0;
    this.error = null;
  }

  /** True when the scanner is between replies (nothing half-read). */
  get idle(): boolean {
    return this.state === TYPE && this.depth === 0;
  }

  /** Starts the value whose header carried `n`. Returns true when that finishes a whole reply. */
  private beginValue(n: number): boolean {
    const type = this.type;
    if (type === 36 || type === 33 || type === 61) {
      // Bulk string, blob error, verbatim string. -1 is the RESP2 null bulk.
      if (n < 0) {
        this.state = TYPE;
        return this.completeElement();
      }
      this.skip = n + 2;
      this.state = BODY;
      return false;
    }
    this.state = TYPE;
    // Aggregates. Maps and attributes hold pairs; an attribute is followed by the value it describes.
    let count = n < 0 ? 0 : n;
    if (type === 37) count *= 2;
    else if (type === 124) count = count * 2 + 1;
    if (count === 0) return this.completeElement();
    if (this.depth === this.owed.length) {
      if (this.depth >= MAX_DEPTH) {
        this.fail('nesting too deep');
        return false;
      }
      const grown = new Float64Array(this.owed.length * 2);
      grown.set(this.owed);
      this.owed = grown;
    }
    this.owed[this.depth++] = count;
    return false;
  }

  /** One element ended: settle the aggregates it completes. True when the whole reply is done. */
  private completeElement(): boolean {
    while (this.depth > 0) {
      const left = --this.owed[this.depth - 1];
      if (left > 0) return false;
      this.depth--;
    }
    return true;
  }

  private fail(message: string): number {
    this.error = message;
    return -2;
  }
}

function findNewline(buffer: Buffer, from: number, end: number): number {
  // Short lines ("+OK", ":1") are the rule: a plain loop beats indexOf's call overhead there.
  const stop = end < from + 32 ? end : from + 32;
  for (let i = from; i < stop; i++) if (buffer[i] === 10) return i;
  if (stop === end) return -1;
  const found = buffer.indexOf(10, stop);
  return found >= 0 && found < end ? found : -1;
}

const TYPE = 0;
const LINE = 1;
const NUMBER = 2;
const NUMBER_LF = 3;
const BODY = 4;
/** Replies nested deeper than this are not Redis talking. */
const MAX_DEPTH = 4096;
