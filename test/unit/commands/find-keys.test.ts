import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CommandTable } from '../../../src/commands/command-table.ts';
import { findKeys, KeyIndexes } from '../../../src/commands/find-keys.ts';
import { parseCommandReply } from '../../../src/commands/parse-command-reply.ts';
import { requestViewOf } from '../../helpers/request-view-of.ts';

const fixture = new URL('../../fixtures/command-reply-redis-7.0.json', import.meta.url);
const table = CommandTable.fromSpecs(parseCommandReply(JSON.parse(readFileSync(fixture, 'utf8'))));


/** The keys of a request, as strings, and whether findKeys called them complete. */
function keysOf(line: string | string[]): { keys: string[]; complete: boolean } {
  const view = requestViewOf(typeof line === 'string' ? line.split(' ') : line);
  const spec = table.lookup(view);
  if (spec === undefined) throw new Error(`unknown command in ${String(line)}`);
  const into = new KeyIndexes();
  const complete = findKeys(spec, view, into);
  const keys: string[] = [];
  for (let i = 0; i < into.count; i++) keys.push(view.argString(into.indexes[i]));
  return { keys, complete };
}

function expectKeys(line: string | string[], keys: string[]): void {
  expect(keysOf(line)).toEqual({ keys, complete: true });
}

describe('findKeys on Redis 7.0 key specs', () => {
  it('finds single keys and fixed positions', () => {
    expectKeys('GET k', ['k']);
    expectKeys('set k v EX 10', ['k']);
    expectKeys('RENAME a b', ['a', 'b']);
    expectKeys('SMOVE src dst member', ['src', 'dst']);
    expectKeys('LMOVE src dst LEFT RIGHT', ['src', 'dst']);
    expectKeys('BITOP AND dest a b', ['dest', 'a', 'b']);
  });

  it('finds ranges with a step and a negative last key', () => {
    expectKeys('MSET k1 v1 k2 v2', ['k1', 'k2']);
    expectKeys('MGET a b c', ['a', 'b', 'c']);
    expectKeys('DEL k1 k2 k3', ['k1', 'k2', 'k3']);
    expectKeys('BLPOP a b 0', ['a', 'b']);
  });

  it('finds keys counted by a numkeys argument', () => {
    expectKeys('EVAL script 2 k1 k2 a1', ['k1', 'k2']);
    expectKeys('EVALSHA sha 1 k1 a1 a2', ['k1']);
    expectKeys('EVAL script 0 a1', []);
    expectKeys('FCALL fn 2 k1 k2 a1', ['k1', 'k2']);
    expectKeys('FCALL_RO fn 1 k1', ['k1']);
    expectKeys('ZUNIONSTORE dest 2 a b WEIGHTS 1 2', ['dest', 'a', 'b']);
    expectKeys('ZUNION 2 a b', ['a', 'b']);
    expectKeys('LMPOP 2 a b LEFT', ['a', 'b']);
    expectKeys('BLMPOP 0 2 a b LEFT COUNT 3', ['a', 'b']);
    expectKeys('ZINTERCARD 2 a b LIMIT 5', ['a', 'b']);
  });

  it('finds keys after a keyword', () => {
    expectKeys('XREAD COUNT 2 STREAMS s1 s2 0 0', ['s1', 's2']);
    expectKeys('xread streams s1 $', ['s1']);
    expectKeys('XREADGROUP GROUP g c STREAMS s 0', ['s']);
    expectKeys('XREADGROUP GROUP g c COUNT 1 BLOCK 0 NOACK STREAMS s1 s2 > >', ['s1', 's2']);
    expectKeys('GEORADIUS k 15 37 200 km', ['k']);
    expectKeys('GEORADIUS k 15 37 200 km WITHDIST STORE dest', ['k', 'dest']);
    expectKeys('GEORADIUS k 15 37 200 km STOREDIST dest', ['k', 'dest']);
    expectKeys('GEORADIUSBYMEMBER k m 200 km STORE dest', ['k', 'dest']);
  });

  it('resolves subcommands before finding keys', () => {
    expectKeys('OBJECT ENCODING k', ['k']);
    expectKeys('object encoding k', ['k']);
    expectKeys('MEMORY USAGE k SAMPLES 5', ['k']);
    expectKeys('XINFO STREAM k FULL', ['k']);
    expectKeys('XGROUP CREATE s g $ MKSTREAM', ['s']);
    expectKeys('OBJECT HELP', []);
  });

  it('finds SORT keys: the sorted key and STORE, not BY/GET patterns', () => {
    expectKeys('SORT k', ['k']);
    expectKeys('SORT k BY w_* LIMIT 0 10 GET o_* GET # DESC ALPHA', ['k']);
    expectKeys('SORT k GET store STORE dest', ['k', 'dest']);
    expectKeys('SORT k STORE d1 STORE d2', ['k', 'd2']);
    expectKeys('SORT_RO k BY w_* GET #', ['k']);
  });

  it('finds MIGRATE keys in both forms', () => {
    expectKeys(['MIGRATE', 'host', '6379', '', '0', '5000', 'KEYS', 'a', 'b'], ['a', 'b']);
    expectKeys('MIGRATE host 6379 k 0 5000', ['k']);
    expectKeys('MIGRATE host 6379 k 0 5000 COPY REPLACE', ['k']);
    expectKeys(['MIGRATE', 'h', '1', '', '0', '5', 'AUTH', 'KEYS', 'KEYS', 'a'], ['a']);
    expectKeys(['MIGRATE', 'h', '1', '', '0', '5', 'AUTH2', 'u', 'KEYS', 'KEYS', 'a'], ['a']);
    // Redis refuses KEYS with a non-empty key argument: no keys, and the node says why.
    expectKeys('MIGRATE h 1 k 0 5 KEYS a', []);
  });

  it('finds no keys for keyless commands', () => {
    expectKeys('PING', []);
    expectKeys('ping hello', []);
    expectKeys('INFO server', []);
  });

  it('treats shard channels as keys (not_key specs route like keys)', () => {
    expectKeys('SPUBLISH chan msg', ['chan']);
  });
});

