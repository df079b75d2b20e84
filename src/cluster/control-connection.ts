import { Redis } from 'ioredis';
import { isAuthError, type BackendLogin } from '../upstream/backend-auth.ts';
import type { BackendTls } from '../upstream/backend-tls.ts';
import { splitAddress } from './address.ts';

/** How control connections reach a node: the same login and TLS as the data path's connections. */
export interface ControlAccess {
  /** Read at each connect, so control connections opened after a reload use its credentials. */
  login: BackendLogin;
  /** How to reach nodes that speak TLS; read at each connect, as login is. */
  tls?: BackendTls;
}

/**
 * A short-lived ioredis connection for control-plane questions (CLUSTER SLOTS, COMMAND): fails fast
 * instead of queueing or retrying, since the caller moves on to the next node.
 */
export function openControlConnection(address: string, timeoutMs: number, access: ControlAccess): Redis {
  const { host, port } = splitAddress(address);
  const { login, tls } = access;
  const { credentials } = login;
  return new Redis({
    host,
    port,
    // ioredis sends AUTH first when a password is given.
    username: credentials.username === '' ? undefined : credentials.username,
    password: credentials.password === '' ? undefined : credentials.password,
    // ioredis hands these to tls.connect() with host and port: the same checks as the data path.
    ...(tls === undefined ? {} : { tls: tls.options }),
    lazyConnect: true,
    // RESP2: no HELLO round trip first, and CLUSTER SLOTS / COMMAND come back as plain arrays.
    protocol: 2,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    retryStrategy: () => null,
  });
}

/**
 * Connects `redis`, failing with what really went wrong: ioredis's connect() only says "Connection
 * is closed.", and reports the cause as an 'error' event: the node's reply to a refused AUTH
 * (WRONGPASS, NOAUTH), or the socket's error (a refused TLS certificate, a name it does not carry).
 * The AUTH reply wins when there are both. Later error events are left to the awaited calls, which
 * carry them.
 */
export async function connectControl(redis: Redis): Promise<void> {
  let refused: Error | undefined;
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    if (isAuthError(error.message)) refused ??= error;
    lastError = error;
  });
  try {
    await redis.connect();
  } catch (error) {
    // A bare Error with the message alone: ioredis attaches the failed command to its errors, and
    // for AUTH its arguments are the credentials, which a logged error would print.
    throw new Error(((refused ?? lastError ?? error) as Error).message);
  }
}

/** Runs `work` on a fresh control connection to `address` and always closes it. */
export async function withControlConnection<T>(
  address: string,
  timeoutMs: number,
  access: ControlAccess,
  work: (redis: Redis) => Promise<T>,
): Promise<T> {
  const redis = openControlConnection(address, timeoutMs, access);
  try {
    await connectControl(redis);
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}
