import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BeginSearch,
  CommandFlags,
  FindKeys,
  hasFlag,
  KeyProcs,
  KeySpecFlags,
  type CommandSpec,
} from '../../../src/commands/command-spec.ts';
import { parseCommandReply } from '../../../src/commands/parse-command-reply.ts';

const fixture = new URL('../../fixtures/command-reply-redis-7.0.json', import.meta.url);
const reply = JSON.parse(readFileSync(fixture, 'utf8')) as unknown[];

function parse(raw: unknown): { specs: CommandSpec[]; warnings: string[] } {
  const warnings: string[] = [];
  const specs = parseCommandReply(raw, warnings);
  return { specs, warnings };
}

function byName(specs: CommandSpec[], name: string): CommandSpec {
  const spec = specs.find((candidate) => candidate.name === name);
  if (spec === undefined) throw new Error(`${name} not parsed`);
  return spec;
}

describe('parseCommandReply on the Redis 7.0 COMMAND reply', () => {
  const { specs, warnings } = parse(reply);

  it('parses every command and subcommand without a warning', () => {
    expect(warnings).toEqual([]);
    expect(specs).toHaveLength(reply.length);
    let subcommands = 0;
    for (const entry of reply as unknown[][]) subcommands += (entry[9] as unknown[]).length;
    let parsedSubcommands = 0;
    for (const spec of specs) parsedSubcommands += spec.subcommands?.size ?? 0;
    expect(parsedSubcommands).toBe(subcommands);
    for (const spec of specs) {
      expect(spec.name).toBe(spec.name.toLowerCase());
      expect(spec.keysAlwaysKnown).toBe(true);
    }
  });

  it('reads name, arity, flags, categories and legacy positions', () => {
    const get = byName(specs, 'get');
    expect(get.arity).toBe(2);
    expect(hasFlag(get, CommandFlags.readonly | CommandFlags.fast)).toBe(true);
    expect(hasFlag(get, CommandFlags.write)).toBe(false);
    expect(get.aclCategories).toEqual(['@read', '@string', '@fast']);
    expect([get.firstKey, get.lastKey, get.step]).toEqual([1, 1, 1]);
    expect(get.hasKeys).toBe(true);
    expect(get.subcommands).toBeNull();
    expect(get.parent).toBeNull();
    expect(get.keyProc).toBe(KeyProcs.specs);

    expect(hasFlag(byName(specs, 'blpop'), CommandFlags.blocking)).toBe(true);
    expect(hasFlag(byName(specs, 'eval'), CommandFlags.movablekeys | CommandFlags.noMandatoryKeys)).toBe(true);
    expect(hasFlag(byName(specs, 'get'), CommandFlags.noMulti)).toBe(false);
    expect(hasFlag(byName(specs, 'save'), CommandFlags.noMulti | CommandFlags.admin)).toBe(true);
    expect(byName(specs, 'ping').hasKeys).toBe(false);
  });

  it('reads index/range key specs', () => {
    const [spec] = byName(specs, 'get').keySpecs;
    expect(spec).toMatchObject({ beginSearch: BeginSearch.index, index: 1, findKeys: FindKeys.range, lastKey: 0, step: 1, limit: 0, writes: false });
    expect(spec.flags).toBe(KeySpecFlags.RO | KeySpecFlags.access);
    const [mset] = byName(specs, 'mset').keySpecs;
    expect(mset).toMatchObject({ index: 1, lastKey: -1, step: 2, writes: true });
  });

  it('reads keynum and keyword key specs', () => {
    const [evalSpec] = byName(specs, 'eval').keySpecs;
    expect(evalSpec).toMatchObject({ beginSearch: BeginSearch.index, index: 2, findKeys: FindKeys.keynum, keyNumIdx: 0, firstKey: 1, step: 1 });
    const [xread] = byName(specs, 'xread').keySpecs;
    expect(xread).toMatchObject({ beginSearch: BeginSearch.keyword, keyword: 'STREAMS', startFrom: 1, findKeys: FindKeys.range, lastKey: -1, limit: 2 });
    const zunionstore = byName(specs, 'zunionstore').keySpecs;
    expect(zunionstore.map((spec) => spec.writes)).toEqual([true, false]);
    const migrate = byName(specs, 'migrate').keySpecs;
    expect(migrate[1]).toMatchObject({ beginSearch: BeginSearch.keyword, keyword: 'KEYS', startFrom: -2 });
    expect(migrate[1].flags & KeySpecFlags.incomplete).toBe(KeySpecFlags.incomplete);
    expect(byName(specs, 'spublish').keySpecs[0].flags & KeySpecFlags.notKey).toBe(KeySpecFlags.notKey);
  });

  it('keeps unknown key specs and gives SORT and MIGRATE key procs of our own', () => {
    const sort = byName(specs, 'sort');
    expect(sort.keySpecs.map((spec) => spec.beginSearch)).toEqual([BeginSearch.index, BeginSearch.unknown, BeginSearch.unknown]);
    expect(sort.keyProc).toBe(KeyProcs.sort);
    expect(byName(specs, 'sort_ro').keyProc).toBe(KeyProcs.sortReadOnly);
    expect(byName(specs, 'migrate').keyProc).toBe(KeyProcs.migrate);
  });

  it('reads subcommands with their parent, and tips as policies', () => {
    const object = byName(specs, 'object');
    const encoding = object.subcommands!.get('encoding')!;
    expect(encoding.name).toBe('object|encoding');
    expect(encoding.parent).toBe(object);
    expect(encoding.arity).toBe(3);
    expect(encoding.keySpecs[0]).toMatchObject({ index: 2, lastKey: 0 });
    expect(encoding.tips).toEqual(['nondeterministic_output']);
    const dbsize = byName(specs, 'dbsize');
    expect([dbsize.requestPolicy, dbsize.responsePolicy]).toEqual(['all_shards', 'agg_sum']);
    expect(byName(specs, 'get').requestPolicy).toBe('');
  });
});

