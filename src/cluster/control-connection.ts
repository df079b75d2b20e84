import { Redis } from 'ioredis';
import { isAuthError, type BackendCredentials } from '../upstream/backend-auth.ts';
import { splitAddress } from './address.ts';

/**
 * A short-lived ioredis connection for control-plane questions (CLUSTER SLOTS, COMMAND): fails fast
 * instead of queueing or retrying, since the caller moves on to the next node.
 */
export function openControlConnection(address: string, timeoutMs: number, credentials: BackendCredentials): Redis {
  const { host, port } = splitAddress(address);
  return new Redis({
    host,
    port,
    // ioredis sends AUTH first when a password is given.
    username: credentials.username === '' ? undefined : credentials.username,
    password: credentials.password === '' ? undefined : credentials.password,
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
 * Connects `redis`. When the node refuses its AUTH, ioredis reports the node's reply (WRONGPASS,
 * NOAUTH) only as an 'error' event and rejects connect() with "Connection is closed.": reject with
 * the node's reply instead, which says what is wrong. Also swallows the 'error' events, which the
 * caller hears of through the failed calls.
 */
export async function connectControlConnection(redis: Redis): Promise<void> {
  let refused: Error | undefined;
  redis.on('error', (error: Error) => {
    if (isAuthError(error.message)) refused ??= error;
  });
  try {
    await redis.connect();
  } catch (error) {
    throw refused ?? error;
  }
}

/** Runs `work` on a fresh control connection to `address` and always closes it. */
export async function withControlConnection<T>(
  address: string,
  timeoutMs: number,
  credentials: BackendCredentials,
  work: (redis: Redis) => Promise<T>,
): Promise<T> {
  const redis = openControlConnection(address, timeoutMs, credentials);
  try {
    await connectControlConnection(redis);
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}
