import type { Redis } from 'ioredis';
import type { SlotRange } from './slot-map.ts';

/**
 * Asks one node for the slot map with CLUSTER SLOTS (present in every Redis Cluster version, unlike
 * CLUSTER SHARDS, which came in 7.0). A node that does not know an endpoint reports its IP as "" or
 * "?"; we then use the host we reached it by, which is what Redis means.
 */
export async function fetchSlotRanges(redis: Redis, reachedHost: string): Promise<SlotRange[]> {
  const reply = (await redis.call('CLUSTER', 'SLOTS')) as unknown[];
  const ranges: SlotRange[] = [];
  for (const entry of reply) {
    if (!Array.isArray(entry) || entry.length < 3) continue;
    const [start, end, master, ...replicas] = entry as [number, number, unknown[], ...unknown[][]];
    ranges.push({
      start: Number(start),
      end: Number(end),
      master: nodeAddress(master, reachedHost),
      replicas: replicas.map((replica) => nodeAddress(replica, reachedHost)),
    });
  }
  return ranges;
}

function nodeAddress(node: unknown[], reachedHost: string): string {
  const ip = String(node[0] ?? '');
  const host = ip === '' || ip === '?' ? reachedHost : ip;
  return `${host}:${Number(node[1])}`;
}
