/**
 * RequestParser: ns per request for a 64 KB read of pipelined requests, as a client running
 * redis-benchmark -P sends them. The parser is fed the same read over and over: after a read of
 * whole requests it is back at its start state with nothing carried, exactly as after a real read.
 */
import { readFileSync } from 'node:fs';
import { findKeys, KeyIndexes } from '../../src/commands/find-keys.ts';
import { CommandTable } from '../../src/commands/command-table.ts';
import { parseCommandReply } from '../../src/commands/parse-command-reply.ts';
import { keySlot } from '../../src/cluster/key-slot.ts';
import { RequestParser, type RequestSink } from '../../src/resp/request-parser.ts';
import type { RequestView } from '../../src/resp/request-view.ts';
import { type CaseResult, measure, type TimingOptions } from './harness.ts';

const READ_SIZE = 64 * 1024;
const GROUP = 'request parsing';

const limits = { protoMaxBulkLen: 512 * 1024 * 1024, maxMultibulkLength: 1024 * 1024 };

function frame(...args: string[]): Buffer {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return Buffer.from(text, 'latin1');
}

/** Whole requests made by `make(i)`, as many as fit in `size` bytes. */
export function pipelinedRead(size: number, make: (i: number) => Buffer): { buffer: Buffer; count: number } {
  const parts: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; ; i++) {
    const next = make(i);
    if (bytes + next.length > size) break;
    parts.push(next);
    bytes += next.length;
  }
  return { buffer: Buffer.concat(parts, bytes), count: parts.length };
}

const key = (i: number): string => `key:${String(i % 1_000_000).padStart(6, '0')}`;

class CountingSink implements RequestSink {
  requests = 0;
  argBytes = 0;
  onRequest(view: RequestView): void {
    this.requests++;
    // Touch what a router reads first: argc and where argument 0 ends.
    this.argBytes += view.argc + view.ends[0];
  }
  onProtocolError(message: string): void {
    throw new Error(`unexpected protocol error: ${message}`);
  }
}

/** The router's per-request work on top of parsing: command lookup, key finding, key slot. */
class RoutingSink implements RequestSink {
  requests = 0;
  slots = 0;
  private readonly table: CommandTable;
  private readonly keys = new KeyIndexes();
  constructor(table: CommandTable) {
    this.table = table;
  }
  onRequest(view: RequestView): void {
    this.requests++;
    const spec = this.table.lookup(view);
    if (spec === undefined) throw new Error('unknown command');
    this.keys.reset();
    findKeys(spec, view, this.keys);
    const k = this.keys.indexes[0];
    this.slots += keySlot(view.buffer, view.starts[k], view.ends[k]);
  }
  onProtocolError(message: string): void {
    throw new Error(`unexpected protocol error: ${message}`);
  }
}

export function loadFixtureTable(): CommandTable {
  const fixture = new URL('../../test/fixtures/command-reply-redis-7.0.json', import.meta.url);
  return CommandTable.fromSpecs(parseCommandReply(JSON.parse(readFileSync(fixture, 'utf8'))));
}

function feedCase(name: string, read: { buffer: Buffer; count: number }, timing: TimingOptions, note?: string): CaseResult {
  const sink = new CountingSink();
  const parser = new RequestParser(sink, limits);
  parser.feed(read.buffer);
  if (sink.requests !== read.count) throw new Error(`${name}: parsed ${sink.requests} of ${read.count} requests`);
  return measure(GROUP, name, 'request', read.count, () => {
    parser.feed(read.buffer);
    return sink.argBytes;
  }, timing, note);
}

export function requestParsingCases(timing: TimingOptions): CaseResult[] {
  const results: CaseResult[] = [];
  const sets = pipelinedRead(READ_SIZE, (i) => frame('SET', key(i), 'value'));
  const gets = pipelinedRead(READ_SIZE, (i) => frame('GET', key(i)));
  const pings = pipelinedRead(READ_SIZE, () => Buffer.from('PING\r\n'));
  results.push(feedCase('SET key:NNNNNN value, 64 KB read', sets, timing, `${sets.count} requests per read`));
  results.push(feedCase('GET key:NNNNNN, 64 KB read', gets, timing, `${gets.count} requests per read`));
  results.push(feedCase('inline PING, 64 KB read', pings, timing, `${pings.count} requests per read; re-encoded as multibulk`));

  // The same SET stream cut into exact 64 KB reads, so requests straddle reads (the carry path).
  {
    const stream = pipelinedRead(READ_SIZE * 8 + 12_345, (i) => frame('SET', key(i), 'value'));
    const reads: Buffer[] = [];
    for (let at = 0; at < stream.buffer.length; at += READ_SIZE) reads.push(stream.buffer.subarray(at, at + READ_SIZE));
    // Each round must end on a request boundary: the last read holds the stream's end.
    const sink = new CountingSink();
    const parser = new RequestParser(sink, limits);
    for (const read of reads) parser.feed(read);
    if (sink.requests !== stream.count) throw new Error(`split SET: parsed ${sink.requests} of ${stream.count}`);
    results.push(
      measure(GROUP, 'SET, stream cut at 64 KB (requests straddle reads)', 'request', stream.count, () => {
        for (let r = 0; r < reads.length; r++) parser.feed(reads[r]);
        return sink.argBytes;
      }, timing, `${reads.length} reads, ${stream.count} requests`),
    );
  }

  // Parse + lookup + findKeys + keySlot: the whole per-request routing decision before dispatch.
  {
    const table = loadFixtureTable();
    const sink = new RoutingSink(table);
    const parser = new RequestParser(sink, limits);
    parser.feed(gets.buffer);
    if (sink.requests !== gets.count) throw new Error('routing sink missed requests');
    results.push(
      measure(GROUP, 'GET 64 KB read + lookup + findKeys + keySlot', 'request', gets.count, () => {
        parser.feed(gets.buffer);
        return sink.slots;
      }, timing, 'routing decision, no dispatch'),
    );
  }
  return results;
}
