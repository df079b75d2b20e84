/**
 * The split MGET path per client request: encoding one part per slot (encodeSubCommand) and
 * merging the parts' replies back in request order (reorderArrays). Ten random keys land in ten
 * slots, so one MGET of 10 keys is ten one-key parts, as redis-benchmark's MGET test sends it.
 *
 * "elements + concat" is the merge as the first session wrote it (a Buffer per value, then
 * Buffer.concat), kept here as the baseline the rework is measured against.
 */
import { encodeSubCommand } from '../../src/resp/encode.ts';
import { arrayElements } from '../../src/resp/reply-reader.ts';
import type { Fanout } from '../../src/proxy/split/fanout.ts';
import { reorderArrays } from '../../src/proxy/split/merge-replies.ts';
import { type CaseResult, measure, type TimingOptions } from './harness.ts';

const GROUP = 'split MGET';
const KEYS = 10;

/** A request view holding MGET key:000000 … key:000009. */
function mgetView(): { buffer: Buffer; starts: Int32Array; ends: Int32Array } {
  let text = `*${KEYS + 1}\r\n$4\r\nMGET\r\n`;
  for (let i = 0; i < KEYS; i++) text += `$10\r\nkey:${String(i).padStart(6, '0')}\r\n`;
  const buffer = Buffer.from(text);
  const starts = new Int32Array(KEYS + 1);
  const ends = new Int32Array(KEYS + 1);
  let pos = buffer.indexOf('\n') + 1;
  for (let i = 0; i <= KEYS; i++) {
    pos = buffer.indexOf('\n', pos) + 1;
    const length = i === 0 ? 4 : 10;
    starts[i] = pos;
    ends[i] = pos + length;
    pos += length + 2;
  }
  return { buffer, starts, ends };
}

/** The merge before the rework: a Buffer per value, placed, then one Buffer.concat. */
function mergeWithElements(parts: Buffer[], order: Int32Array): Buffer {
  const placed = new Array<Buffer>(order.length);
  let sent = 0;
  for (const part of parts) for (const element of arrayElements(part) ?? []) placed[order[sent++]] = element;
  return Buffer.concat([Buffer.from(`*${order.length}\r\n`), ...placed]);
}

export function splitMergeCases(timing: TimingOptions): CaseResult[] {
  const view = mgetView();
  const name = view.buffer.subarray(view.starts[0], view.ends[0]);
  const indexes = Int32Array.from({ length: KEYS }, (_, i) => i + 1);
  // Sent in reverse request order, as keys sorted by slot generally are not in request order.
  const order = Int32Array.from({ length: KEYS }, (_, i) => KEYS - 1 - i);
  const parts = Array.from({ length: KEYS }, (_, i) => Buffer.from(`*1\r\n$16\r\nvalue-${String(i).padStart(10, '0')}\r\n`));
  const fanout = { order } as unknown as Fanout;
  const expected = mergeWithElements(parts, order);
  if (!(reorderArrays(parts, fanout) as Buffer).equals(expected)) throw new Error('reorderArrays and the baseline disagree');

  return [
    measure(GROUP, 'encode 10 one-key parts: encodeSubCommand', 'MGET', 1, () => {
      let bytes = 0;
      for (let i = 0; i < KEYS; i++) bytes += encodeSubCommand(name, view, indexes, i, 1, 1).length;
      return bytes;
    }, timing),
    measure(GROUP, 'merge 10 one-value parts: reorderArrays', 'MGET', 1, () => (reorderArrays(parts, fanout) as Buffer).length, timing),
    measure(GROUP, 'merge 10 one-value parts: elements + concat (before)', 'MGET', 1, () => mergeWithElements(parts, order).length, timing),
  ];
}
