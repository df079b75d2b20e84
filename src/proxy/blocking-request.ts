import { parseRedirect } from '../cluster/redirect.ts';
import type { CommandSpec } from '../commands/command-spec.ts';
import type { RequestView } from '../resp/request-view.ts';
import { splitAddress } from '../cluster/address.ts';
import { encodeCommand, encodeError } from '../resp/encode.ts';
import { BackendConnection, type NodeConnectionSettings } from '../upstream/backend-connection.ts';
import { ignoreReply, type ReplyTarget } from '../upstream/reply-target.ts';
import { inDoubt, type PendingRequest } from './pending-request.ts';

const ASKING = encodeCommand(['ASKING']);
/** Redirects one blocking command may follow. */
const MAX_REDIRECTS = 5;

/**
 * The connections a client's blocking commands (BLPOP, BZPOPMIN, XREAD BLOCK …) and its WATCH use,
 * one per node, opened on first use and closed with the client: a command that blocks on a shared
 * connection would hold up every client behind it, and a watch belongs to its connection. Closing
 * one unblocks the command on the node. `onLost` hears of a connection that dropped (its watches
 * went with it).
 */
export class DedicatedConnections {
  private readonly settings: NodeConnectionSettings;
  private readonly onLost: (address: string) => void;
  private readonly byAddress = new Map<string, BackendConnection>();

  constructor(settings: NodeConnectionSettings, onLost: (address: string) => void = () => {}) {
    this.settings = settings;
    this.onLost = onLost;
  }

  get(address: string): BackendConnection {
    let connection = this.byAddress.get(address);
    if (connection === undefined) {
      connection = new BackendConnection(address, { ...this.settings, onConnectionLost: this.onLost });
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
 * One blocking command (or WATCH) on its way, over the client's dedicated connection to its slot's
 * master. The session reads no further request from the client until it completes, as Redis itself
 * runs nothing else for a blocked client. MOVED and ASK are followed on dedicated connections too; a
 * connection lost while blocked can't be retried (the command may have popped a value). `onDone`
 * gets the reply and the node that gave it (null when the connection failed).
 */
export class BlockingRequest implements ReplyTarget {
  private readonly target: PendingRequest;
  private readonly frame: Buffer;
  private readonly connections: DedicatedConnections;
  private readonly onDone: (reply: Buffer, from: string | null) => void;
  private redirects = 0;

  constructor(target: PendingRequest, frame: Buffer, connections: DedicatedConnections, onDone: (reply: Buffer, from: string | null) => void) {
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
    this.finish(reply, from);
  }

  onFailure(message: string, written: boolean): void {
    this.finish(written ? inDoubt(this.target, message) : encodeError(message), null);
  }

  private finish(reply: Buffer, from: string | null): void {
    this.onDone(reply, from);
    this.target.complete(reply);
  }
}

/** BLPOP and the like always may; XREAD and XREADGROUP only when asked to (BLOCK). */
export function mayBlock(spec: CommandSpec, view: RequestView): boolean {
  if (spec.name !== 'xread' && spec.name !== 'xreadgroup') return true;
  for (let i = 1; i < view.argc; i++) {
    if (view.argEquals(i, 'STREAMS')) return false;
    if (view.argEquals(i, 'BLOCK')) return true;
  }
  return false;
}
