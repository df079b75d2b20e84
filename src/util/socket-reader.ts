import { Socket, type OnReadOpts } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * Every socket of the process reads into this one buffer (Node's `onread` option): the event loop
 * runs one read callback at a time, and each callback copies out what it keeps before returning.
 *
 * Why: by default Node allocates a fresh 64 KiB ArrayBuffer for every read, shrinks it to the bytes
 * read, and pushes it through the Readable stream machinery (push, 'data', a maybeReadMore tick).
 * Copying the bytes out into a pooled Buffer (Buffer.allocUnsafe slices an 8 KiB pool for small
 * reads) is cheaper. Measured A/B against 'data' events, redis-benchmark -c 50 -r 100000 through one
 * slotgate process, 4 interleaved runs each (docs/PROFILE.md): -P 1 GET 10.9 -> 8.9 µs user CPU per
 * request (sys 17.0 -> 15.4), -P 16 SET 2.26 -> 2.02 µs in all.
 */
const SHARED_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export type OnChunk = (chunk: Buffer) => void;

function copyOut(buffer: Uint8Array, bytes: number): Buffer {
  const chunk = Buffer.allocUnsafe(bytes);
  chunk.set(buffer.subarray(0, bytes));
  return chunk;
}

/** The `onread` option for net.connect(): `onChunk` gets each read's bytes, its own to keep. */
export function sharedReadOption(onChunk: OnChunk): OnReadOpts {
  return {
    buffer: SHARED_READ_BUFFER,
    callback(bytes: number, buffer: Uint8Array): boolean {
      onChunk(copyOut(buffer, bytes));
      return true;
    },
  };
}

/**
 * The symbols under which net.Socket keeps its `onread` buffer and callback. A server hands out
 * sockets it made itself, with no way to pass `onread`; a socket accepted paused (pauseOnConnect)
 * can still be switched over through these, before it ever reads. Found by name on a throwaway
 * socket; on a Node whose sockets lack them, accepted sockets keep the 'data' event.
 */
const onreadSymbols = ((): { buffer: symbol; callback: symbol; generator: symbol } | undefined => {
  const byName = new Map<string, symbol>();
  for (const symbol of Object.getOwnPropertySymbols(new Socket())) byName.set(symbol.description ?? '', symbol);
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  return buffer && callback && generator ? { buffer, callback, generator } : undefined;
})();

/** Whether accepted sockets read into the shared buffer on this Node (else through 'data' events). */
export const acceptedSocketsShareReadBuffer = onreadSymbols !== undefined;

interface HandleWithUserBuffer {
  useUserBuffer?(buffer: Uint8Array): void;
}

/**
 * Starts reading an accepted socket that the server created paused (pauseOnConnect): into the
 * shared buffer when this Node allows it and nothing was read yet, through 'data' events otherwise. `onChunk` gets bytes
 * that are its own to keep. socket.pause()/resume() keep working either way.
 *
 * A TLSSocket always takes the 'data' path: it has read already (the handshake), may hold decrypted
 * bytes in its stream buffer, and its handle carries ciphertext. A 'data' listener is handed what is
 * buffered first, so nothing sent with or right after the handshake is lost.
 */
export function startReading(socket: Socket, onChunk: OnChunk): void {
  const handle = (socket as unknown as { _handle: HandleWithUserBuffer | null })._handle;
  const plain = !(socket instanceof TLSSocket);
  // Bytes Node already read into the stream (a socket handed over from another process can start
  // reading before it reaches us) would be skipped by the switch: such a socket keeps 'data'.
  const unread = socket.readableLength > 0;
  if (plain && !unread && onreadSymbols !== undefined && handle !== null && typeof handle.useUserBuffer === 'function') {
    const option = sharedReadOption(onChunk);
    const fields = socket as unknown as Record<symbol, unknown>;
    fields[onreadSymbols.buffer] = option.buffer;
    fields[onreadSymbols.callback] = option.callback;
    fields[onreadSymbols.generator] = null;
    handle.useUserBuffer(SHARED_READ_BUFFER);
  } else {
    socket.on('data', onChunk);
  }
  socket.resume();
}
