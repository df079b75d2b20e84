import { describe, expect, it } from 'vitest';
import { RequestParser } from '../../../src/resp/request-parser.ts';
import type { RequestView } from '../../../src/resp/request-view.ts';
import {
  AUTH_NOT_CONFIGURED,
  authCommand,
  authenticate,
  PasswordCheck,
  WRONGPASS,
  type AuthSession,
} from '../../../src/proxy/client-auth.ts';
import type { ProxyUser } from '../../../src/proxy/user-table.ts';
import { OK_REPLY } from '../../../src/resp/encode.ts';
import { userTable } from '../../helpers/user-table.ts';

/** Runs `handle` on the RequestView of `args`, as the session would. */
function withView<T>(args: string[], handle: (view: RequestView) => T): T {
  let result: T | undefined;
  const parser = new RequestParser(
    { onRequest: (view) => (result = handle(view)), onProtocolError: (message) => { throw new Error(message); } },
    { protoMaxBulkLen: 1024 * 1024, maxMultibulkLength: 1024 },
  );
  parser.feed(Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
  return result as T;
}

type TestSession = AuthSession & { user: ProxyUser | null };

/** A session of a slotgate with `password` and `users`, logged in (as default) when the default user needs no password. */
function session(password: string, users: Parameters<typeof userTable>[1] = []): TestSession {
  const table = userTable(password, users);
  return {
    authenticated: table.defaultUser.passwords === null,
    users: table,
    user: null,
    logIn(user) {
      this.user = user;
      this.authenticated = true;
    },
  };
}

const text = (reply: Buffer): string => reply.toString();

describe('PasswordCheck', () => {
  it('matches the password exactly, bytes and length', () => {
    const check = new PasswordCheck('s3cret pw');
    expect(check.matches(Buffer.from('s3cret pw'))).toBe(true);
    expect(check.matches(Buffer.from('s3cret pw '))).toBe(false);
    expect(check.matches(Buffer.from('s3cret'))).toBe(false);
    expect(check.matches(Buffer.from(''))).toBe(false);
    expect(check.matches(Buffer.from('x'.repeat(10_000)))).toBe(false);
  });

  it('takes UTF-8 passwords', () => {
    expect(new PasswordCheck('pässwörd').matches(Buffer.from('pässwörd', 'utf8'))).toBe(true);
  });

  it('matches any of several passwords, so one can be rotated', () => {
    const check = new PasswordCheck(['old', 'new']);
    expect(check.matches(Buffer.from('old'))).toBe(true);
    expect(check.matches(Buffer.from('new'))).toBe(true);
    expect(check.matches(Buffer.from('neither'))).toBe(false);
  });
});

describe('authenticate', () => {
  it('accepts the password for the default user, named or not', () => {
    const named = session('pw');
    expect(authenticate(named, Buffer.from('default'), Buffer.from('pw'))).toBeNull();
    expect(named.authenticated).toBe(true);
    const unnamed = session('pw');
    expect(authenticate(unnamed, null, Buffer.from('pw'))).toBeNull();
    expect(unnamed.authenticated).toBe(true);
  });

  it('refuses a wrong password or another user with WRONGPASS', () => {
    const client = session('pw');
    expect(authenticate(client, null, Buffer.from('nope'))).toBe(WRONGPASS);
    expect(authenticate(client, Buffer.from('admin'), Buffer.from('pw'))).toBe(WRONGPASS);
    expect(authenticate(client, Buffer.from('DEFAULT'), Buffer.from('pw'))).toBe(WRONGPASS);
    expect(client.authenticated).toBe(false);
  });

  it('leaves an authenticated client authenticated after a failed attempt, as Redis does', () => {
    const client = session('pw');
    authenticate(client, null, Buffer.from('pw'));
    expect(authenticate(client, null, Buffer.from('wrong'))).toBe(WRONGPASS);
    expect(client.authenticated).toBe(true);
  });

  it('without a password, takes any password for the default user only (nopass)', () => {
    const client = session('');
    expect(authenticate(client, Buffer.from('default'), Buffer.from('anything'))).toBeNull();
    expect(authenticate(client, Buffer.from('admin'), Buffer.from('anything'))).toBe(WRONGPASS);
  });
});

describe('authCommand', () => {
  it('AUTH <password> and AUTH default <password>', () => {
    const client = session('pw');
    expect(withView(['AUTH', 'bad'], (view) => text(authCommand(view, client)))).toMatch(/^-WRONGPASS invalid username-password pair or user is disabled\.\r\n$/);
    expect(withView(['AUTH', 'pw'], (view) => authCommand(view, client))).toBe(OK_REPLY);
    const other = session('pw');
    expect(withView(['AUTH', 'default', 'pw'], (view) => authCommand(view, other))).toBe(OK_REPLY);
    expect(other.authenticated).toBe(true);
  });

  it("answers Redis's own error to AUTH <password> when no password is set", () => {
    const reply = withView(['AUTH', 'pw'], (view) => authCommand(view, session('')));
    expect(reply).toBe(AUTH_NOT_CONFIGURED);
    expect(text(reply)).toBe(
      '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n',
    );
  });

  it('refuses extra arguments', () => {
    expect(text(withView(['AUTH', 'a', 'b', 'c'], (view) => authCommand(view, session('pw'))))).toBe('-ERR syntax error\r\n');
  });
});

describe('users of slotgate\'s own', () => {
  const users = [
    { name: 'reader', passwords: ['r1', 'r2'], access: 'readonly' as const },
    { name: 'writer', passwords: ['w1'] },
  ];

  it('logs in as the user named, with any of its passwords', () => {
    for (const password of ['r1', 'r2']) {
      const client = session('pw', users);
      expect(withView(['AUTH', 'reader', password], (view) => authCommand(view, client))).toBe(OK_REPLY);
      expect(client.user?.name).toBe('reader');
    }
    const client = session('pw', users);
    expect(withView(['AUTH', 'pw'], (view) => authCommand(view, client))).toBe(OK_REPLY);
    expect(client.user?.name).toBe('default');
  });

  it("refuses an unknown user, or another user's password, with WRONGPASS", () => {
    const client = session('pw', users);
    expect(authenticate(client, Buffer.from('nobody'), Buffer.from('r1'))).toBe(WRONGPASS);
    expect(authenticate(client, Buffer.from('writer'), Buffer.from('r1'))).toBe(WRONGPASS);
    expect(authenticate(client, Buffer.from('Reader'), Buffer.from('r1'))).toBe(WRONGPASS);
    expect(authenticate(client, null, Buffer.from('r1'))).toBe(WRONGPASS);
    expect(client.authenticated).toBe(false);
    expect(client.user).toBeNull();
  });

  it('switches a logged-in client to the user it authenticates as next', () => {
    const client = session('pw', users);
    authenticate(client, Buffer.from('reader'), Buffer.from('r1'));
    authenticate(client, Buffer.from('writer'), Buffer.from('w1'));
    expect(client.user?.name).toBe('writer');
  });
});
