import { describe, expect, it } from 'vitest';
import calculateSlot from 'cluster-key-slot';
import { keySlot } from '../../../src/cluster/key-slot.ts';

function slotOf(key: string | Buffer): number {
  const buffer = Buffer.isBuffer(key) ? key : Buffer.from(key);
  // Embedded in a larger buffer, as keys are in a request.
  const padded = Buffer.concat([Buffer.from('xx'), buffer, Buffer.from('yy')]);
  return keySlot(padded, 2, 2 + buffer.length);
}

describe('keySlot', () => {
  it('matches the slots Redis gives (CLUSTER KEYSLOT)', () => {
    expect(slotOf('foo')).toBe(12182);
    expect(slotOf('bar')).toBe(5061);
    expect(slotOf('key:000000000000')).toBe(slotOf(Buffer.from('key:000000000000')));
    // CRC16/XMODEM check value of "123456789" is 0x31C3.
    expect(slotOf('123456789')).toBe(0x31c3 % 16384);
  });

  it('hashes only the first non-empty {hash tag}', () => {
    expect(slotOf('{user1000}.following')).toBe(slotOf('{user1000}.followers'));
    expect(slotOf('{user1000}.following')).toBe(slotOf('user1000'));
    expect(slotOf('foo{bar}{zap}')).toBe(slotOf('bar'));
    expect(slotOf('foo{{bar}}zap')).toBe(slotOf('{bar'));
  });

  it('hashes the whole key when the first tag is empty or unclosed, as Redis does', () => {
    // Slots from CLUSTER KEYSLOT on Redis 7.0.15. cluster-key-slot gets the empty-tag ones wrong:
    // it keeps looking for a tag after "{}".
    expect(slotOf('{}abc}')).toBe(4588);
    expect(slotOf('a{}b{c}')).toBe(7353);
    expect(slotOf('{}{x}')).toBe(3257);
    expect(slotOf('foo{bar')).not.toBe(slotOf('bar'));
  });

  it('agrees with cluster-key-slot wherever that follows Redis', () => {
    for (let i = 0; i < 2000; i++) {
      const key = `key:${i * 7919}:{tag${i % 17}}` + (i % 3 === 0 ? '' : `:${i}`);
      expect(slotOf(key)).toBe(calculateSlot(key));
      expect(slotOf(`plain:${i}`)).toBe(calculateSlot(`plain:${i}`));
    }
  });

  it('hashes binary keys byte for byte', () => {
    const binary = Buffer.from([0xff, 0x00, 0x7b, 0x41, 0x7d, 0x80]);
    expect(slotOf(binary)).toBe(slotOf('A'));
    const other = Buffer.from([0xff, 0xfe, 0x00]);
    expect(slotOf(other)).toBeGreaterThanOrEqual(0);
    expect(slotOf(other)).toBeLessThan(16384);
    expect(slotOf(other)).not.toBe(slotOf(Buffer.from([0xff, 0xfe, 0x01])));
  });

  it('hashes the empty key to slot 0', () => {
    expect(slotOf('')).toBe(0);
  });
});
