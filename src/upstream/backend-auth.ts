import { encodeCommand } from '../resp/encode.ts';

/** How slotgate logs in to the cluster's nodes (settings backendUsername / backendPassword). */
export interface BackendCredentials {
  /** ACL user; empty for Redis's default user (requirepass). */
  username: string;
  /** Empty when the nodes require no password: nothing is sent. */
  password: string;
}

/**
 * The login every new connection to a node makes, one object shared by reference by every
 * connection (shared, blocking, pub/sub, control) so that a reload changes it in one place. Each
 * connection reads it when it connects: connections opened afterwards (reconnects included) log in
 * with the new credentials, and those already open keep the session the node granted them.
 */
export class BackendLogin {
  // Set by change(), which the constructor calls.
  credentials!: BackendCredentials;
  /** What a RESP2 connection sends first (see authFrame), or undefined when no password is set. */
  auth: Buffer | undefined;
  /** What a RESP3 connection sends first (see hello3Frame). */
  hello3!: Buffer;
  /** Counts changes: a connection refused with older credentials may try the new ones at once. */
  generation = 0;

  constructor(credentials: BackendCredentials) {
    this.change(credentials);
  }

  /** Connections made from now on log in with `credentials`. */
  change(credentials: BackendCredentials): void {
    // A reload that leaves them as they were changes nothing: no retry of a refused login.
    if (this.credentials !== undefined && credentials.username === this.credentials.username && credentials.password === this.credentials.password) return;
    this.generation++;
    this.credentials = credentials;
    this.auth = authFrame(credentials);
    this.hello3 = hello3Frame(credentials);
  }
}

/**
 * The AUTH command every new connection to a node sends first, or undefined when no password is
 * set. Built once: the password lives in this one buffer, never in a log line.
 */
export function authFrame(credentials: BackendCredentials): Buffer | undefined {
  if (credentials.password === '') return undefined;
  return encodeCommand(credentials.username === '' ? ['AUTH', credentials.password] : ['AUTH', credentials.username, credentials.password]);
}

/**
 * The HELLO 3 that connections serving RESP3 clients send first instead, with the AUTH folded in
 * when a password is set (Redis's default user when no username is): one reply, checked as AUTH's is.
 */
export function hello3Frame(credentials: BackendCredentials): Buffer {
  if (credentials.password === '') return encodeCommand(['HELLO', '3']);
  return encodeCommand(['HELLO', '3', 'AUTH', credentials.username === '' ? 'default' : credentials.username, credentials.password]);
}

/** Whether a node's error text is about authentication (NOAUTH, WRONGPASS, AUTH called without a password). */
export function isAuthError(message: string): boolean {
  return /\b(NOAUTH|WRONGPASS)\b|AUTH <password> called without|invalid password|invalid username-password/i.test(message);
}

/** The message an operator sees when the nodes refuse slotgate's credentials. */
export function authFailureMessage(address: string, detail: string): string {
  return `authentication to ${address} failed (${detail}); check backendUsername and backendPassword`;
}
