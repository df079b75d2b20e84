import { describe, expect, it } from 'vitest';
import { copyBytes, decimalLength, headerLength, writeDecimal, writeHeader } from '../../../src/resp/bytes.ts';

describe('copyBytes', () => {
  it('copies short runs (the loop) and long ones (TypedArray.set) alike', () => {
    for (const length of [0, 1, 47, 48, 49, 1000]) {
      const source = Buffer.from(Array.from({ length: length + 10 }, (_, i) => (i * 7) & 0xff));
      const target = Buffer.alloc(length + 20, 0xee);
      const after = copyBytes(source, 5, 5 + length, target, 3);
      expect(after).toBe(3 + length);
      expect(target.subarray(3, 3 + length).equals(source.subarray(5, 5 + length))).toBe(true);
      expect(target[2]).toBe(0xee);
      expect(target[3 + length]).toBe(0xee);
    }
  });
});

describe('decimal writing', () => {
  it('writes the same digits as String(n)', () => {
    for (const n of [0, 1, 9, 10, 99, 100, 12345, 1_000_000, 2 ** 31 - 1, 2 ** 40]) {
      const target = Buffer.alloc(20);
      const end = writeDecimal(target, 1, n);
      expect(decimalLength(n)).toBe(String(n).length);
      expect(target.toString('latin1', 1, end)).toBe(String(n));
    }
  });

  it('writes RESP header lines', () => {
    const target = Buffer.alloc(16);
    const end = writeHeader(target, 0, 42, 1234);
    expect(target.toString('latin1', 0, end)).toBe('*1234\r\n');
    expect(headerLength(1234)).toBe(end);
  });
});
