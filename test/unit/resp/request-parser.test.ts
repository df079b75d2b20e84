import { describe, expect, it } from 'vitest';
import { RequestParser, type RequestSink } from '../../../src/resp/request-parser.ts';
import type { RequestView } from '../../../src/resp/request-view.ts';

interface Parsed {
  args: string[];
  frame: string;
}

function collect(limits = { protoMaxBulkLen: 512 * 1024 * 1024, maxMultibulkLength: 1024 * 1024 }) {
  const requests: Parsed[] = [];
  const errors: string[] = [];
  const sink: RequestSink = {
    onRequest(view: RequestView) {
      const args: string[] = [];
      for (let i = 0; i < view.argc; i++) args.push(view.argString(i));
      requests.push({ args, frame: view.frame.toString('latin1') });
    },
    onProtocolError(message: string) {
      errors.push(message);
    },
  };
  return { parser: new RequestParser(sink, limits), requests, errors };
}

function multibulk(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('');
}

describe('RequestParser', () => {
  const pipeline =
    multibulk('SET', 'key:1', 'value') +
    'PING\r\n' +
    multibulk('GET', '{tag}x') +
    multibulk('MSET', 'a', '', 'b', 'x'.repeat(300)) +
    '  echo   "hello world"  \r\n' +
    '*0\r\n' +
    '\r\n' +
    multibulk('DEL', 'k\r\nwith\r\nnewlines');
  const expected = [
    ['SET', 'key:1', 'value'],
    ['PING'],
    ['GET', '{tag}x'],
    ['MSET', 'a', '', 'b', 'x'.repeat(300)],
    ['echo', 'hello world'],
    ['DEL', 'k\r\nwith\r\nnewlines'],
  ];

  it('parses a pipeline of multibulk and inline requests in one read', () => {
    const { parser, requests, errors } = collect();
    parser.feed(Buffer.from(pipeline, 'latin1'));
    expect(errors).toEqual([]);
    expect(requests.map((r) => r.args)).toEqual(expected);
  });

  it('gives the same result for every split point of the pipeline', () => {
    const bytes = Buffer.from(pipeline, 'latin1');
    for (let split = 1; split < bytes.length; split++) {
      const { parser, requests, errors } = collect();
      parser.feed(bytes.subarray(0, split));
      parser.feed(bytes.subarray(split));
      expect(errors).toEqual([]);
      expect(requests.map((r) => r.args), `split at ${split}`).toEqual(expected);
    }
  });

  it('gives the same result fed one byte at a time', () => {
    const { parser, requests } = collect();
    for (const byte of Buffer.from(pipeline, 'latin1')) parser.feed(Buffer.from([byte]));
    expect(requests.map((r) => r.args)).toEqual(expected);
  });

  it('hands out frames that stay intact while later reads arrive', () => {
    const { parser, requests } = collect();
    const bytes = Buffer.from(pipeline, 'latin1');
    for (let i = 0; i < bytes.length; i += 7) parser.feed(bytes.subarray(i, i + 7));
    expect(requests[0].frame).toBe(multibulk('SET', 'key:1', 'value'));
    expect(requests[1].frame).toBe(multibulk('PING'));
    expect(requests[3].frame).toBe(multibulk('MSET', 'a', '', 'b', 'x'.repeat(300)));
    expect(requests[4].frame).toBe(multibulk('echo', 'hello world'));
  });

  it('keeps binary bytes as they are', () => {
    const { parser, requests } = collect();
    const value = Buffer.from([0, 255, 13, 10, 42, 36, 128]);
    parser.feed(Buffer.concat([Buffer.from('*2\r\n$3\r\nGET\r\n$7\r\n'), value, Buffer.from('\r\n')]));
    expect(Buffer.from(requests[0].args[1], 'latin1')).toEqual(value);
  });

  it('assembles a large value from many reads', () => {
    const { parser, requests } = collect();
    const value = 'v'.repeat(1024 * 1024 + 3);
    const bytes = Buffer.from(multibulk('SET', 'big', value), 'latin1');
    for (let i = 0; i < bytes.length; i += 65536) parser.feed(bytes.subarray(i, i + 65536));
    expect(requests).toHaveLength(1);
    expect(requests[0].args[2].length).toBe(value.length);
    expect(requests[0].frame.length).toBe(bytes.length);
  });

  it('splits inline arguments the way Redis does', () => {
    const { parser, requests, errors } = collect();
    parser.feed(Buffer.from(`SET "a b" 'c d'\r\nSET "\\x41\\n" 'it\\'s'\r\nGET plain\n`));
    expect(errors).toEqual([]);
    expect(requests.map((r) => r.args)).toEqual([
      ['SET', 'a b', 'c d'],
      ['SET', 'A\n', "it's"],
      ['GET', 'plain'],
    ]);
  });

  it.each([
    ['*abc\r\n', 'Protocol error: invalid multibulk length'],
    ['*2\r\n+GET\r\n', "Protocol error: expected '$', got '+'"],
    ['*1\r\n$-5\r\n', 'Protocol error: invalid bulk length'],
    ['*1\r\n$x\r\n', 'Protocol error: invalid bulk length'],
    ['*1\r\n$3\r\nGET\r\n*99999999999999999999999\r\n', 'Protocol error: invalid multibulk length'],
    ['SET "unbalanced\r\n', 'Protocol error: unbalanced quotes in request'],
    ['SET "a"b\r\n', 'Protocol error: unbalanced quotes in request'],
  ])('refuses %j with Redis wording', (input, message) => {
    const { parser, errors } = collect();
    parser.feed(Buffer.from(input));
    expect(errors).toEqual([message]);
  });

  it('serves the requests before a protocol error and nothing after it', () => {
    const { parser, requests, errors } = collect();
    parser.feed(Buffer.from('PING\r\n*1\r\n!oops\r\nPING\r\n'));
    parser.feed(Buffer.from('PING\r\n'));
    expect(requests).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });

  it('refuses a bulk longer than the limit from its header alone', () => {
    const { parser, errors } = collect({ protoMaxBulkLen: 1000, maxMultibulkLength: 10 });
    parser.feed(Buffer.from('*2\r\n$3\r\nSET\r\n$1001\r\n'));
    expect(errors).toEqual(['Protocol error: invalid bulk length']);
  });

  it('refuses too many arguments from the header alone', () => {
    const { parser, errors } = collect({ protoMaxBulkLen: 1000, maxMultibulkLength: 10 });
    parser.feed(Buffer.from('*11\r\n'));
    expect(errors).toEqual(['Protocol error: invalid multibulk length']);
  });

  it('refuses an inline request longer than 64 KB without waiting for its end', () => {
    const { parser, errors } = collect();
    parser.feed(Buffer.alloc(70 * 1024, 'a'));
    expect(errors).toEqual(['Protocol error: too big inline request']);
  });

  it('hands out nothing while paused, even from a read already received, and resumes where it stopped', () => {
    const requests: string[] = [];
    let parser!: RequestParser;
    const sink: RequestSink = {
      onRequest(view) {
        requests.push(view.argString(1));
        if (requests.length % 2 === 0) parser.pause();
      },
      onProtocolError() {},
    };
    parser = new RequestParser(sink, { protoMaxBulkLen: 1024, maxMultibulkLength: 16 });
    parser.feed(Buffer.from(multibulk('GET', 'a') + multibulk('GET', 'b') + multibulk('GET', 'c') + multibulk('GET', 'd') + 'GET e\r\n'));
    expect(requests).toEqual(['a', 'b']);
    parser.feed(Buffer.from(multibulk('GET', 'f').slice(0, 9)));
    expect(requests).toEqual(['a', 'b']);
    parser.resume();
    expect(requests).toEqual(['a', 'b', 'c', 'd']);
    parser.feed(Buffer.from(multibulk('GET', 'f').slice(9)));
    expect(requests).toEqual(['a', 'b', 'c', 'd']);
    parser.resume();
    expect(requests).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});