describe('parseCommandReply on other shapes', () => {
  it('falls back to first/last/step on Redis 6 entries', () => {
    const { specs, warnings } = parse([
      ['get', 2, ['readonly', 'fast'], 1, 1, 1, ['@read', '@string', '@fast']],
      ['mset', -3, ['write', 'denyoom'], 1, -1, 2, ['@write']],
      ['ping', -1, ['stale', 'fast'], 0, 0, 0, ['@fast']],
      ['eval', -3, ['noscript', 'movablekeys'], 0, 0, 0, ['@scripting']],
      ['zunionstore', -4, ['write', 'denyoom', 'movablekeys'], 1, 1, 1, ['@write']],
      ['sort', -2, ['write', 'denyoom', 'movablekeys'], 1, 1, 1, ['@write']],
      ['set', -3, ['write', 'denyoom'], 1, 1, 1],
    ]);
    expect(specs.map((spec) => spec.name)).toEqual(['get', 'mset', 'ping', 'eval', 'zunionstore', 'sort', 'set']);
    expect(byName(specs, 'get').keySpecs).toMatchObject([{ beginSearch: BeginSearch.index, index: 1, findKeys: FindKeys.range, lastKey: 0, step: 1, writes: false }]);
    expect(byName(specs, 'mset').keySpecs).toMatchObject([{ index: 1, lastKey: -1, step: 2, writes: true }]);
    expect(byName(specs, 'ping').keySpecs).toEqual([]);
    // Movable keys that the positions cannot describe: known to be unknown.
    expect(byName(specs, 'eval').keySpecs).toMatchObject([{ beginSearch: BeginSearch.unknown }]);
    expect(byName(specs, 'eval').keysAlwaysKnown).toBe(false);
    expect(byName(specs, 'zunionstore').keySpecs.map((spec) => spec.beginSearch)).toEqual([BeginSearch.index, BeginSearch.unknown]);
    expect(byName(specs, 'sort').keysAlwaysKnown).toBe(true);
    expect(byName(specs, 'set').aclCategories).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/eval/);
  });

  it('accepts RESP3 maps as objects or Maps, Buffers and string numbers', () => {
    const { specs, warnings } = parse([
      [
        Buffer.from('GET'),
        '2',
        new Set(['readonly']),
        '1',
        '1',
        '1',
        [],
        [],
        [{ flags: ['RO'], begin_search: { type: 'index', spec: { index: 1 } }, find_keys: new Map<unknown, unknown>([['type', 'range'], ['spec', { lastkey: '0', keystep: 1, limit: 0 }]]) }],
        [],
      ],
    ]);
    expect(warnings).toEqual([]);
    expect(specs[0]).toMatchObject({ name: 'get', arity: 2, flags: CommandFlags.readonly });
    expect(specs[0].keySpecs[0]).toMatchObject({ beginSearch: BeginSearch.index, index: 1, findKeys: FindKeys.range, lastKey: 0 });
  });

  it('skips odd entries with a warning and never throws on them', () => {
    const { specs, warnings } = parse([
      null,
      42,
      'get',
      [],
      [null, 2, [], 0, 0, 0],
      ['bad.arity', 'two', [], 0, 0, 0],
      ['good', 1, [], 0, 0, 0, [], [], [], []],
      ['mod.cmd', -1, 'not-a-list', 0, 0, 0, [], [], [], [['wrongsub', 2, [], 0, 0, 0, [], [], [], []], 'junk']],
    ]);
    expect(specs.map((spec) => spec.name)).toEqual(['good', 'mod.cmd']);
    expect(specs[1].subcommands!.get('wrongsub')!.name).toBe('mod.cmd|wrongsub');
    expect(warnings).toHaveLength(8);
  });

  it('turns key specs it cannot read into unknown ones', () => {
    const range = (spec: unknown[]) => ['type', 'range', 'spec', spec];
    const index = ['type', 'index', 'spec', ['index', 1]];
    const { specs, warnings } = parse([
      [
        'mod.odd', -2, ['write'], 0, 0, 0, [], [],
        [
          ['flags', ['RW'], 'begin_search', index, 'find_keys', range(['lastkey', 0, 'keystep', 0, 'limit', 0])],
          ['flags', ['RW'], 'begin_search', ['type', 'index', 'spec', ['index', 0]], 'find_keys', range(['lastkey', 0, 'keystep', 1, 'limit', 0])],
          ['flags', [], 'begin_search', ['type', 'sideways', 'spec', []], 'find_keys', ['type', 'keynum', 'spec', ['keynumidx', -1, 'firstkey', 1, 'keystep', 1]]],
          'not-a-spec',
          ['flags', ['RW', 'mystery_flag'], 'begin_search', index, 'find_keys', range(['lastkey', 0, 'keystep', 1, 'limit', 0])],
        ],
        [],
      ],
    ]);
    const keySpecs = specs[0].keySpecs;
    expect(keySpecs.map((spec) => [spec.beginSearch, spec.findKeys])).toEqual([
      [BeginSearch.index, FindKeys.unknown],
      [BeginSearch.unknown, FindKeys.range],
      [BeginSearch.unknown, FindKeys.unknown],
      [BeginSearch.unknown, FindKeys.unknown],
      [BeginSearch.index, FindKeys.range],
    ]);
    // No access flag at all: the command's write flag decides.
    expect(keySpecs[2].writes).toBe(true);
    expect(specs[0].keysAlwaysKnown).toBe(false);
    expect(warnings).toHaveLength(5);
  });

  it('throws only when the reply is not a list', () => {
    expect(() => parseCommandReply('ERR nope')).toThrow(TypeError);
    expect(parseCommandReply([])).toEqual([]);
  });
});
