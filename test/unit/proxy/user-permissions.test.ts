import { describe, expect, it } from 'vitest';
import type { CommandTable } from '../../../src/commands/command-table.ts';
import type { UserSetting } from '../../../src/config/user-settings.ts';
import { mayRun } from '../../../src/proxy/command-access.ts';
import type { ProxyUser } from '../../../src/proxy/user-table.ts';
import { RequestParser } from '../../../src/resp/request-parser.ts';
import type { RequestView } from '../../../src/resp/request-view.ts';
import { redis70CommandTable, userTable } from '../../helpers/user-table.ts';

const table: CommandTable = redis70CommandTable();

/** What `user` is told for `args`: null when allowed, else the error's text. */
function verdict(user: ProxyUser, ...args: string[]): string | null {
  let result: string | null | undefined;
  const parser = new RequestParser(
    {
      onRequest: (view: RequestView) => {
        const spec = table.lookup(view);
        if (spec === undefined) throw new Error(`unknown command ${args[0]}`);
        const denied = user.permissions === null ? null : user.permissions.check(spec, view);
        result = denied === null ? null : denied.toString().slice(1, -2);
      },
      onProtocolError: (message) => {
        throw new Error(message);
      },
    },
    { protoMaxBulkLen: 1024 * 1024, maxMultibulkLength: 1024 },
  );
  parser.feed(Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
  return result as string | null;
}

function user(fields: Partial<UserSetting>): ProxyUser {
  return userTable('pw', [{ name: 'u', ...fields }], table).find(Buffer.from('u')) as ProxyUser;
}

const KEYS = 'NOPERM this user has no permissions to access one of the keys used as arguments';
const command = (name: string): string => `NOPERM this user has no permissions to run the '${name}' command`;

describe('access levels', () => {
  const spec = (name: string) => {
    const found = table.get(name);
    if (found === undefined) throw new Error(name);
    return found;
  };

  it('admin runs everything; the default user from `password` is one, and pays no check', () => {
    for (const name of ['set', 'flushall', 'client|kill', 'config|get', 'eval', 'keys']) expect(mayRun(spec(name), 'admin', false)).toBe(true);
    expect(userTable('pw', [], table).defaultUser.permissions).toBeNull();
    expect(user({ access: 'admin' }).permissions).toBeNull();
  });

  it('readwrite runs data commands, scripts and cluster-wide reads, not admin-ish commands', () => {
    for (const name of ['get', 'set', 'mset', 'del', 'eval', 'fcall', 'keys', 'scan', 'dbsize', 'info', 'role', 'sort', 'client|setname', 'client|info', 'script|load', 'publish']) {
      expect(mayRun(spec(name), 'readwrite', false), name).toBe(true);
    }
    const adminish = ['flushall', 'flushdb', 'swapdb', 'migrate', 'script|flush', 'function|flush', 'function|delete', 'function|load', 'function|restore'];
    for (const name of [...adminish, 'slowlog|reset', 'latency|reset', 'client|kill', 'client|list', 'config|get', 'slowlog|get']) {
      expect(mayRun(spec(name), 'readwrite', false), name).toBe(false);
    }
  });

  it('readonly runs no write and no script that may write', () => {
    for (const name of ['get', 'mget', 'exists', 'scan', 'keys', 'eval_ro', 'evalsha_ro', 'fcall_ro', 'sort_ro', 'info', 'publish', 'subscribe', 'multi', 'watch']) {
      expect(mayRun(spec(name), 'readonly', false), name).toBe(true);
    }
    for (const name of ['set', 'del', 'blpop', 'xreadgroup', 'sort', 'eval', 'evalsha', 'fcall', 'flushall', 'client|kill']) {
      expect(mayRun(spec(name), 'readonly', false), name).toBe(false);
    }
  });

  it('with key prefixes, whatever the access: no keyspace-wide command, no script', () => {
    for (const name of ['keys', 'scan', 'randomkey', 'dbsize', 'flushall', 'eval', 'evalsha', 'eval_ro', 'fcall_ro']) {
      expect(mayRun(spec(name), 'admin', true), name).toBe(false);
    }
    for (const name of ['get', 'mset', 'info', 'publish', 'client|kill']) expect(mayRun(spec(name), 'admin', true), name).toBe(true);
  });
});

describe('UserPermissions.check', () => {
  it("answers Redis 7.0's NOPERM for a command, naming a subcommand as container|sub", () => {
    const reader = user({ access: 'readonly' });
    expect(verdict(reader, 'GET', 'k')).toBeNull();
    expect(verdict(reader, 'SET', 'k', 'v')).toBe(command('set'));
    expect(verdict(reader, 'client', 'KILL', 'ID', '3')).toBe(command('client|kill'));
  });

  it('checks every key of a request against the prefixes, as bytes', () => {
    const app = user({ keyPrefixes: ['app1:', 'shared:'] });
    expect(verdict(app, 'SET', 'app1:k', 'v')).toBeNull();
    expect(verdict(app, 'GET', 'shared:x')).toBeNull();
    expect(verdict(app, 'GET', 'app1')).toBe(KEYS);
    expect(verdict(app, 'GET', 'App1:k')).toBe(KEYS);
    expect(verdict(app, 'MGET', 'app1:a', 'shared:b', 'app1:c')).toBeNull();
    expect(verdict(app, 'MGET', 'app1:a', 'other', 'app1:c')).toBe(KEYS);
    expect(verdict(app, 'MSET', 'app1:a', 'other', 'app2:b', 'v')).toBe(KEYS);
    expect(verdict(app, 'MSET', 'app1:a', 'other', 'app1:b', 'v')).toBeNull();
    expect(verdict(app, 'RENAME', 'app1:a', 'elsewhere')).toBe(KEYS);
    expect(verdict(app, 'BLMOVE', 'app1:a', 'app2:b', 'LEFT', 'RIGHT', '0')).toBe(KEYS);
    expect(verdict(app, 'XREAD', 'BLOCK', '0', 'STREAMS', 'app1:s', 'other', '0', '0')).toBe(KEYS);
    expect(verdict(app, 'WATCH', 'app1:w', 'other')).toBe(KEYS);
    expect(verdict(app, 'KEYS', 'app1:*')).toBe(command('keys'));
    expect(verdict(app, 'EVAL', 'return 1', '1', 'app1:k')).toBe(command('eval'));
    // Pub/sub channels are not keys: not restricted.
    expect(verdict(app, 'PUBLISH', 'news', 'm')).toBeNull();
    expect(verdict(app, 'SUBSCRIBE', 'news')).toBeNull();
    // Shard channels are routed like keys, but are channels all the same (key specs flagged not_key).
    expect(verdict(app, 'SPUBLISH', 'news', 'm')).toBeNull();
    expect(verdict(app, 'SSUBSCRIBE', 'news')).toBeNull();
    expect(verdict(app, 'SUNSUBSCRIBE', 'news')).toBeNull();
  });

  it("refuses SORT patterns that read keys built from the data, and keys it can't tell", () => {
    const app = user({ keyPrefixes: ['app1:'] });
    expect(verdict(app, 'SORT', 'app1:list', 'LIMIT', '0', '5', 'ALPHA')).toBeNull();
    expect(verdict(app, 'SORT', 'app1:list', 'BY', 'nosort', 'GET', '#')).toBeNull();
    expect(verdict(app, 'SORT', 'app1:list', 'BY', 'other_*')).toBe(KEYS);
    expect(verdict(app, 'SORT_RO', 'app1:list', 'GET', 'app1:*->f')).toBe(KEYS);
    expect(verdict(app, 'SORT', 'app1:list', 'STORE', 'other')).toBe(KEYS);
  });
});
