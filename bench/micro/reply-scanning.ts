/**
 * ReplyScanner (finds where each reply ends, decodes nothing) against redis-parser decoding the same
 * bytes with returnBuffers: true, as a client library would. Small replies are measured as a 64 KB
 * read holding many of them back to back; ns per reply.
 */
import Parser from 'redis-parser';
import { ReplyScanner } from '../../src/resp/reply-scanner.ts';
import { type CaseResult, measure, type TimingOptions } from './harness.ts';

const GROUP = 'reply scanning';
const READ_SIZE = 64 * 1024;

interface ReplyCase {
  name: string;
  /** One reply. */
  reply: Buffer;
}

function bulk(text: string | Buffer): Buffer {
  const body = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n')]);
}

function cases(): ReplyCase[] {
  const elements: Buffer[] = [Buffer.from('*100\r\n')];
  for (let i = 0; i < 100; i++) elements.push(bulk(`value:${String(i).padStart(4, '0')}`));
  return [
    { name: '+OK', reply: Buffer.from('+OK\r\n') },
    { name: ':1', reply: Buffer.from(':1\r\n') },
    { name: '$-1', reply: Buffer.from('$-1\r\n') },
    { name: '$3 bulk', reply: bulk('bar') },
    { name: '100-element array of 10-byte bulks', reply: Buffer.concat(elements) },
    { name: '1 MB bulk', reply: bulk(Buffer.alloc(1024 * 1024, 0x61)) },
  ];
}

/** The reply repeated to fill about one 64 KB read (at least once). */
function repeated(reply: Buffer): { buffer: Buffer; count: number } {
  const count = Math.max(1, Math.floor(READ_SIZE / reply.length));
  return { buffer: Buffer.concat(new Array<Buffer>(count).fill(reply)), count };
}

function scanAll(scanner: ReplyScanner, buffer: Buffer): number {
  let at = 0;
  let replies = 0;
  const end = buffer.length;
  while (at < end) {
    const next = scanner.scan(buffer, at, end);
    if (next < 0) break;
    at = next;
    replies++;
  }
  return replies;
}

function makeParser(): { parser: Parser; count: () => number } {
  let replies = 0;
  const parser = new Parser({
    returnBuffers: true,
    returnReply: () => {
      replies++;
    },
    returnError: () => {
      replies++;
    },
    returnFatalError: (error) => {
      throw error;
    },
  });
  return { parser, count: () => replies };
}

export function replyScanningCases(timing: TimingOptions): CaseResult[] {
  const results: CaseResult[] = [];
  for (const c of cases()) {
    const { buffer, count } = repeated(c.reply);
    const scanner = new ReplyScanner();
    if (scanAll(scanner, buffer) !== count) throw new Error(`${c.name}: scanner found the wrong number of replies`);
    const { parser, count: decoded } = makeParser();
    parser.execute(buffer);
    if (decoded() !== count) throw new Error(`${c.name}: redis-parser found ${decoded()} of ${count} replies`);
    const note = count > 1 ? `${count} per ${(buffer.length / 1024).toFixed(0)} KB buffer` : `${buffer.length} bytes in one buffer`;
    results.push(measure(GROUP, `${c.name}: ReplyScanner`, 'reply', count, () => scanAll(scanner, buffer), timing, note));
    results.push(
      measure(GROUP, `${c.name}: redis-parser (returnBuffers)`, 'reply', count, () => {
        parser.execute(buffer);
        return decoded();
      }, timing, note),
    );
  }

  // A 1 MB bulk as it really arrives: in 64 KB reads. The scanner skips each read; redis-parser
  // keeps the reads and copies them into one buffer at the end.
  {
    const whole = bulk(Buffer.alloc(1024 * 1024, 0x61));
    const reads: Buffer[] = [];
    for (let at = 0; at < whole.length; at += READ_SIZE) reads.push(whole.subarray(at, at + READ_SIZE));
    const scanner = new ReplyScanner();
    const scanReads = (): number => {
      let done = 0;
      for (const read of reads) if (scanner.scan(read, 0, read.length) >= 0) done++;
      return done;
    };
    if (scanReads() !== 1) throw new Error('split 1 MB bulk: scanner did not finish the reply');
    const { parser, count: decoded } = makeParser();
    for (const read of reads) parser.execute(read);
    if (decoded() !== 1) throw new Error('split 1 MB bulk: redis-parser did not finish the reply');
    const note = `${reads.length} reads`;
    results.push(measure(GROUP, '1 MB bulk in 64 KB reads: ReplyScanner', 'reply', 1, scanReads, timing, note));
    results.push(
      measure(GROUP, '1 MB bulk in 64 KB reads: redis-parser (returnBuffers)', 'reply', 1, () => {
        for (const read of reads) parser.execute(read);
        return decoded();
      }, timing, note),
    );
  }
  return results;
}
