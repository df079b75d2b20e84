import { BackendConnection, type NodeConnectionSettings } from '../upstream/backend-connection.ts';
import { encodeCommand } from '../resp/encode.ts';
import { ignoreReply } from '../upstream/reply-target.ts';
import { isMarkerPong } from './pubsub-replies.ts';

const PING = encodeCommand(['PING']);

/** What the tunnel needs from the client session. */
export interface PubSubClient {
  /** A push that belongs to no command of the client's (a message, a forced unsubscribe), to write to it in its turn. */
  onPush(reply: Buffer): void;
  /** The connection to the node is gone: the client's subscriptions with it. */
  onTunnelLost(): void;
}

/** Where the replies to one command sent over a tunnel go: a PendingRequest, or a part of a sharded command. */
export interface ConfirmationSink {
  completeInPieces(pieces: Buffer[]): void;
}

/**
 * A subscribed client's own connection to one master, for SUBSCRIBE and PSUBSCRIBE (Redis Cluster
 * delivers every PUBLISH to every node, so any master serves them) or for the sharded channels of
 * the slots that master owns. The client's (un)subscribe commands go over it as they are, and what
 * comes back is written to the client: confirmations in the place of the command they answer,
 * messages as they come.
 */
export class PubSubTunnel {
  private readonly connection: BackendConnection;
  private readonly client: PubSubClient;
  /**
   * Commands whose confirmations are still to come, each with those come so far. The client's other
   * commands run elsewhere meanwhile, and a command may get any number of confirmations (an
   * UNSUBSCRIBE of all), so a PING sent behind each closes it: its PONG says that every
   * confirmation is in.
   */
  private readonly awaiting: { sink: ConfirmationSink; pushes: Buffer[] }[] = [];
  /** Given up by the client (HELLO switched its protocol): closes once those confirmations are in. */
  private retiring = false;

  constructor(address: string, settings: NodeConnectionSettings, client: PubSubClient) {
    this.client = client;
    this.connection = new BackendConnection(address, {
      ...settings,
      onPush: (reply) => this.onPush(reply),
      onConnectionLost: () => (this.retiring ? this.close() : this.client.onTunnelLost()),
    });
  }

  get address(): string {
    return this.connection.address;
  }

  /** No command of the client's is waiting for its confirmations. */
  get settled(): boolean {
    return this.awaiting.length === 0;
  }

  /** Sends a command whose confirmations complete `sink`, so they keep their place among the client's replies. */
  sendInTurn(frame: Buffer, sink: ConfirmationSink): void {
    this.connection.send(frame, ignoreReply);
    this.connection.send(PING, ignoreReply);
    this.awaiting.push({ sink, pushes: [] });
  }

  /** Closes once the confirmations still owed to the client are in: at once when none are. */
  closeWhenSettled(): void {
    this.retiring = true;
    if (this.awaiting.length === 0) this.close();
  }

  close(): void {
    this.connection.close();
    // Confirmations that will never come now: what came is the reply.
    for (const waiting of this.awaiting.splice(0)) waiting.sink.completeInPieces(waiting.pushes);
  }

  private onPush(reply: Buffer): void {
    const waiting = this.awaiting[0];
    if (waiting === undefined) this.client.onPush(reply);
    else if (!isMarkerPong(reply)) waiting.pushes.push(reply);
    else {
      this.awaiting.shift();
      waiting.sink.completeInPieces(waiting.pushes);
      if (this.retiring && this.awaiting.length === 0) this.close();
    }
  }
}
