import { arrayElements, readInteger, readString } from '../resp/reply-reader.ts';
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
 * messages as they come. The tunnel also tells whether the client is in plain subscribed mode: by
 * the count the node's latest confirmation gives, unless a SUBSCRIBE or PSUBSCRIBE is still on its
 * way (pipelined behind an UNSUBSCRIBE whose confirmation says 0, the client is subscribed again).
 */
export class PubSubTunnel {
  private readonly connection: BackendConnection;
  private readonly client: PubSubClient;
  /** The client's channels and patterns on the node, as its latest (un)subscribe confirmation counts them. */
  private confirmedCount = 0;
  /** SUBSCRIBE and PSUBSCRIBE commands sent whose confirmations are not all in yet. */
  private subscribesOnTheirWay = 0;
  /**
   * Commands whose confirmations are still to come, each with those come so far. The client's other
   * commands run elsewhere meanwhile, and a command may get any number of confirmations (an
   * UNSUBSCRIBE of all), so a PING sent behind each closes it: its PONG says that every
   * confirmation is in.
   */
  private readonly awaiting: { sink: ConfirmationSink; pushes: Buffer[]; subscribes: boolean }[] = [];
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

  /** True from the first SUBSCRIBE until the last subscription is gone (plain channels and patterns). */
  get subscribed(): boolean {
    return this.confirmedCount > 0 || this.subscribesOnTheirWay > 0;
  }

  /**
   * Sends a command whose confirmations complete `sink`, so they keep their place among the client's
   * replies. `subscribes`: it is a SUBSCRIBE or PSUBSCRIBE, so the client is subscribed from now on.
   */
  sendInTurn(frame: Buffer, sink: ConfirmationSink, subscribes = false): void {
    this.connection.send(frame, ignoreReply);
    this.connection.send(PING, ignoreReply);
    this.awaiting.push({ sink, pushes: [], subscribes });
    if (subscribes) this.subscribesOnTheirWay++;
  }

  /** Closes once the confirmations still owed to the client are in: at once when none are. */
  closeWhenSettled(): void {
    this.retiring = true;
    if (this.awaiting.length === 0) this.close();
  }

  close(): void {
    this.connection.close();
    this.subscribesOnTheirWay = 0;
    this.confirmedCount = 0;
    // Confirmations that will never come now: what came is the reply.
    for (const waiting of this.awaiting.splice(0)) waiting.sink.completeInPieces(waiting.pushes);
  }

  private onPush(reply: Buffer): void {
    // "*3\r\n$9\r\nsubscribe", "$10\r\npsubscribe", "$11\r\nunsubscribe", "$12\r\npunsubscribe" (">3" in
    // RESP3) carry the count; a message ("$7\r\nmessage") is not parsed.
    if (reply.length > 20 && (reply[0] === 42 || reply[0] === 62) && (reply[5] === 57 || reply[5] === 49)) {
      const elements = arrayElements(reply);
      if (elements !== null && elements.length === 3) {
        const kind = readString(elements[0]);
        if (kind === 'subscribe' || kind === 'psubscribe' || kind === 'unsubscribe' || kind === 'punsubscribe') this.confirmedCount = readInteger(elements[2]) ?? 0;
      }
    }
    const waiting = this.awaiting[0];
    if (waiting === undefined) this.client.onPush(reply);
    else if (!isMarkerPong(reply)) waiting.pushes.push(reply);
    else {
      this.awaiting.shift();
      if (waiting.subscribes) this.subscribesOnTheirWay--;
      waiting.sink.completeInPieces(waiting.pushes);
      if (this.retiring && this.awaiting.length === 0) this.close();
    }
  }
}
