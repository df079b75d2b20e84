import { describe, expect, it } from 'vitest';
import { arrayElements, elementBounds, readArrayHeader } from '../../../src/resp/reply-reader.ts';

describe('readArrayHeader', () => {
  it('reads counts and where the elements start', () => {
    expect(readArrayHeader(Buffer.from('*0\r\n'))).toEqual({ count: 0, offset: 4 });
    expect(readArrayHeader(Buffer.from('*12\r\n'))).toEqual({ count: 12, offset: 5 });
    expect(readArrayHeader(Buffer.from('*-1\r\n'))).toEqual({ count: -1, offset: 5 });
    expect(readArrayHeader(Buffer.from('~2\r\n:1\r\n:2\r\n'))).toEqual({ count: 2, offset: 4 });
  });

  it('refuses what is not an array header', () => {
    for (const text of ['+OK\r\n', '$3\r\nabc\r\n', '*\r\n', '*1x\r\n', '*-2\r\n', '*3']) {
      expect(readArrayHeader(Buffer.from(text))).toBeNull();
    }
  });
});

describe('elementBounds', () => {
  it('gives the same elements as arrayElements, as offsets', () => {
    const reply = Buffer.from('*4\r\n$3\r\nabc\r\n$-1\r\n*2\r\n:1\r\n+x\r\n$0\r\n\r\n');
    const starts = new Int32Array(8);
    const ends = new Int32Array(8);
    const count = elementBounds(reply, starts, ends);
    const elements = arrayElements(reply) ?? [];
    expect(count).toBe(4);
    expect(elements.map((element) => element.toString())).toEqual(['$3\r\nabc\r\n', '$-1\r\n', '*2\r\n:1\r\n+x\r\n', '$0\r\n\r\n']);
    for (let i = 0; i < count; i++) expect(reply.subarray(starts[i], ends[i]).equals(elements[i])).toBe(true);
  });

  it('answers -1 for a null array, a non-array, a cut-off array, or too little room', () => {
    const room = () => [new Int32Array(2), new Int32Array(2)] as const;
    expect(elementBounds(Buffer.from('*-1\r\n'), ...room())).toBe(-1);
    expect(elementBounds(Buffer.from(':3\r\n'), ...room())).toBe(-1);
    expect(elementBounds(Buffer.from('*2\r\n$3\r\nab'), ...room())).toBe(-1);
    expect(elementBounds(Buffer.from('*3\r\n:1\r\n:2\r\n:3\r\n'), ...room())).toBe(-1);
    // The shared scanner is left ready for the next reply after a cut-off one.
    expect(elementBounds(Buffer.from('*1\r\n:7\r\n'), ...room())).toBe(1);
  });
});
