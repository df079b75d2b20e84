import type { RequestView } from '../resp/request-view.ts';

/**
 * The text of one MONITOR line, byte for byte as Redis 7.0 writes it:
 *
 *   +1795766276.258519 [0 127.0.0.1:37950] "SET" "k" "a\"b\x00"\r\n
 *
 * Each argument is quoted the way Redis's sdscatrepr quotes it: `\\` and `\"` escaped, `\n \r \t \a \b`
 * by name, other bytes outside printable ASCII (C locale isprint, 0x20 to 0x7e) as `\xhh`. The
 * database is always 0: a cluster has no other.
 */

const QUOTE = 34;
const BACKSLASH = 92;
const HEX = '0123456789abcdef';

/** The escape letter of the control bytes sdscatrepr names (\a, \b, \t, \n, \r); 0 for the others. */
const NAMED = new Uint8Array(32);
NAMED[7] = 97; // a
NAMED[8] = 98; // b
NAMED[9] = 116; // t
NAMED[10] = 110; // n
NAMED[13] = 114; // r

/** Bytes each byte takes once quoted: 1, 2 (\n, \") or 4 (\xhh). */
const WIDTH = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  if (b === QUOTE || b === BACKSLASH || (b < 32 && NAMED[b] !== 0)) WIDTH[b] = 2;
  else WIDTH[b] = b >= 32 && b <= 126 ? 1 : 4;
}

/** What Redis shows instead of a password: AUTH's arguments, HELLO's after AUTH. */
const REDACTED = Buffer.from('(redacted)');

/**
 * The arguments of `view` as a MONITOR line shows them, quoted and separated by spaces, with the
 * credentials of AUTH and HELLO … AUTH replaced by "(redacted)" as Redis 7.0 does. `name` is the
 * command's name in lower case ('auth', 'hello'; anything else is shown as sent).
 */
export function monitorArgs(view: RequestView, name: string): Buffer {
  const redacted = name === 'auth' || name === 'hello' ? redactedArgs(view, name) : null;
  const { buffer, starts, ends, argc } = view;
  let size = argc === 0 ? 0 : argc - 1; // the spaces between
  for (let i = 0; i < argc; i++) {
    if (redacted?.includes(i) === true) {
      size += REDACTED.length + 2;
      continue;
    }
    size += 2;
    for (let j = starts[i], end = ends[i]; j < end; j++) size += WIDTH[buffer[j]];
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < argc; i++) {
    if (i > 0) out[at++] = 32;
    if (redacted?.includes(i) === true) at = quote(REDACTED, 0, REDACTED.length, out, at);
    else at = quote(buffer, starts[i], ends[i], out, at);
  }
  return out;
}

/** `+<seconds>.<microseconds> [0 <client>] <args>\r\n`; `timestamp` from MonitorClock.now(). */
export function monitorLine(timestamp: string, client: string, args: Buffer): Buffer {
  const head = `+${timestamp} [0 ${client}] `;
  const headLength = Buffer.byteLength(head, 'latin1');
  const line = Buffer.allocUnsafe(headLength + args.length + 2);
  line.write(head, 0, 'latin1');
  args.copy(line, headLength);
  line[line.length - 2] = 13;
  line[line.length - 1] = 10;
  return line;
}

/** Writes bytes [start, end) of `from` quoted into `out` at `at`; returns the position after it. */
function quote(from: Buffer, start: number, end: number, out: Buffer, at: number): number {
  out[at++] = QUOTE;
  for (let j = start; j < end; j++) {
    const b = from[j];
    const width = WIDTH[b];
    if (width === 1) {
      out[at++] = b;
    } else if (width === 2) {
      out[at++] = BACKSLASH;
      out[at++] = b < 32 ? NAMED[b] : b;
    } else {
      out[at++] = BACKSLASH;
      out[at++] = 120; // x
      out[at++] = HEX.charCodeAt(b >> 4);
      out[at++] = HEX.charCodeAt(b & 15);
    }
  }
  out[at++] = QUOTE;
  return at;
}

/**
 * Which arguments Redis 7.0 redacts: AUTH's one or two (none when it has more, a syntax error it
 * answers before redacting); for HELLO, the two after each AUTH option, read as helloCommand reads
 * its options (it stops at the first one it does not know). Redis stops redacting at a first AUTH
 * whose credentials fail; slotgate redacts every AUTH pair, so no password shows either way.
 */
function redactedArgs(view: RequestView, name: string): number[] {
  if (name === 'auth') return view.argc === 2 ? [1] : view.argc === 3 ? [1, 2] : [];
  const redacted: number[] = [];
  for (let i = 2; i < view.argc; i++) {
    const more = view.argc - 1 - i;
    if (view.argEquals(i, 'AUTH') && more >= 2) {
      redacted.push(i + 1, i + 2);
      i += 2;
    } else if (view.argEquals(i, 'SETNAME') && more >= 1) {
      i++;
    } else {
      break;
    }
  }
  return redacted;
}

/**
 * Wall-clock time with microseconds, as gettimeofday gives Redis. Date.now() has only
 * milliseconds, so the time is performance.now() from an offset, set again whenever it strays more
 * than 2 ms from Date.now() (the wall clock was stepped): lines keep their order between steps.
 */
export class MonitorClock {
  private offset = performance.timeOrigin;

  now(): string {
    const monotonic = performance.now();
    let ms = monotonic + this.offset;
    const wall = Date.now();
    if (ms - wall > 2 || wall - ms > 2) {
      this.offset = wall - monotonic;
      ms = wall;
    }
    return formatTimestamp(ms);
  }
}

/** `ms` since the epoch as Redis prints a time: seconds, a dot, six digits of microseconds. */
export function formatTimestamp(ms: number): string {
  const micros = Math.floor(ms * 1000);
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.${String(micros - seconds * 1_000_000).padStart(6, '0')}`;
}
