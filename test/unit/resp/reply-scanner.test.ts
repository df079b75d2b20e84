import { describe, expect, it } from 'vitest';
import { ReplyScanner } from '../../../src/resp/reply-scanner.ts';

/** Feeds `bytes` in pieces of `step` and returns the replies the scanner cut out of them. */
function cut(bytes: Buffer, step: number): string[] {
  const scanner = new ReplyScanner();
  const replies: string[] = [];
  let parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += step) {
    const chunk = bytes.subarray(offset, offset + step);
    let pos = 0;
    while (pos < chunk.length) {
      const end = scanner.scan(chunk, pos, chunk.length);
      if (end === -2) throw new Error(scanner.error ?? 'error');
      if (end === -1) {
        parts.push(chunk.subarray(pos));
        break;
      }
      replies.push(Buffer.concat([...parts, chunk.subarray(pos, end)]).toString('latin1'));
      parts = [];
      pos = end;
    }
  }
  expect(scanner.idle).toBe(true);
  return replies;
}

const replies = [
  '+OK\r\n',
  '-MOVED 3999 127.0.0.1:7002\r\n',
  ':12345\r\n',
  '$5\r\nhello\r\n',
  '$-1\r\n',
  '$0\r\n\r\n',
  '$4\r\n\r\n\r\n\r\n',
  '*3\r\n$1\r\na\r\n$-1\r\n:7\r\n',
  '*-1\r\n',
  '*0\r\n',
  '*2\r\n*2\r\n+a\r\n*0\r\n*1\r\n*1\r\n$1\r\nz\r\n',
  // RESP3
  '%2\r\n+key\r\n:1\r\n+other\r\n*1\r\n_\r\n',
  '~2\r\n,3.14\r\n#t\r\n',
  '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n',
  '|1\r\n+ttl\r\n:3600\r\n$3\r\nval\r\n',
  '(3492890328409238509324850943850943825024385\r\n',
  '=15\r\ntxt:Some string\r\n',
  '!21\r\nSYNTAX invalid syntax\r\n',
  '_\r\n',
];

describe('ReplyScanner', () => {
  const all = Buffer.from(replies.join(''), 'latin1');

  it('cuts a stream of RESP2 and RESP3 replies at their ends', () => {
    expect(cut(all, all.length)).toEqual(replies);
  });

  it('cuts the same replies whatever the read size', () => {
    for (const step of [1, 2, 3, 5, 7, 11, 64]) expect(cut(all, step), `step ${step}`).toEqual(replies);
  });

  it('skips a large bulk without looking inside it', () => {
    const value = Buffer.alloc(3 * 1024 * 1024, '*');
    const bytes = Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, Buffer.from('\r\n+OK\r\n')]);
    const cutReplies = cut(bytes, 65536);
    expect(cutReplies).toHaveLength(2);
    expect(cutReplies[0].length).toBe(`$${value.length}\r\n`.length + value.length + 2);
  });

  it('reports bytes that are not RESP', () => {
    const scanner = new ReplyScanner();
    expect(scanner.scan(Buffer.from('hello\r\n'), 0, 7)).toBe(-2);
    expect(scanner.error).toMatch(/type byte/);
    const other = new ReplyScanner();
    expect(other.scan(Buffer.from('$abc\r\n'), 0, 6)).toBe(-2);
  });
});
