import type { Redis } from 'ioredis';
import { type ControlAccess, connectControl, openControlConnection } from './control-connection.ts';

/**
 * One ioredis connection per cluster node for control-plane questions, opened on first use and
 * kept, so a refresh that asks every node (several times a second during a failover) doesn't open
 * and close a connection to each one every time. A connection that fails is dropped and made anew
 * on the next question.
 */
export class ControlConnections {
  private readonly timeoutMs: number;
  private readonly access: ControlAccess;
  private readonly open = new Map<string, Promise<Redis>>();

  constructor(timeoutMs: number, access: ControlAccess) {
    this.timeoutMs = timeoutMs;
    this.access = access;
  }

  /** Runs `work` on the connection to `address`; a failure drops that connection. */
  async ask<T>(address: string, work: (redis: Redis) => Promise<T>): Promise<T> {
    let connecting = this.open.get(address);
    if (connecting === undefined) {
      connecting = this.connect(address);
      this.open.set(address, connecting);
    }
    try {
      return await work(await connecting);
    } catch (error) {
      this.drop(address);
      throw error;
    }
  }

  closeAll(): void {
    for (const address of [...this.open.keys()]) this.drop(address);
  }

  /** Closes the connection to a node that is no longer asked anything. */
  forget(address: string): void {
    this.drop(address);
  }

  private async connect(address: string): Promise<Redis> {
    const redis = openControlConnection(address, this.timeoutMs, this.access);
    // Errors reach the caller through the failed command (a closed connection fails the next one,
    // which drops it), or through connect() for a refused AUTH or TLS handshake.
    await connectControl(redis);
    return redis;
  }

  private drop(address: string): void {
    const connecting = this.open.get(address);
    this.open.delete(address);
    connecting?.then((redis) => redis.disconnect(), () => {});
  }
}
