import { BackendConnection, type BackendConnectionOptions } from './backend-connection.ts';

/**
 * The few shared connections slotgate keeps to one node. A client always gets the same connection
 * (chosen by its id), so two of its commands to the same node can never overtake each other.
 * RESP3 clients get a second set, in RESP3 (HELLO 3 first), opened the first time one asks.
 */
export class NodePool {
  readonly address: string;
  private readonly connections: BackendConnection[];
  private connections3: BackendConnection[] | null = null;
  private readonly options: BackendConnectionOptions;

  constructor(address: string, size: number, options: BackendConnectionOptions) {
    this.address = address;
    this.options = options;
    this.connections = [];
    for (let i = 0; i < size; i++) this.connections.push(new BackendConnection(address, options));
  }

  /** Until when this node answered LOADING (a replica still syncing): no reads before then. */
  loadingUntil = 0;

  /** The client's connection, in the client's protocol. */
  connectionFor(affinity: number, resp3: boolean): BackendConnection {
    const connections = resp3 ? (this.connections3 ??= this.open3()) : this.connections;
    return connections[affinity % connections.length];
  }

  private open3(): BackendConnection[] {
    const options = { ...this.options, resp3: true };
    return this.connections.map(() => new BackendConnection(this.address, options));
  }

  /** Both sets of connections (control plane only: it allocates). */
  private all(): BackendConnection[] {
    return this.connections3 === null ? this.connections : [...this.connections, ...this.connections3];
  }

  /** Requests in flight over all connections. */
  get inFlight(): number {
    let total = 0;
    for (const connection of this.all()) total += connection.inFlight;
    return total;
  }

  /**
   * What its connections say: one working connection means up; otherwise one whose outcome is
   * unknown means suspect; all refused means down. A pool none of whose connections was needed yet
   * is presumed up.
   */
  health(): 'up' | 'suspect' | 'down' {
    // Asked for every read routed to a replica: both sets walked in place, nothing allocated.
    let suspect = false;
    let down = false;
    for (let set = 0; set < 2; set++) {
      const connections = set === 0 ? this.connections : this.connections3;
      if (connections === null) continue;
      for (const connection of connections) {
        const health = connection.health;
        if (health === 'up') return 'up';
        if (health === 'suspect') suspect = true;
        else if (health === 'down') down = true;
      }
    }
    if (suspect) return 'suspect';
    return down ? 'down' : 'up';
  }

  /** Adds one to `counts[health]` for each connection (metrics, at scrape time). */
  countHealth(counts: Record<'up' | 'idle' | 'suspect' | 'down', number>): void {
    for (const connection of this.all()) counts[connection.health]++;
  }

  /** See BackendConnection.checkReplies: every connection, both sets, nothing allocated. */
  checkReplies(now: number, timeoutMs: number): void {
    for (const connection of this.connections) connection.checkReplies(now, timeoutMs);
    if (this.connections3 !== null) for (const connection of this.connections3) connection.checkReplies(now, timeoutMs);
  }

  close(): void {
    for (const connection of this.all()) connection.close();
  }
}
