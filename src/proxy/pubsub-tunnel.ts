import { arrayElements, readInteger, readString } from '../resp/reply-reader.ts';
import { BackendConnection, type NodeConnectionSettings } from '../upstream/backend-connection.ts';
import { encodeCommand } from '../resp/encode.ts';
import { ignoreReply } from '../upstream/reply-target.ts';
import type { PendingRequest } from './pending-request.ts';

const PING = encodeCommand(['PING']);

/** What the tunnel needs from the client session. */
export interface PubSubClient {
  /** A push (subscription confirmation, message, pong) to write to the client in its turn. */
  onPush(reply: Buffer): void;
  /** The connection to the node is gone: the client's subscriptions with it. */
  onTunnelLost(): void;
}

/**
 * A subscribed client's own connection to one master. Redis Cluster delivers every PUBLISH to
 * every node, so any master serves SUBSCRIBE and PSUBSCRIBE. The client's subscribe commands go
 * over it as they are, and everything that comes back (confirmations, messages, pongs) is written
 * to the client. The tunnel also tells when the client has left subscribed mode: a confirmation
 * of (p)unsubscribe whose remaining count is 0.
 */
export class PubSubTunnel {
  private readonly connection: BackendConnection;
  private readonly client: PubSubClient;
  /** True from the first SUBSCRIBE until the last subscription is gone. */
  subscribed = false;
  /**
   * RESP3: (un)subscribe commands whose confirmations are still to come, each with those come so
   * far. A PING sent behind each command closes it: its +PONG (not a push, in RESP3) says that every
   * confirmation is in.
   */
  private readonly awaiting: { request: PendingRequest; pushes: Buffer[] }[] = [];
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

  send(frame: Buffer): void {
    this.connection.send(frame, ignoreReply);
  }

  /**
   * Sends an (un)subscribe command of a RESP3 client, whose other commands run elsewhere meanwhile:
   * its confirmations complete `request`, so they keep their place among the client's replies.
   */
  sendInTurn(frame: Buffer, request: PendingRequest): void {
    this.connection.send(frame, ignoreReply);
    this.connection.send(PING, ignoreReply);
    this.awaiting.push({ request, pushes: [] });
  }

  /** Closes once the confirmations still owed to the client are in: at once when none are. */
  closeWhenSettled(): void {
    this.retiring = true;
    if (this.awaiting.length === 0) this.close();
  }

  close(): void {
    this.connection.close();
    // Confirmations that will never come now: what came is the reply.
    for (const waiting of this.awaiting.splice(0)) waiting.request.completeInPieces(waiting.pushes);
  }

  private onPush(reply: Buffer): void {
    // "*3\r\n$11\r\nunsubscribe" / "$12\r\npunsubscribe" (">3" in RESP3): only these can end subscribed mode.
    if (reply.length > 20 && (reply[0] === 42 || reply[0] === 62) && reply[5] === 49) {
      const elements = arrayElements(reply);
      if (elements !== null && elements.length === 3) {
        const kind = readString(elements[0]);
        if ((kind === 'unsubscribe' || kind === 'punsubscribe') && readInteger(elements[2]) === 0) this.subscribed = false;
      }
    }
    const waiting = this.awaiting[0];
    if (waiting === undefined) this.client.onPush(reply);
    else if (reply[0] !== 43 /* + */) waiting.pushes.push(reply);
    else {
      this.awaiting.shift();
      waiting.request.completeInPieces(waiting.pushes);
      if (this.retiring && this.awaiting.length === 0) this.close();
    }
  }
}
