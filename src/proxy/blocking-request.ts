import type { ConnectionOptions } from 'node:tls';
import { parseRedirect } from '../cluster/redirect.ts';
import { splitAddress } from '../cluster/address.ts';
import { encodeCommand, encodeError } from '../resp/encode.ts';
import { BackendConnection } from '../upstream/backend-connection.ts';
import { ignoreReply, type ReplyTarget } from '../upstream/reply-target.ts';
import { inDoubt, type PendingRequest } from './pending-request.ts';

const ASKING = encodeCommand(['ASKING']);
/** Redirects one blocking command may follow. */
const MAX_REDIRECTS = 5;

/**
 * The connections a client's blocking commands (BLPOP, BZPOPMIN, XREAD BLOCK …) use, one per node,
 * opened on first use and closed with the client: a command that blocks on a shared connection
 * would hold up every client behind it. Closing one unblocks the command on the node.
 */
export class DedicatedConnections {
  private readonly connectTimeoutMs: number;
  private readonly tls: ConnectionOptions | undefined;
  private readonly byAddress = new Map<string, BackendConnection>();

  constructor(connectTimeoutMs: number, tls?: ConnectionOptions) {
    this.connectTimeoutMs = connectTimeoutMs;
    this.tls = tls;
  }

  get(address: string): BackendConnection {
    let connection = this.byAddress.get(address);
    if (connection === undefined) {
      connection = new BackendConnection(address, { connectTimeoutMs: this.connectTimeoutMs, tls: this.tls, onConnectionLost: () => {} });
      this.byAddress.set(address, connection);
    }
    return connection;
  }

  closeAll(): void {
    for (const connection of this.byAddress.values()) connection.close();
    this.byAddress.clear();
  }
}

/**
 * One blocking command on its way, over the client's dedicated connection to its slot's master.
 * The session reads no further request from the client until it completes, as Redis itself runs
 * nothing else for a blocked client. MOVED and ASK are followed on dedicated connections too; a
 * connection lost while blocked can't be retried (the command may have popped a value).
 */
export class BlockingRequest implements ReplyTarget {
  private readonly target: PendingRequest;
  private readonly frame: Buffer;
  private readonly connections: DedicatedConnections;
  private readonly onDone: () => void;
  private redirects = 0;

  constructor(target: PendingRequest, frame: Buffer, connections: DedicatedConnections, onDone: () => void) {
    this.target = target;
    this.frame = frame;
    this.connections = connections;
    this.onDone = onDone;
  }

  send(address: string): void {
    this.connections.get(address).send(this.frame, this);
  }

  onReply(reply: Buffer, from: string): void {
    if (reply[0] === 45 /* - */ && this.redirects < MAX_REDIRECTS) {
      const redirect = parseRedirect(reply, splitAddress(from).host);
      if (redirect !== null) {
        this.redirects++;
        if (redirect.ask) this.connections.get(redirect.address).send(ASKING, ignoreReply);
        this.send(redirect.address);
        return;
      }
    }
    this.finish(reply);
  }

  onFailure(message: string, written: boolean): void {
    this.finish(written ? inDoubt(this.target, message) : encodeError(message));
  }

  private finish(reply: Buffer): void {
    this.onDone();
    this.target.complete(reply);
  }
}
