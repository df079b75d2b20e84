import { createHash, timingSafeEqual } from 'node:crypto';
import { encodeError, OK_REPLY } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';
import type { ProxyUser, UserTable } from './user-table.ts';

/** Redis's replies, word for word: client libraries match on them. */
export const NOAUTH = encodeError('NOAUTH Authentication required.');
export const WRONGPASS = encodeError('WRONGPASS invalid username-password pair or user is disabled.');
export const AUTH_NOT_CONFIGURED = encodeError(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
);
export const HELLO_NOAUTH = encodeError(
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> ' +
    'option can be used to authenticate the client and select the RESP protocol version at the same time',
);

/** What a client may send before it has authenticated: Redis's no-auth commands. */
export const NO_AUTH_NEEDED = ['auth', 'hello', 'quit', 'reset'];

/**
 * A user's passwords (one, or two while one is rotated). Only their SHA-256 digests are kept, and
 * a candidate is compared digest to digest with timingSafeEqual, against every one of them: the
 * time taken tells nothing about the passwords, not even their length, nor which one matched.
 */
export class PasswordCheck {
  private readonly digests: Buffer[];

  constructor(passwords: string | readonly string[]) {
    this.digests = (typeof passwords === 'string' ? [passwords] : passwords).map((password) => sha256(Buffer.from(password, 'utf8')));
  }

  matches(candidate: Buffer): boolean {
    const digest = sha256(candidate);
    let matched = false;
    for (const known of this.digests) if (timingSafeEqual(digest, known)) matched = true;
    return matched;
  }
}

/** What authentication needs of the client session. */
export interface AuthSession {
  authenticated: boolean;
  readonly users: UserTable;
  /** Makes `user` the client's user, its permissions with it, and marks it authenticated. */
  logIn(user: ProxyUser): void;
}

/** Checked for an unknown user, so that its reply takes as long as a known one's. */
const NOBODY = new PasswordCheck('');

/**
 * Checks `username` (null: the default user) and `password` as Redis does, and logs the session
 * in as that user when they match. Returns null on success, else the error reply. A failed attempt
 * leaves an already authenticated session as it was, as in Redis.
 */
export function authenticate(session: AuthSession, username: Buffer | null, password: Buffer): Buffer | null {
  const users = session.users;
  const user = username === null ? users.defaultUser : users.find(username);
  if (user === undefined) {
    NOBODY.matches(password);
    return WRONGPASS;
  }
  // A user without passwords (Redis's nopass: the default user when `password` is empty) takes any.
  if (user.passwords !== null && !user.passwords.matches(password)) return WRONGPASS;
  session.logIn(user);
  return null;
}

/** AUTH <password> | AUTH <username> <password>. */
export function authCommand(view: RequestView, session: AuthSession): Buffer {
  if (view.argc > 3) return encodeError('ERR syntax error');
  if (view.argc === 2 && session.users.defaultUser.passwords === null) return AUTH_NOT_CONFIGURED;
  const refused = view.argc === 2 ? authenticate(session, null, view.arg(1)) : authenticate(session, view.arg(1), view.arg(2));
  return refused ?? OK_REPLY;
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}
