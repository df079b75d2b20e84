import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { splitAddress } from './address.ts';

/**
 * A short-lived ioredis connection for control-plane questions (CLUSTER SLOTS, COMMAND): fails fast
 * instead of queueing or retrying, since the caller moves on to the next node.
 */
export function openControlConnection(address: string, timeoutMs: number, tls?: ConnectionOptions): Redis {
  const { host, port } = splitAddress(address);
  return new Redis({
    host,
    port,
    // ioredis hands these to tls.connect() with host and port: the same checks as the data path.
    ...(tls === undefined ? {} : { tls }),
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
 * Connects, failing with the socket's own error: ioredis's connect() only says "Connection is
 * closed.", which hides a refused TLS certificate or a name it does not carry. Error events are
 * otherwise left to the awaited calls, which carry them.
 */
export async function connectControl(redis: Redis): Promise<void> {
  let lastError: Error | null = null;
  const onError = (error: Error): void => {
    lastError = error;
  };
  redis.on('error', onError);
  try {
    await redis.connect();
  } catch (error) {
    throw lastError ?? error;
  }
}

/** Runs `work` on a fresh control connection to `address` (over TLS with `tls`) and always closes it. */
export async function withControlConnection<T>(
  address: string,
  timeoutMs: number,
  work: (redis: Redis) => Promise<T>,
  tls?: ConnectionOptions,
): Promise<T> {
  const redis = openControlConnection(address, timeoutMs, tls);
  try {
    await connectControl(redis);
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}
