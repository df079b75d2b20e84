/**
 * Key slot of a key sitting inside a larger buffer (a request read from a client):
 *   - keySlot(buffer, start, end): CRC16 straight over the bytes, no subarray, Redis's hash-tag rule;
 *   - cluster-key-slot over buffer.subarray(start, end), what keySlot used to be;
 *   - cluster-key-slot on a string (what a client library does).
 */
import calculateSlot from 'cluster-key-slot';
import { keySlot } from '../../src/cluster/key-slot.ts';
import { type CaseResult, measure, type TimingOptions } from './harness.ts';

const GROUP = 'keySlot';

/** What src/cluster/key-slot.ts did before it hashed in place: cluster-key-slot over a subarray. */
function subarraySlot(buffer: Buffer, start: number, end: number): number {
  return calculateSlot(buffer.subarray(start, end));
}

interface KeyCase {
  name: string;
  keys: string[];
}

/** Keys embedded in one buffer, as argument offsets of a pipelined read. */
function embed(keys: string[]): { buffer: Buffer; starts: Int32Array; ends: Int32Array } {
  const parts: Buffer[] = [];
  const starts = new Int32Array(keys.length);
  const ends = new Int32Array(keys.length);
  let at = 0;
  for (let i = 0; i < keys.length; i++) {
    const head = Buffer.from(`*2\r\n$3\r\nGET\r\n$${Buffer.byteLength(keys[i])}\r\n`);
    const body = Buffer.from(keys[i]);
    parts.push(head, body, Buffer.from('\r\n'));
    starts[i] = at + head.length;
    ends[i] = starts[i] + body.length;
    at = ends[i] + 2;
  }
  return { buffer: Buffer.concat(parts), starts, ends };
}

/**
 * Keys whose slot differs between cluster-key-slot and Redis (CLUSTER KEYSLOT on Redis 7.0.15 gave
 * the numbers here): cluster-key-slot keeps looking for a tag after an empty "{}", Redis does not.
 */
export const EMPTY_TAG_KEYS: readonly { key: string; redisSlot: number }[] = [
  { key: '{}abc}', redisSlot: 4588 },
  { key: 'a{}b{c}', redisSlot: 7353 },
  { key: '{}{x}', redisSlot: 3257 },
];

export function keySlotCases(timing: TimingOptions): CaseResult[] {
  const cases: KeyCase[] = [
    { name: 'key:NNNNNN (10 bytes)', keys: Array.from({ length: 1024 }, (_, i) => `key:${String(i * 7919).padStart(6, '0')}`) },
    { name: '{user:NNNN}.following (hash tag)', keys: Array.from({ length: 1024 }, (_, i) => `{user:${i}}.following`) },
    { name: '40-byte key', keys: Array.from({ length: 1024 }, (_, i) => `session:${String(i).padStart(8, '0')}:0123456789abcdefghijkl`) },
  ];
  const results: CaseResult[] = [];
  for (const c of cases) {
    const { buffer, starts, ends } = embed(c.keys);
    const n = c.keys.length;
    for (let i = 0; i < n; i++) {
      const expected = calculateSlot(c.keys[i]);
      if (keySlot(buffer, starts[i], ends[i]) !== expected || subarraySlot(buffer, starts[i], ends[i]) !== expected) {
        throw new Error(`${c.name}: slots disagree for ${c.keys[i]}`);
      }
    }
    const strings = c.keys;
    results.push(
      measure(GROUP, `${c.name}: keySlot(buffer, start, end)`, 'key', n, () => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += keySlot(buffer, starts[i], ends[i]);
        return sum;
      }, timing, 'src: CRC16 in place'),
    );
    results.push(
      measure(GROUP, `${c.name}: cluster-key-slot(string)`, 'key', n, () => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += calculateSlot(strings[i]);
        return sum;
      }, timing),
    );
    results.push(
      measure(GROUP, `${c.name}: cluster-key-slot(subarray)`, 'key', n, () => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += subarraySlot(buffer, starts[i], ends[i]);
        return sum;
      }, timing, 'what keySlot did before'),
    );
  }
  return results;
}

/** Lines for the report on keys where cluster-key-slot and Redis disagree. */
export function emptyTagReport(): string[] {
  const lines: string[] = [];
  for (const { key, redisSlot } of EMPTY_TAG_KEYS) {
    const buffer = Buffer.from(key);
    const ours = keySlot(buffer, 0, buffer.length);
    const package_ = calculateSlot(buffer);
    lines.push(`\`${key}\`: Redis ${redisSlot}, keySlot ${ours}${ours === redisSlot ? '' : ' (WRONG)'}, cluster-key-slot ${package_}${package_ === redisSlot ? '' : ' (WRONG)'}`);
  }
  return lines;
}
