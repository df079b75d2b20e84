import { RequestView } from './request-view.ts';
import { splitInlineArgs } from './inline-args.ts';
import { encodeCommand } from './encode.ts';

export interface RequestSink {
  /** One complete request. The view is reused for the next one: read it before returning. */
  onRequest(view: RequestView): void;
  /** The input broke the protocol; `message` is Redis's wording ("Protocol error: ..."). No more requests follow. */
  onProtocolError(message: string): void;
}

export interface RequestLimits {
  /** Largest bulk argument in bytes (Redis's proto-max-bulk-len). */
  protoMaxBulkLen: number;
  /** Largest argument count of one request. */
  maxMultibulkLength: number;
}

/** Redis's PROTO_INLINE_MAX_SIZE: an inline request, or a header line, may not be longer than this. */
const INLINE_MAX_SIZE = 64 * 1024;
/** A count with more digits than this is not a length Redis would accept. */
const MAX_COUNT_DIGITS = 20;
/** The first buffer made to hold a request that spans reads. */
const MIN_CARRY_CAPACITY = 16 * 1024;

const START = 0;
const BULK_HEADER = 1;
const BULK_BODY = 2;

const CR = 13;
const LF = 10;

/**
 * Incremental parser for client requests: RESP multibulk arrays and inline commands, pipelined,
 * split across reads at any byte.
 *
 * Requests wholly inside one read are parsed in place, with no copy. A request that spans reads is
 * carried in a buffer that grows by doubling and is only ever appended to, so bytes already handed
 * out (frames waiting in backend queues) are never overwritten, and a 10 MB value arriving in 64 KB
 * reads is copied once, not once per read. While the rest of a bulk body is still missing the parser
 * only appends: it knows how many bytes it needs before the next step can succeed.
 *
 * Errors follow Redis (networking.c): the same messages, and nothing is parsed after one.
 */
export class RequestParser {
  private readonly sink: RequestSink;
  private readonly limits: RequestLimits;
  private readonly view = new RequestView();

  /** Bytes being parsed: the latest read itself, or the carry buffer when a request spans reads. */
  private buffer: Buffer = Buffer.alloc(0);
  /** End of the valid bytes in `buffer`. */
  private end = 0;
  /** Whether `buffer` is our own carry buffer (true) or a read we must copy before keeping. */
  private carrying = false;
  /** Don't parse again until `end` reaches this: the bytes the current step needs. */
  private need = 0;

  private pos = 0;
  private frameStart = 0;
  private state = START;
  private argcExpected = 0;
  private argIndex = 0;
  private bulkLength = 0;
  /** The number read by the last readCountLine. */
  private lineValue = 0;
  private failed = false;
  /** Set by pause(): no new request is started until resume(); what is left waits in the carry buffer. */
  private paused = false;
  private parsing = false;

  constructor(sink: RequestSink, limits: RequestLimits) {
    this.sink = sink;
    this.limits = limits;
  }

  feed(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    if (this.carrying) {
      this.append(chunk);
      if (this.paused || this.end < this.need) return;
    } else {
      this.buffer = chunk;
      this.end = chunk.length;
      this.pos = 0;
      this.frameStart = 0;
      this.need = 0;
    }
    this.run();
  }

  /**
   * Stops handing out requests after the current one, even within a read already received: the
   * session uses it to hold a client to its in-flight limit exactly. The rest of the read waits.
   */
  pause(): void {
    this.paused = true;
  }

  /** Bytes received and not yet handed out (held while paused, or the start of an unfinished request). */
  get bufferedBytes(): number {
    return this.carrying ? this.end - this.frameStart : 0;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // Called from inside onRequest, the running loop just carries on.
    if (this.parsing || this.failed || !this.carrying || this.end < this.need) return;
    this.run();
  }

  private run(): void {
    this.parsing = true;
    try {
      this.parse();
    } finally {
      this.parsing = false;
    }
    if (this.failed) return;
    if (this.state === START && this.pos === this.end) {
      this.dropCarry();
    } else if (!this.carrying) {
      this.startCarry();
    }
  }

