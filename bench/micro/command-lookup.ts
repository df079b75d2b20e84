/**
 * CommandTable.lookup + findKeys per request, on the Redis 7.0 command table (the test fixture).
 */
import { findKeys, KeyIndexes } from '../../src/commands/find-keys.ts';
import { RequestParser } from '../../src/resp/request-parser.ts';
import { RequestView } from '../../src/resp/request-view.ts';
import { type CaseResult, measure, type TimingOptions } from './harness.ts';
import { loadFixtureTable } from './request-parsing.ts';

const GROUP = 'command lookup';
/** Requests per timed call, so the harness's call overhead is spread thin. */
const INNER = 64;

/** A standalone view of one request (the parser's own view is reused, so copy it out). */
function viewOf(...args: string[]): RequestView {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  const copy = new RequestView();
  const parser = new RequestParser(
    {
      onRequest(view) {
        copy.reserve(view.argc);
        copy.buffer = view.buffer;
        copy.argc = view.argc;
        copy.frame = view.frame;
        copy.starts.set(view.starts.subarray(0, view.argc));
        copy.ends.set(view.ends.subarray(0, view.argc));
      },
      onProtocolError(message) {
        throw new Error(message);
      },
    },
    { protoMaxBulkLen: 1 << 29, maxMultibulkLength: 1 << 20 },
  );
  parser.feed(Buffer.from(text));
  return copy;
}

export function commandLookupCases(timing: TimingOptions): CaseResult[] {
  const table = loadFixtureTable();
  const keys = new KeyIndexes();
  const msetArgs = ['MSET'];
  for (let i = 0; i < 10; i++) msetArgs.push(`key:${String(i).padStart(6, '0')}`, 'value');
  const cases: { name: string; view: RequestView; keys: number }[] = [
    { name: 'GET key', view: viewOf('GET', 'key:000001'), keys: 1 },
    { name: 'set key value (lower case)', view: viewOf('set', 'key:000001', 'value'), keys: 1 },
    { name: 'MSET 10 keys', view: viewOf(...msetArgs), keys: 10 },
  ];
  const results: CaseResult[] = [];
  for (const c of cases) {
    const spec = table.lookup(c.view);
    if (spec === undefined) throw new Error(`${c.name}: not found`);
    keys.reset();
    findKeys(spec, c.view, keys);
    if (keys.count !== c.keys) throw new Error(`${c.name}: found ${keys.count} keys, expected ${c.keys}`);
    const view = c.view;
    results.push(
      measure(GROUP, `${c.name}: lookup`, 'request', INNER, () => {
        let found = 0;
        for (let i = 0; i < INNER; i++) if (table.lookup(view) !== undefined) found++;
        return found;
      }, timing),
    );
    results.push(
      measure(GROUP, `${c.name}: lookup + findKeys`, 'request', INNER, () => {
        let total = 0;
        for (let i = 0; i < INNER; i++) {
          const found = table.lookup(view);
          if (found === undefined) continue;
          keys.reset();
          findKeys(found, view, keys);
          total += keys.count;
        }
        return total;
      }, timing),
    );
  }
  return results;
}
