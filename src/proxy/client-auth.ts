import { createHash, timingSafeEqual } from 'node:crypto';
import { encodeError, OK_REPLY } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';

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

/** The only user slotgate knows, as in a Redis with requirepass and no ACL. */
const DEFAULT_USER = 'default';

/**
 * slotgate's own password (settings.password). Only its SHA-256 digest is kept, and candidates are
 * compared digest to digest with timingSafeEqual: the time taken tells nothing about the password,
 * not even its length.
 */
export class PasswordCheck {
  private readonly digest: Buffer;

  constructor(password: string) {
    this.digest = sha256(Buffer.from(password, 'utf8'));
  }

  matches(candidate: Buffer): boolean {
    return timingSafeEqual(sha256(candidate), this.digest);
  }
}

/** The password check for settings.password, or null when it is empty (no password required). */
export function passwordCheckFor(password: string): PasswordCheck | null {
  return password === '' ? null : new PasswordCheck(password);
}

/** What authentication needs of the client session. */
export interface AuthSession {
  authenticated: boolean;
  readonly password: PasswordCheck | null;
}

/**
 * Checks `username` (null: the default user) and `password` as Redis does with requirepass, and
 * marks the session authenticated when they match. Returns null on success, else the error reply.
 * A failed attempt leaves an already authenticated session as it was, as in Redis.
 */
export function authenticate(session: AuthSession, username: Buffer | null, password: Buffer): Buffer | null {
  const isDefault = username === null || username.equals(DEFAULT_USER_BYTES);
  const check = session.password;
  if (check === null) {
    // Redis's default user has nopass: any password is accepted for it, no other user exists.
    if (!isDefault) return WRONGPASS;
    session.authenticated = true;
    return null;
  }
  // Hash the candidate even for an unknown user, so the reply takes the same time.
  const matches = check.matches(password);
  if (!isDefault || !matches) return WRONGPASS;
  session.authenticated = true;
  return null;
}

const DEFAULT_USER_BYTES = Buffer.from(DEFAULT_USER);

/** AUTH <password> | AUTH <username> <password>. */
export function authCommand(view: RequestView, session: AuthSession): Buffer {
  if (view.argc > 3) return encodeError('ERR syntax error');
  if (view.argc === 2 && session.password === null) return AUTH_NOT_CONFIGURED;
  const refused = view.argc === 2 ? authenticate(session, null, view.arg(1)) : authenticate(session, view.arg(1), view.arg(2));
  return refused ?? OK_REPLY;
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}
