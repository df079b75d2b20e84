/**
 * Sending a batch of small replies to a client: Buffer.concat alone, then over a real loopback TCP
 * connection writeBatch (one concatenated write), one socket.write per reply, and cork + writes.
 * The reading end is in this process and discards what it gets; only the time spent inside the
 * write calls is counted (waits for 'drain' and the reader's work are not).
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { writeBatch } from '../../src/util/write-batch.ts';
import { type CaseResult, measure, measureAsync, type TimingOptions } from './harness.ts';

const GROUP = 'write batch';
const SIZES = [16, 64, 256];

/** `count` bulk replies of 10 bytes ("$10\r\nvalue:0001\r\n", 17 bytes each). */
function replies(count: number): { parts: Buffer[]; bytes: number } {
  const parts: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const part = Buffer.from(`$10\r\nvalue:${String(i % 10_000).padStart(4, '0')}\r\n`);
    parts.push(part);
    bytes += part.length;
  }
  return { parts, bytes };
}

async function socketPair(): Promise<{ server: Server; writer: Socket; reader: Socket; received: () => number }> {
  let received = 0;
  let reader: Socket | undefined;
  const server = createServer((socket) => {
    reader = socket;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const writer = connect({ host: '127.0.0.1', port: address.port });
  writer.setNoDelay(true);
  await once(writer, 'connect');
  while (reader === undefined) await yieldToLoop();
  return { server, writer, reader, received: () => received };
}

export async function writeBatchCases(timing: TimingOptions): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const size of SIZES) {
    const { parts, bytes } = replies(size);
    results.push(
      measure(GROUP, `Buffer.concat of ${size} x 17 B`, 'batch', 1, () => Buffer.concat(parts, bytes).length, timing, `${bytes} bytes, no socket`),
    );
  }

  const pair = await socketPair();
  const { writer } = pair;
  let blocked = false;
  const settle = (): Promise<void> => {
    if (blocked) {
      blocked = false;
      return once(writer, 'drain').then(() => undefined);
    }
    // One batch per event-loop turn, as slotgate's flush does; the reader gets its turn too.
    return yieldToLoop();
  };
  try {
    for (const size of SIZES) {
      const { parts, bytes } = replies(size);
      results.push(
        await measureAsync(GROUP, `${size} x 17 B: writeBatch (one concatenated write)`, 'batch', () => {
          if (!writeBatch(writer, parts, bytes)) blocked = true;
          return 1;
        }, settle, timing, 100_000, 'loopback TCP, time inside write calls'),
      );
      results.push(
        await measureAsync(GROUP, `${size} x 17 B: socket.write per reply`, 'batch', () => {
          let ok = true;
          for (let i = 0; i < parts.length; i++) ok = writer.write(parts[i]);
          if (!ok) blocked = true;
          return 1;
        }, settle, timing, 100_000, 'loopback TCP, time inside write calls'),
      );
      results.push(
        await measureAsync(GROUP, `${size} x 17 B: cork + write per reply + uncork`, 'batch', () => {
          let ok = true;
          writer.cork();
          for (let i = 0; i < parts.length; i++) ok = writer.write(parts[i]);
          writer.uncork();
          if (!ok) blocked = true;
          return 1;
        }, settle, timing, 100_000, 'loopback TCP, time inside write calls'),
      );
    }
  } finally {
    writer.destroy();
    pair.reader.destroy();
    pair.server.close();
  }
  return results;
}
