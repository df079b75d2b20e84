/**
 * One parsed client request, as offsets into the buffer that holds it: argument i is
 * `buffer[starts[i], ends[i])`. Nothing is copied or decoded to strings, so routing a command costs
 * a table lookup and a hash of the key bytes.
 *
 * The parser reuses one view for every request it emits: read what you need before returning.
 * `frame` is the whole request in RESP multibulk form (inline commands are re-encoded into it),
 * ready to forward to a backend byte for byte; it stays valid after the callback returns.
 */
export class RequestView {
  buffer: Buffer = Buffer.alloc(0);
  argc = 0;
  starts: Int32Array = new Int32Array(16);
  ends: Int32Array = new Int32Array(16);
  frame: Buffer = Buffer.alloc(0);

  /** Makes room for `argc` arguments, keeping the ones already recorded. */
  reserve(argc: number): void {
    if (argc <= this.starts.length) return;
    let size = this.starts.length;
    while (size < argc) size *= 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }

  /**
   * A copy of this request that stays valid after the parser moves on (the parser reuses its one
   * view, and the read buffer may be reused): its own arguments, end to end, and its own frame. For
   * the rare request handled later, not at once.
   */
  detach(): RequestView {
    const copy = new RequestView();
    copy.reserve(this.argc);
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < this.argc; i++) {
      parts.push(this.arg(i));
      copy.starts[i] = at;
      at += this.argLength(i);
      copy.ends[i] = at;
    }
    copy.argc = this.argc;
    copy.buffer = Buffer.concat(parts, at);
    copy.frame = Buffer.from(this.frame);
    return copy;
  }

  argLength(i: number): number {
    return this.ends[i] - this.starts[i];
  }

  /** A copy-free view of argument i. */
  arg(i: number): Buffer {
    return this.buffer.subarray(this.starts[i], this.ends[i]);
  }

  /** Argument i as a string; for the control plane and error messages, not the hot path. */
  argString(i: number): string {
    return this.buffer.toString('latin1', this.starts[i], this.ends[i]);
  }

  /**
   * True when argument i equals `upper` ignoring ASCII case. `upper` must be upper-case ASCII.
   * Compares bytes in place, so checking a keyword costs no allocation.
   */
  argEquals(i: number, upper: string): boolean {
    const start = this.starts[i];
    const length = this.ends[i] - start;
    if (length !== upper.length) return false;
    const buffer = this.buffer;
    for (let j = 0; j < length; j++) {
      let c = buffer[start + j];
      if (c >= 97 && c <= 122) c -= 32;
      if (c !== upper.charCodeAt(j)) return false;
    }
    return true;
  }
}