describe('findKeys on malformed requests', () => {
  it('takes no keys from a numkeys that is not a count that fits', () => {
    for (const numKeys of ['abc', '-1', '999', '', '01', '+1', ' 1', '1.0', '99999999999999999999']) {
      expect(keysOf(['EVAL', 'script', numKeys, 'k1', 'k2'])).toEqual({ keys: [], complete: true });
    }
    expect(keysOf('ZUNIONSTORE dest 5 a b')).toEqual({ keys: ['dest'], complete: true });
    expect(keysOf('EVAL script 3 k1 k2')).toEqual({ keys: [], complete: true });
    expect(keysOf('EVAL script 2 k1 k2')).toEqual({ keys: ['k1', 'k2'], complete: true });
  });

  it('copes with requests too short for their specs', () => {
    expectKeys('EVAL', []);
    expectKeys('EVAL script', []);
    expectKeys('GET', []);
    expectKeys('RENAME a', ['a']);
    expectKeys('MSET k1', ['k1']);
    expectKeys('XREAD STREAMS', []);
    expectKeys('XREAD STREAMS s1', []);
    expectKeys('XREAD STREAMS s1 s2 0', ['s1']);
    expectKeys('SORT', []);
    expectKeys('MIGRATE h', []);
    expectKeys('OBJECT ENCODING', []);
  });
});

describe('findKeys on hand-made specs', () => {
  it('reports unknown specs and empty incomplete ones as incomplete, keeping what it found', () => {
    const reply = [
      ['mod.unknown', -2, ['write'], 0, 0, 0, [], [], [['flags', ['RW'], 'begin_search', ['type', 'index', 'spec', ['index', 1]], 'find_keys', ['type', 'range', 'spec', ['lastkey', 0, 'keystep', 1, 'limit', 0]]], ['flags', ['RW'], 'begin_search', ['type', 'unknown', 'spec', []], 'find_keys', ['type', 'unknown', 'spec', []]]], []],
      ['mod.incomplete', -2, ['write'], 0, 0, 0, [], [], [['flags', ['RW', 'incomplete'], 'begin_search', ['type', 'keyword', 'spec', ['keyword', 'KEYS', 'startfrom', 1]], 'find_keys', ['type', 'range', 'spec', ['lastkey', -1, 'keystep', 1, 'limit', 0]]]], []],
      ['mod.back', -2, ['write'], 0, 0, 0, [], [], [['flags', ['RW'], 'begin_search', ['type', 'keyword', 'spec', ['keyword', 'AT', 'startfrom', -1]], 'find_keys', ['type', 'range', 'spec', ['lastkey', 1, 'keystep', 1, 'limit', 0]]]], []],
    ];
    const local = CommandTable.fromSpecs(parseCommandReply(reply));
    const run = (args: string[]) => {
      const view = requestViewOf(args);
      const into = new KeyIndexes();
      const complete = findKeys(local.lookup(view)!, view, into);
      return { keys: Array.from(into.indexes.subarray(0, into.count), (i) => view.argString(i)), complete };
    };
    expect(run(['MOD.UNKNOWN', 'k', 'x'])).toEqual({ keys: ['k'], complete: false });
    expect(run(['mod.incomplete', 'x', 'keys', 'a', 'b'])).toEqual({ keys: ['a', 'b'], complete: true });
    expect(run(['mod.incomplete', 'x', 'y'])).toEqual({ keys: [], complete: false });
    // Backward keyword search: the last AT wins; its range stops at the end of the arguments.
    expect(run(['mod.back', 'at', 'a', 'b', 'AT', 'c', 'd'])).toEqual({ keys: ['c', 'd'], complete: true });
    expect(run(['mod.back', 'x', 'AT'])).toEqual({ keys: [], complete: true });
  });
});

describe('KeyIndexes', () => {
  it('grows past its initial size and resets', () => {
    const args = ['DEL'];
    for (let i = 0; i < 100; i++) args.push(`k${i}`);
    const { keys } = keysOf(args);
    expect(keys).toHaveLength(100);
    expect(keys[99]).toBe('k99');
    const into = new KeyIndexes();
    into.push(3);
    into.reset();
    expect(into.count).toBe(0);
  });

  it('does not reallocate for a single-key command', () => {
    const view = requestViewOf(['GET', 'k']);
    const spec = table.lookup(view)!;
    const into = new KeyIndexes();
    const indexes = into.indexes;
    for (let i = 0; i < 1000; i++) {
      into.reset();
      findKeys(spec, view, into);
    }
    expect(into.indexes).toBe(indexes);
    expect(into.count).toBe(1);
  });
});
