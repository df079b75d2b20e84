import { Redis } from 'ioredis';
import { splitAddress } from './address.ts';

/**
 * A short-lived ioredis connection for control-plane questions (CLUSTER SLOTS, COMMAND): fails fast
 * instead of queueing or retrying, since the caller moves on to the next node.
 */
export function openControlConnection(address: string, timeoutMs: number): Redis {
  const { host, port } = splitAddress(address);
  return new Redis({
    host,
    port,
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

/** Runs `work` on a fresh control connection to `address` and always closes it. */
export async function withControlConnection<T>(address: string, timeoutMs: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = openControlConnection(address, timeoutMs);
  // ioredis reports connection errors as events too; the awaited calls below carry them.
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}
