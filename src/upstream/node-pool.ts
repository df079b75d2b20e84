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

  connectionFor(clientId: number): BackendConnection {
    return this.connections[clientId % this.connections.length];
  }

  /** Requests in flight over all connections. */
  get inFlight(): number {
    let total = 0;
    for (const connection of this.connections) total += connection.inFlight;
    return total;
  }

  /** The best of its connections' health: one working connection means the node is up. */
  health(): 'up' | 'suspect' | 'down' {
    let best: 'up' | 'suspect' | 'down' = 'down';
    for (const connection of this.connections) {
      const health = connection.health;
      if (health === 'up') return 'up';
      if (health === 'suspect') best = 'suspect';
    }
    return best;
  }

  close(): void {
    for (const connection of this.connections) connection.close();
  }
}