  private parse(): void {
    const buffer = this.buffer;
    const end = this.end;
    while (this.pos < end) {
      if (this.state === START) {
        this.frameStart = this.pos;
        if (this.paused) {
          this.need = this.pos;
          return;
        }
        if (buffer[this.pos] === 42 /* '*' */) {
          if (!this.parseMultibulkHeader()) return;
        } else {
          if (!this.parseInline()) return;
        }
      } else if (this.state === BULK_HEADER) {
        if (!this.parseBulkHeader()) return;
      } else {
        // BULK_BODY: the body and its CRLF must be here in full.
        const bodyEnd = this.pos + this.bulkLength;
        if (bodyEnd + 2 > end) {
          this.need = bodyEnd + 2;
          return;
        }
        this.view.starts[this.argIndex] = this.pos;
        this.view.ends[this.argIndex] = bodyEnd;
        this.argIndex++;
        // Like Redis, the two bytes after the body are skipped unchecked.
        this.pos = bodyEnd + 2;
        if (this.argIndex === this.argcExpected) this.emitMultibulk();
        else this.state = BULK_HEADER;
      }
    }
  }

  /** Parses "*<count>\r\n". Returns false when it must stop (more bytes needed, or an error). */
  private parseMultibulkHeader(): boolean {
    if (!this.readCountLine(this.pos + 1, 'Protocol error: invalid multibulk length')) return false;
    const count = this.lineValue;
    if (count > this.limits.maxMultibulkLength || count > 0x7fffffff) {
      return this.fail('Protocol error: invalid multibulk length');
    }
    if (count <= 0) {
      // Redis reads "*0" and "*-1" as no command at all.
      this.state = START;
      return true;
    }
    this.argcExpected = count;
    this.argIndex = 0;
    this.view.reserve(Math.min(count, 1024));
    this.state = BULK_HEADER;
    return true;
  }

  /** Parses "$<length>\r\n". */
  private parseBulkHeader(): boolean {
    if (this.pos >= this.end) {
      this.need = this.pos + 1;
      return false;
    }
    const type = this.buffer[this.pos];
    if (type !== 36 /* '$' */) {
      return this.fail(`Protocol error: expected '$', got '${String.fromCharCode(type)}'`);
    }
    if (!this.readCountLine(this.pos + 1, 'Protocol error: invalid bulk length')) return false;
    const length = this.lineValue;
    if (length < 0 || length > this.limits.protoMaxBulkLen) {
      return this.fail('Protocol error: invalid bulk length');
    }
    if (this.argIndex >= this.view.starts.length) this.view.reserve(this.argIndex + 1);
    this.bulkLength = length;
    this.state = BULK_BODY;
    return true;
  }

  /**
   * Reads a decimal number from `from` up to CRLF into `lineValue` and moves `pos` past the line.
   * Returns false when it must stop: the line is not complete yet (`need` says how far to wait), or
   * it is not a number, in which case `invalid` has been reported.
   */
  private readCountLine(from: number, invalid: string): boolean {
    const buffer = this.buffer;
    const end = this.end;
    let i = from;
    let negative = false;
    if (i < end && buffer[i] === 45 /* '-' */) {
      negative = true;
      i++;
    }
    let value = 0;
    let digits = 0;
    for (; i < end; i++) {
      const c = buffer[i];
      if (c >= 48 && c <= 57 && digits < MAX_COUNT_DIGITS) {
        value = value * 10 + (c - 48);
        digits++;
        continue;
      }
      if (c !== CR || digits === 0) return this.fail(invalid);
      if (i + 1 >= end) break;
      if (buffer[i + 1] !== LF) return this.fail(invalid);
      this.pos = i + 2;
      this.lineValue = negative ? -value : value;
      return true;
    }
    this.need = i + 2;
    return false;
  }

