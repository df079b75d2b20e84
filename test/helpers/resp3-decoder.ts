/**
 * A small RESP3 (and so RESP2) decoder for tests: redis-parser knows only RESP2. Values: strings,
 * numbers, null, booleans, bigints, arrays, Map for maps, Set for sets, Error for errors, and
 * tagged objects for what has no plain JS form: `{ push: [...] }` and `{ verbatim: 'txt', text }`.
 * Attributes (`|`) are read and dropped.
 */
export type Resp3Value = unknown;

export interface Push {
  push: Resp3Value[];
}

export interface Verbatim {
  verbatim: string;
  text: string;
}

/** Thrown inside when the buffer ends before the value does. */
const INCOMPLETE = Symbol('incomplete');

export class Resp3Decoder {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly onValue: (value: Resp3Value) => void;

  constructor(onValue: (value: Resp3Value) => void) {
    this.onValue = onValue;
  }

  execute(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let pos = 0;
    while (pos < this.buffer.length) {
      let result: [Resp3Value, number];
      try {
        result = this.read(pos);
      } catch (error) {
        if (error === INCOMPLETE) break;
        throw error;
      }
      pos = result[1];
      this.onValue(result[0]);
    }
    this.buffer = this.buffer.subarray(pos);
  }

  private line(pos: number): [string, number] {
    const end = this.buffer.indexOf('\r\n', pos);
    if (end < 0) throw INCOMPLETE;
    return [this.buffer.toString('utf8', pos, end), end + 2];
  }

  private read(pos: number): [Resp3Value, number] {
    if (pos >= this.buffer.length) throw INCOMPLETE;
    const type = String.fromCharCode(this.buffer[pos]);
    const [text, next] = this.line(pos + 1);
    switch (type) {
      case '+':
        return [text, next];
      case '-':
        return [new Error(text), next];
      case ':':
        return [Number(text), next];
      case ',':
        return [text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text), next];
      case '(':
        return [BigInt(text), next];
      case '#':
        return [text === 't', next];
      case '_':
        return [null, next];
      case '$':
      case '!':
      case '=': {
        const length = Number(text);
        if (length < 0) return [null, next];
        if (next + length + 2 > this.buffer.length) throw INCOMPLETE;
        const body = this.buffer.toString('utf8', next, next + length);
        const end = next + length + 2;
        if (type === '!') return [new Error(body), end];
        if (type === '=') return [{ verbatim: body.slice(0, 3), text: body.slice(4) } satisfies Verbatim, end];
        return [body, end];
      }
      case '*':
      case '~':
      case '>': {
        const count = Number(text);
        if (count < 0) return [null, next];
        const items: Resp3Value[] = [];
        let at = next;
        for (let i = 0; i < count; i++) {
          const [item, after] = this.read(at);
          items.push(item);
          at = after;
        }
        if (type === '~') return [new Set(items), at];
        if (type === '>') return [{ push: items } satisfies Push, at];
        return [items, at];
      }
      case '%':
      case '|': {
        const map = new Map<Resp3Value, Resp3Value>();
        let at = next;
        for (let i = 0; i < Number(text); i++) {
          const [key, afterKey] = this.read(at);
          const [value, afterValue] = this.read(afterKey);
          map.set(key, value);
          at = afterValue;
        }
        // An attribute describes the value that follows it; tests want the value.
        return type === '|' ? this.read(at) : [map, at];
      }
      default:
        throw new Error(`RESP3 decoder: unknown type byte '${type}'`);
    }
  }
}
