import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CommandTable } from '../../../src/commands/command-table.ts';
import { parseCommandReply } from '../../../src/commands/parse-command-reply.ts';
import { RequestView } from '../../../src/resp/request-view.ts';

const fixture = new URL('../../fixtures/command-reply-redis-7.0.json', import.meta.url);
const reply = JSON.parse(readFileSync(fixture, 'utf8')) as unknown[];
const table = CommandTable.fromSpecs(parseCommandReply(reply));

/** A view whose arguments sit at an offset inside a larger buffer, as they do in a read buffer. */
function viewOf(...args: string[]): RequestView {
  const view = new RequestView();
  view.buffer = Buffer.from(`*junk*${args.join('\r\n')}\r\n`, 'latin1');
  view.reserve(args.length);
  let at = 6;
  for (let i = 0; i < args.length; i++) {
    view.starts[i] = at;
    at += args[i].length;
    view.ends[i] = at;
    at += 2;
  }
  view.argc = args.length;
  return view;
}

describe('CommandTable', () => {
  it('finds commands by argument 0 in any case', () => {
    for (const name of ['get', 'GET', 'Get', 'gEt']) expect(table.lookup(viewOf(name, 'k'))?.name).toBe('get');
    expect(table.lookup(viewOf('zunionstore', 'd', '1', 'a'))?.name).toBe('zunionstore');
    expect(table.lookup(viewOf('CLIENT'))?.name).toBe('client');
  });

  it('does not find unknown or near-miss names', () => {
    for (const name of ['', 'ge', 'gett', 'g\u00e9t', 'nosuchcommand', 'object|encoding']) {
      expect(table.lookup(viewOf(name, 'k'))).toBeUndefined();
    }
    const empty = new RequestView();
    expect(table.lookup(empty)).toBeUndefined();
  });

  it('resolves subcommands by argument 1, falling back to the container', () => {
    const cases: [string[], string][] = [
      [['OBJECT', 'ENCODING', 'k'], 'object|encoding'],
      [['object', 'Encoding', 'k'], 'object|encoding'],
      [['MEMORY', 'USAGE', 'k'], 'memory|usage'],
      [['XINFO', 'STREAM', 'k'], 'xinfo|stream'],
      [['CLIENT', 'SETNAME', 'x'], 'client|setname'],
      [['CONFIG', 'GET', 'maxmemory'], 'config|get'],
      [['CLUSTER', 'SLOTS'], 'cluster|slots'],
      [['COMMAND', 'INFO', 'get'], 'command|info'],
      [['SCRIPT', 'LOAD', 'return 1'], 'script|load'],
      [['FUNCTION', 'LIST'], 'function|list'],
      [['XGROUP', 'CREATE', 's', 'g', '$'], 'xgroup|create'],
      [['CONFIG', 'RESETSTAT'], 'config|resetstat'],
      [['OBJECT'], 'object'],
      [['OBJECT', 'NOSUCH', 'k'], 'object'],
      [['COMMAND'], 'command'],
    ];
    for (const [args, name] of cases) expect(table.lookup(viewOf(...args))?.name, args.join(' ')).toBe(name);
    // Argument 1 of a plain command is never taken for a subcommand.
    expect(table.lookup(viewOf('GET', 'encoding'))?.name).toBe('get');
  });

  it('gets specs by name, subcommands included', () => {
    expect(table.get('GET')?.name).toBe('get');
    expect(table.get('OBJECT|ENCODING')?.name).toBe('object|encoding');
    expect(table.get('object|nosuch')).toBeUndefined();
    expect(table.get('nosuch')).toBeUndefined();
  });

  it('numbers every spec densely', () => {
    const all = table.allSpecs();
    expect(all.length).toBe(table.size);
    expect(table.commands.length).toBe(reply.length);
    all.forEach((spec, id) => {
      expect(spec.id).toBe(id);
      expect(table.getById(id)).toBe(spec);
    });
    expect(new Set(all.map((spec) => spec.name)).size).toBe(all.length);
  });

  it('keeps the first spec of a name given twice', () => {
    const specs = parseCommandReply([
      ['get', 2, ['readonly'], 1, 1, 1],
      ['GET', 3, ['write'], 1, 1, 1],
    ]);
    const local = CommandTable.fromSpecs(specs);
    expect(local.size).toBe(1);
    expect(local.lookup(viewOf('get', 'k'))?.arity).toBe(2);
  });
});
