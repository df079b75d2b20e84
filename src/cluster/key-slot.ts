import calculateSlot from 'cluster-key-slot';

export const SLOT_COUNT = 16384;

/**
 * The cluster slot of the key at `buffer[start, end)`: CRC16 of the key, or of its {hash tag} when
 * it has a non-empty one, mod 16384. cluster-key-slot hashes Buffers byte-wise, so binary keys work.
 */
export function keySlot(buffer: Buffer, start: number, end: number): number {
  return calculateSlot(buffer.subarray(start, end));
}
