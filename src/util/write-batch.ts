import type { Socket } from 'node:net';

/** Below this many bytes, copying a batch into one buffer is cheaper than a writev of many. */
const CONCAT_LIMIT = 64 * 1024;

/**
 * Writes `parts` (holding `bytes` in all) to `socket` with as few calls as possible: one buffer as is,
 * small batches copied into one buffer, large ones corked so libuv sends them with a single writev.
 * Returns socket.write's verdict: false when the caller should wait for 'drain'.
 */
export function writeBatch(socket: Socket, parts: Buffer[], bytes: number): boolean {
  if (parts.length === 1) return socket.write(parts[0]);
  if (bytes <= CONCAT_LIMIT) return socket.write(Buffer.concat(parts, bytes));
  socket.cork();
  let ok = true;
  for (const part of parts) ok = socket.write(part);
  socket.uncork();
  return ok;
}
