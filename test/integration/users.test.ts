/**
 * Users of slotgate's own (the `users` setting) against a real cluster: each logs in with its own
 * passwords and gets only its rights; a reload changes them for the clients already connected.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/config/settings.ts';
import type { UserSetting } from '../../src/config/user-settings.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';

const run = promisify(execFile);

const ADMIN_PASSWORD = 'admin-pw';
const users: UserSetting[] = [
  { name: 'reader', passwords: ['reader-pw'], access: 'readonly', keyPrefixes: [] },
  { name: 'app1', passwords: ['app1-new', 'app1-old'], access: 'readwrite', keyPrefixes: ['app1:'] },
  { name: 'temp', passwords: ['temp-pw'], access: 'readwrite', keyPrefixes: [] },
];

// Redis 7.0's words, byte for byte.
const NOPERM_KEYS = 'NOPERM this user has no permissions to access one of the keys used as arguments';
const noPermCommand = (name: string): string => `NOPERM this user has no permissions to run the '${name}' command`;

let cluster: RedisClusterHandle;
let proxy: RunningProxy;
let settings: Settings;

beforeAll(async () => {
  cluster = await startRedisCluster();
  settings = { ...defaultSettings, bind: '127.0.0.1', port: 0, seeds: cluster.seeds, password: ADMIN_PASSWORD, users };
  proxy = await startTestProxy(cluster.seeds, settings);
});

afterAll(async () => {
  await proxy?.close();
  await cluster?.stop();
});

const message = (reply: unknown): string => (reply instanceof Error ? reply.message : String(reply));

async function logIn(user: string, password: string): Promise<RawClient> {
  const client = await RawClient.open(proxy.port);
  expect(await client.command('AUTH', user, password)).toBe('OK');
  return client;
}

describe('users of slotgate', () => {
  it('log in with AUTH or HELLO AUTH, and are named by ACL WHOAMI and CLIENT LIST', async () => {
    const admin = await logIn('default', ADMIN_PASSWORD);
    const reader = await logIn('reader', 'reader-pw');
    const hello = await RawClient.open(proxy.port);
    const reply = (await hello.command('HELLO', '2', 'AUTH', 'app1', 'app1-new')) as unknown[];
    expect(reply.slice(0, 2)).toEqual(['server', 'redis']);
    expect(await reader.command('ACL', 'WHOAMI')).toBe('reader');
    expect(await hello.command('ACL', 'WHOAMI')).toBe('app1');
    expect(String(await hello.command('CLIENT', 'INFO'))).toContain(' user=app1 ');
    const list = String(await admin.command('CLIENT', 'LIST'));
    expect(list).toMatch(/ user=reader /);
    expect(list).toMatch(/ user=app1 /);
    expect(list).not.toMatch(/pw|app1-new/);
    const wrongpass = 'WRONGPASS invalid username-password pair or user is disabled.';
    expect(message(await hello.command('AUTH', 'nobody', 'x'))).toBe(wrongpass);
    expect(message(await hello.command('AUTH', 'reader', 'app1-new'))).toBe(wrongpass);
    // A failed AUTH leaves it logged in as it was.
    expect(await hello.command('ACL', 'WHOAMI')).toBe('app1');
    for (const client of [admin, reader, hello]) client.close();
  });

  it('readonly: reads work, writes, writing scripts and admin commands are refused', async () => {
    const admin = await logIn('default', ADMIN_PASSWORD);
    expect(await admin.command('MSET', 'ro:a', '1', 'ro:b', '2')).toBe('OK');
    const reader = await logIn('reader', 'reader-pw');
    expect(await reader.command('GET', 'ro:a')).toBe('1');
    expect(await reader.command('MGET', 'ro:a', 'ro:b')).toEqual(['1', '2']);
    expect(message(await reader.command('SET', 'ro:a', 'x'))).toBe(noPermCommand('set'));
    expect(message(await reader.command('DEL', 'ro:a', 'ro:b'))).toBe(noPermCommand('del'));
    expect(message(await reader.command('EVAL', "return redis.call('set', KEYS[1], 'x')", '1', 'ro:a'))).toBe(noPermCommand('eval'));
    expect(message(await reader.command('FLUSHALL'))).toBe(noPermCommand('flushall'));
    expect(message(await reader.command('CLIENT', 'KILL', 'USER', 'default'))).toBe(noPermCommand('client|kill'));
    expect(await reader.command('GET', 'ro:a')).toBe('1');
    admin.close();
    reader.close();
  });

  it('keyPrefixes: every key of a request must match, split or not, queued in MULTI or not', async () => {
    const app = await logIn('app1', 'app1-new');
    expect(await app.command('MSET', 'app1:a', '1', 'app1:b', '2', 'app1:c', '3')).toBe('OK');
    expect(await app.command('MGET', 'app1:a', 'app1:b', 'app1:c')).toEqual(['1', '2', '3']);
    expect(message(await app.command('MGET', 'app1:a', 'app2:x', 'app1:c'))).toBe(NOPERM_KEYS);
    expect(message(await app.command('GET', 'app2:x'))).toBe(NOPERM_KEYS);
    expect(message(await app.command('BLPOP', 'app1:list', 'other:list', '0.1'))).toBe(NOPERM_KEYS);
    expect(message(await app.command('WATCH', 'other:w'))).toBe(NOPERM_KEYS);
    // Keyspace-wide commands have no key to check: refused.
    expect(message(await app.command('KEYS', '*'))).toBe(noPermCommand('keys'));
    expect(message(await app.command('SCAN', '0'))).toBe(noPermCommand('scan'));
    // In MULTI, as in Redis: the command is refused when queued, and EXEC aborts.
    expect(await app.command('MULTI')).toBe('OK');
    expect(await app.command('SET', 'app1:queued', '1')).toBe('QUEUED');
    expect(message(await app.command('SET', 'other', '1'))).toBe(NOPERM_KEYS);
    expect(message(await app.command('FLUSHDB'))).toBe(noPermCommand('flushdb'));
    expect(message(await app.command('EXEC'))).toBe('EXECABORT Transaction discarded because of previous errors.');
    expect(await app.command('GET', 'app1:queued')).toBeNull();
    app.close();
  });

  it('serves ioredis and redis-cli logged in as a user, with the old password of a rotation too', async () => {
    const client = new Redis({ host: '127.0.0.1', port: proxy.port, username: 'app1', password: 'app1-old', maxRetriesPerRequest: 0 });
    try {
      await client.set('app1:ioredis', 'yes');
      expect(await client.get('app1:ioredis')).toBe('yes');
      await expect(client.get('elsewhere')).rejects.toThrow(NOPERM_KEYS);
    } finally {
      client.disconnect();
    }
    const { stdout } = await run('redis-cli', ['-p', String(proxy.port), '--user', 'app1', '--pass', 'app1-new', '--no-auth-warning', 'GET', 'app1:ioredis']);
    expect(stdout.trim()).toBe('yes');
  });

  it('reload: changed users keep their clients, with the new rights at once; removed users lose theirs', async () => {
    const temp = await logIn('temp', 'temp-pw');
    const app = await logIn('app1', 'app1-old');
    const admin = await logIn('default', ADMIN_PASSWORD);
    expect(await temp.command('SET', 'reload:t', '1')).toBe('OK');
    // app1's rotation ends (the old password goes) and it becomes read-only; temp is removed.
    proxy.applySettings({ ...settings, users: [users[0], { ...users[1], passwords: ['app1-new'], access: 'readonly' }] });
    await temp.closed();
    expect(await app.command('ACL', 'WHOAMI')).toBe('app1');
    expect(await app.command('GET', 'app1:a')).toBe('1');
    expect(message(await app.command('SET', 'app1:a', 'x'))).toBe(noPermCommand('set'));
    const wrongpass = 'WRONGPASS invalid username-password pair or user is disabled.';
    const late = await RawClient.open(proxy.port);
    expect(message(await late.command('AUTH', 'app1', 'app1-old'))).toBe(wrongpass);
    expect(message(await late.command('AUTH', 'temp', 'temp-pw'))).toBe(wrongpass);
    expect(await late.command('AUTH', 'app1', 'app1-new')).toBe('OK');
    expect(message(await admin.command('CLIENT', 'KILL', 'USER', 'temp'))).toBe("ERR No such user 'temp'");
    // These two, and any of app1's from earlier tests not yet gone.
    expect(await admin.command('CLIENT', 'KILL', 'USER', 'app1')).toBeGreaterThanOrEqual(2);
    await app.closed();
    await late.closed();
    admin.close();
    proxy.applySettings(settings);
  });

  it('EXEC after a reload took rights away: the denied commands get NOPERM in their place, the others run', async () => {
    const app = await logIn('app1', 'app1-new');
    try {
      app.write('MULTI\r\nSET app1:{tx}a 1\r\nGET app1:{tx}a\r\nSET app1:{tx}b 2\r\n');
      expect(await app.read(4)).toEqual(['OK', 'QUEUED', 'QUEUED', 'QUEUED']);
      proxy.applySettings({ ...settings, users: [users[0], { ...users[1], access: 'readonly' }, users[2]] });
      // As redis-server 7.0.15 answers after ACL SETUSER ... -@write between MULTI and EXEC.
      const changed =
        'NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. ' +
        'This command is no longer allowed for the following reason: no permission to execute the command or subcommand';
      const results = (await app.command('EXEC')) as unknown[];
      expect(results.map((result) => (result === null ? null : message(result)))).toEqual([changed, null, changed]);
      expect(await app.command('EXISTS', 'app1:{tx}a', 'app1:{tx}b')).toBe(0);
    } finally {
      app.close();
      proxy.applySettings(settings);
    }
  });
});