  /** Parses one inline command line ("PING\r\n", or space-separated words with optional quotes). */
  private parseInline(): boolean {
    const buffer = this.buffer;
    const newline = buffer.indexOf(LF, this.pos);
    if (newline === -1 || newline >= this.end) {
      if (this.end - this.frameStart > INLINE_MAX_SIZE) return this.fail('Protocol error: too big inline request');
      this.need = this.end + 1;
      return false;
    }
    let lineEnd = newline;
    if (lineEnd > this.pos && buffer[lineEnd - 1] === CR) lineEnd--;
    this.pos = newline + 1;
    this.state = START;
    if (lineEnd - this.frameStart > INLINE_MAX_SIZE) return this.fail('Protocol error: too big inline request');
    const args = splitInlineArgs(buffer, this.frameStart, lineEnd);
    if (args === null) return this.fail('Protocol error: unbalanced quotes in request');
    // An empty line is no command (redis-cli and telnet users send them).
    if (args.length === 0) return true;
    this.emitEncoded(args);
    return true;
  }

  private emitMultibulk(): void {
    const view = this.view;
    view.buffer = this.buffer;
    view.argc = this.argcExpected;
    view.frame = this.buffer.subarray(this.frameStart, this.pos);
    this.state = START;
    this.sink.onRequest(view);
  }

  /** Inline commands are re-encoded as multibulk, so every frame can be forwarded as it is. */
  private emitEncoded(args: Buffer[]): void {
    const frame = encodeCommand(args);
    const view = this.view;
    view.reserve(args.length);
    // Walk the encoded frame to record where each argument's bytes sit.
    let offset = frame.indexOf(LF) + 1;
    for (let i = 0; i < args.length; i++) {
      offset = frame.indexOf(LF, offset) + 1;
      view.starts[i] = offset;
      view.ends[i] = offset + args[i].length;
      offset += args[i].length + 2;
    }
    view.buffer = frame;
    view.argc = args.length;
    view.frame = frame;
    this.sink.onRequest(view);
  }

  private fail(message: string): false {
    this.failed = true;
    this.buffer = Buffer.alloc(0);
    this.carrying = false;
    this.sink.onProtocolError(message);
    return false;
  }

  /** The read ended inside a request: copy its start into a carry buffer of our own. */
  private startCarry(): void {
    const keep = this.end - this.frameStart;
    const capacity = Math.max(MIN_CARRY_CAPACITY, keep * 2, this.need - this.frameStart);
    const carry = Buffer.allocUnsafe(capacity);
    this.buffer.copy(carry, 0, this.frameStart, this.end);
    this.rebase(carry, keep);
    this.carrying = true;
  }

  private append(chunk: Buffer): void {
    const needed = this.end + chunk.length;
    if (needed > this.buffer.length) {
      // Grow into a new buffer holding only the unfinished request. The old buffer is left as it is:
      // frames already emitted from it may still be waiting to be written.
      const keep = this.end - this.frameStart;
      const capacity = Math.max(MIN_CARRY_CAPACITY, (keep + chunk.length) * 2, this.need - this.frameStart);
      const grown = Buffer.allocUnsafe(capacity);
      this.buffer.copy(grown, 0, this.frameStart, this.end);
      this.rebase(grown, keep);
    }
    chunk.copy(this.buffer, this.end);
    this.end += chunk.length;
  }

  /** Moves parsing state onto `target`, whose byte 0 is the old `frameStart`. */
  private rebase(target: Buffer, used: number): void {
    const shift = this.frameStart;
    if (this.state !== START) {
      const starts = this.view.starts;
      const ends = this.view.ends;
      for (let i = 0; i < this.argIndex; i++) {
        starts[i] -= shift;
        ends[i] -= shift;
      }
    }
    this.pos -= shift;
    this.need -= shift;
    this.frameStart = 0;
    this.buffer = target;
    this.end = used;
  }

  private dropCarry(): void {
    this.carrying = false;
    this.buffer = EMPTY;
    this.end = 0;
    this.pos = 0;
    this.need = 0;
  }
}

const EMPTY = Buffer.alloc(0);
