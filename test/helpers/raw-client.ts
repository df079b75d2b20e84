import { connect, type Socket } from 'node:net';
import Parser from 'redis-parser';
import { Resp3Decoder } from './resp3-decoder.ts';

/** A reply as redis-parser decodes it; errors come back as Error objects, in line with the others. */
export type Reply = unknown;

/**
 * A bare-bones RESP client for tests that need to see exactly what slotgate sends: raw bytes in,
 * decoded replies out (redis-parser; for `resp3`, Resp3Decoder, which reads RESP2 too), nothing
 * hidden by a client library.
 */
export class RawClient {
  readonly socket: Socket;
  private readonly replies: Reply[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;
  readonly received: Buffer[] = [];

  private constructor(socket: Socket, resp3: boolean) {
    this.socket = socket;
    const parser = resp3
      ? new Resp3Decoder((reply) => this.push(reply))
      : new Parser({
          returnReply: (reply) => this.push(reply),
          returnError: (error) => this.push(error),
        });
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      parser.execute(chunk);
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  /**
   * Connects to 127.0.0.1:`to`, or to the Unix socket at path `to`. `resp3`: decode replies as RESP3
   * (the client still has to send HELLO 3 itself).
   */
  static open(to: number | string, options: { resp3?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const address = typeof to === 'string' ? { path: to } : { host: '127.0.0.1', port: to };
      const socket = connect(address, () => resolve(new RawClient(socket, options.resp3 === true)));
      socket.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends one command as a RESP array. */
  send(...args: (string | Buffer)[]): void {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const arg of args) {
      const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(arg);
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
    }
    this.socket.write(Buffer.concat(parts));
  }

  /** Waits for `count` more replies (up to `timeoutMs`) and returns them. */
  async read(count: number, timeoutMs = 5000): Promise<Reply[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < count) {
      if (this.ended) throw new Error(`connection closed after ${this.replies.length} of ${count} replies`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.replies.length} of ${count} replies`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.replies.splice(0, count);
  }

  async command(...args: (string | Buffer)[]): Promise<Reply> {
    this.send(...args);
    return (await this.read(1))[0];
  }

  /** Sends one command and returns the raw bytes of its one reply (call with no other reply pending). */
  async rawCommand(...args: (string | Buffer)[]): Promise<Buffer> {
    const before = Buffer.concat(this.received).length;
    await this.command(...args);
    return Buffer.concat(this.received).subarray(before);
  }

  /** Resolves once the server has closed the connection. */
  async closed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    if (!this.ended) throw new Error('connection still open');
  }

  close(): void {
    this.socket.destroy();
  }

  private push(reply: Reply): void {
    this.replies.push(reply);
    this.waiter?.();
  }
}
