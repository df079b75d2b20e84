import { BackendConnection, type BackendConnectionOptions } from './backend-connection.ts';

/**
 * The few shared connections slotgate keeps to one node. A client always gets the same connection
 * (chosen by its id), so two of its commands to the same node can never overtake each other.
 */
export class NodePool {
  readonly address: string;
  private readonly connections: BackendConnection[];

  constructor(address: string, size: number, options: BackendConnectionOptions) {
    this.address = address;
    this.connections = [];
    for (let i = 0; i < size; i++) this.connections.push(new BackendConnection(address, options));
  }

  /** Until when this node answered LOADING (a replica still syncing): no reads before then. */
  loadingUntil = 0;

  connectionFor(affinity: number): BackendConnection {
    return this.connections[affinity % this.connections.length];
  }

  /** Requests in flight over all connections. */
  get inFlight(): number {
    let total = 0;
    for (const connection of this.connections) total += connection.inFlight;
    return total;
  }

  /**
   * What its connections say: one working connection means up; otherwise one whose outcome is
   * unknown means suspect; all refused means down. A pool none of whose connections was needed yet
   * is presumed up.
   */
  health(): 'up' | 'suspect' | 'down' {
    let suspect = false;
    let down = false;
    for (const connection of this.connections) {
      const health = connection.health;
      if (health === 'up') return 'up';
      if (health === 'suspect') suspect = true;
      else if (health === 'down') down = true;
    }
    if (suspect) return 'suspect';
    return down ? 'down' : 'up';
  }

  /** Adds one to `counts[health]` for each connection (metrics, at scrape time). */
  countHealth(counts: Record<'up' | 'idle' | 'suspect' | 'down', number>): void {
    for (const connection of this.connections) counts[connection.health]++;
  }

  close(): void {
    for (const connection of this.connections) connection.close();
  }
}
