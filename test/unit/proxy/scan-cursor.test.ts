import { describe, expect, it } from 'vitest';
import { arrayElements, readString } from '../../../src/resp/reply-reader.ts';
import { rewriteCursor } from '../../../src/proxy/split/scan.ts';

/** A node's SCAN reply: [cursor, keys]. */
function scanReply(cursor: string, keys: string[]): Buffer {
  const keyBytes = keys.map((key) => `$${Buffer.byteLength(key)}\r\n${key}\r\n`).join('');
  return Buffer.from(`*2\r\n$${cursor.length}\r\n${cursor}\r\n*${keys.length}\r\n${keyBytes}`);
}

/** The cursor of a rewritten reply, and its keys. */
function decode(reply: Buffer): { cursor: string | null; keys: (string | null)[] } {
  const elements = arrayElements(reply);
  if (elements === null || elements.length !== 2) throw new Error(`not a SCAN reply: ${reply.toString('latin1')}`);
  return { cursor: readString(elements[0]), keys: (arrayElements(elements[1]) ?? []).map(readString) };
}

describe('rewriteCursor', () => {
  it('combines a node cursor with the master index: node cursor * 1024 + index', () => {
    expect(decode(rewriteCursor(scanReply('17', ['a']), 0, 3)).cursor).toBe(String(17 * 1024));
    expect(decode(rewriteCursor(scanReply('17', ['a']), 2, 3)).cursor).toBe(String(17 * 1024 + 2));
  });

  it("moves on to the next master's start when a master's scan ends", () => {
    expect(decode(rewriteCursor(scanReply('0', ['a']), 0, 3)).cursor).toBe('1');
    expect(decode(rewriteCursor(scanReply('0', []), 1, 3)).cursor).toBe('2');
  });

  it('ends the whole scan with cursor 0 after the last master', () => {
    expect(decode(rewriteCursor(scanReply('0', ['z']), 2, 3)).cursor).toBe('0');
    expect(decode(rewriteCursor(scanReply('0', []), 0, 1)).cursor).toBe('0');
  });

  it("keeps the node's keys, in its order, byte for byte", () => {
    const keys = ['user:1', '', 'clé', 'a\r\nb'];
    const reply = rewriteCursor(scanReply('5', keys), 1, 3);
    expect(decode(reply).keys).toEqual(keys);
    const original = arrayElements(scanReply('5', keys))?.[1];
    expect(arrayElements(reply)?.[1].equals(original as Buffer)).toBe(true);
  });

  it('does not lose precision on node cursors beyond 2^53', () => {
    const nodeCursor = 2n ** 53n + 1n;
    const cursor = decode(rewriteCursor(scanReply(String(nodeCursor), []), 1, 3)).cursor;
    expect(cursor).toBe(String(nodeCursor * 1024n + 1n));
  });

  it('accepts the largest node cursor that still fits in 64 bits once combined', () => {
    const largest = (2n ** 64n - 1n - 2n) / 1024n;
    const cursor = decode(rewriteCursor(scanReply(String(largest), []), 2, 3)).cursor;
    expect(BigInt(cursor ?? '-1')).toBe(largest * 1024n + 2n);
    expect(BigInt(cursor ?? '-1') <= 2n ** 64n - 1n).toBe(true);
  });

  it('refuses a node cursor too large to combine', () => {
    const reply = rewriteCursor(scanReply(String(2n ** 63n), ['a']), 0, 3);
    expect(reply.toString('latin1')).toBe('-ERR slotgate: node cursor too large to combine\r\n');
  });

  it('passes error replies through unchanged', () => {
    const error = Buffer.from('-ERR invalid cursor\r\n');
    expect(rewriteCursor(error, 0, 3)).toBe(error);
  });

  it('passes through a reply that is not a two-element array', () => {
    const odd = Buffer.from('*1\r\n$1\r\n0\r\n');
    expect(rewriteCursor(odd, 0, 3)).toBe(odd);
  });

  it('gives cursors that, read back as the proxy does, name the same master and node cursor', () => {
    // scanAcrossMasters reads a client cursor as: master = cursor % 1024, node cursor = cursor / 1024.
    for (const [nodeCursor, index] of [
      [1n, 0],
      [123456789n, 1],
      [2n ** 40n, 2],
    ] as const) {
      const cursor = BigInt(decode(rewriteCursor(scanReply(String(nodeCursor), []), index, 3)).cursor ?? '-1');
      expect(cursor % 1024n).toBe(BigInt(index));
      expect(cursor / 1024n).toBe(nodeCursor);
    }
  });
});
