import { describe, expect, it } from 'vitest';
import { RequestParser } from '../../../src/resp/request-parser.ts';
import type { RequestView } from '../../../src/resp/request-view.ts';
import {
  AUTH_NOT_CONFIGURED,
  authCommand,
  authenticate,
  PasswordCheck,
  passwordCheckFor,
  WRONGPASS,
  type AuthSession,
} from '../../../src/proxy/client-auth.ts';
import { OK_REPLY } from '../../../src/resp/encode.ts';

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

function session(password: string): AuthSession {
  const check = passwordCheckFor(password);
  return { authenticated: check === null, password: check };
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

  it('is not made for an empty password: none is required then', () => {
    expect(passwordCheckFor('')).toBeNull();
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
