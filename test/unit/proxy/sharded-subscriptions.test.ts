import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { keySlot } from '../../../src/cluster/key-slot.ts';
import { CommandTable } from '../../../src/commands/command-table.ts';
import { parseCommandReply } from '../../../src/commands/parse-command-reply.ts';
import type { PendingRequest } from '../../../src/proxy/pending-request.ts';
import type { ConfirmationSink, PubSubClient } from '../../../src/proxy/pubsub-tunnel.ts';
import { ShardedSubscriptions, type ShardedHost, type Tunnel } from '../../../src/proxy/sharded-subscriptions.ts';
import { RequestParser } from '../../../src/resp/request-parser.ts';

const fixture = new URL('../../fixtures/command-reply-redis-7.0.json', import.meta.url);
const table = CommandTable.fromSpecs(parseCommandReply(JSON.parse(readFileSync(fixture, 'utf8'))));

// Two masters: A serves the low half of the slots, B the high one. Channel a is B's, b and c are A's, d is B's.
const ownerOf = (slot: number): string => (slot < 8192 ? 'A:1' : 'B:2');

const text = (reply: Buffer): string => reply.toString('latin1').replace(/\r\n/g, '|');
const confirmation = (kind: string, channel: string | null, count: number): string =>
  `*3\r\n$${kind.length}\r\n${kind}\r\n${channel === null ? '$-1' : `$${channel.length}\r\n${channel}`}\r\n:${count}\r\n`;
const shown = (kind: string, channel: string | null, count: number): string => text(Buffer.from(confirmation(kind, channel, count)));

/** A tunnel the test answers by hand. */
class FakeTunnel implements Tunnel {
  readonly address: string;
  readonly client: PubSubClient;
  readonly sent: string[] = [];
  readonly awaiting: ConfirmationSink[] = [];
  closed = false;

  constructor(address: string, client: PubSubClient) {
    this.address = address;
    this.client = client;
  }

  sendInTurn(frame: Buffer, sink: ConfirmationSink): void {
    this.sent.push(text(frame));
    this.awaiting.push(sink);
  }

  /** The node's replies to the oldest command still waiting, PONG included. */
  answer(...replies: string[]): void {
    (this.awaiting.shift() as ConfirmationSink).completeInPieces(replies.map((reply) => Buffer.from(reply)));
  }

  closeWhenSettled(): void {
    this.closed = true;
  }

  close(): void {
    this.closed = true;
  }
}

/** A client's replies in line, written from the front once complete, as ClientSession does. */
class FakeHost implements ShardedHost {
  resp3 = false;
  readonly tunnels: FakeTunnel[] = [];
  readonly moved: string[] = [];
  lost = 0;
  refreshes = 0;
  redirectLimit = 3;
  private readonly line: { pieces: Buffer[] | null; silent: boolean }[] = [];
  readonly written: string[] = [];

  readonly context: ShardedHost['context'];

  constructor() {
    const self = this;
    const patched = new Map<number, string>();
    const router = {
      ownerOf: (slot: number) => patched.get(slot) ?? ownerOf(slot),
      requestRefresh: () => self.refreshes++,
      noteMoved(slot: number, address: string) {
        patched.set(slot, address);
        self.moved.push(`${slot} ${address}`);
      },
      get redirectLimit() {
        return self.redirectLimit;
      },
    };
    this.context = { router } as unknown as ShardedHost['context'];
  }

  openTunnel(address: string, client: PubSubClient): Tunnel {
    const tunnel = new FakeTunnel(address, client);
    this.tunnels.push(tunnel);
    return tunnel;
  }

  tunnel(address: string): FakeTunnel {
    return this.tunnels.filter((tunnel) => tunnel.address === address && !tunnel.closed).at(-1) as FakeTunnel;
  }

  enqueue(): PendingRequest {
    const entry = {
      pieces: null as Buffer[] | null,
      silent: true,
      completeInPieces: (pieces: Buffer[]) => {
        entry.pieces = pieces;
        this.flush();
      },
    };
    this.line.push(entry);
    return entry as unknown as PendingRequest;
  }

  replyLocal(reply: Buffer): void {
    this.line.push({ pieces: [reply], silent: false });
    this.flush();
  }

  onPush(reply: Buffer): void {
    this.replyLocal(reply);
  }

  onTunnelLost(): void {
    this.lost++;
  }

  /** What the client has been sent since the last call. */
  take(): string[] {
    return this.written.splice(0);
  }

  private flush(): void {
    while (this.line.length > 0 && this.line[0].pieces !== null) {
      const entry = this.line.shift()!;
      if (entry.silent) throw new Error('a confirmation was silenced');
      for (const piece of entry.pieces as Buffer[]) this.written.push(text(piece));
    }
  }
}

let host: FakeHost;
let sharded: ShardedSubscriptions;

beforeEach(() => {
  host = new FakeHost();
  sharded = new ShardedSubscriptions(host);
});

/** Sends one command of the client's, as the session would hand it over. */
function send(...args: string[]): void {
  const parser = new RequestParser(
    {
      onRequest: (view) => sharded.command(table.lookup(view)!, view),
      onProtocolError: (message) => {
        throw new Error(message);
      },
    },
    { protoMaxBulkLen: 1 << 20, maxMultibulkLength: 1024 },
  );
  parser.feed(Buffer.from(`*${args.length}\r\n${args.map((arg) => `$${arg.length}\r\n${arg}\r\n`).join('')}`));
}

describe('ShardedSubscriptions', () => {
  it('is tested with channels where this file says they are', () => {
    expect(['a', 'b', 'c', 'd'].map((channel) => ownerOf(keySlot(Buffer.from(channel), 0, 1)))).toEqual(['B:2', 'A:1', 'A:1', 'B:2']);
  });

  it('opens one tunnel per master and counts channels over all of them, in the order of the commands', () => {
    send('SSUBSCRIBE', 'a');
    send('SSUBSCRIBE', 'b');
    send('SSUBSCRIBE', 'c');
    expect(host.tunnels.map((tunnel) => tunnel.address)).toEqual(['B:2', 'A:1']);
    expect(sharded.subscribed).toBe(true);
    // A answers both of its commands before B answers the first: nothing overtakes it.
    host.tunnel('A:1').answer(confirmation('ssubscribe', 'b', 1));
    host.tunnel('A:1').answer(confirmation('ssubscribe', 'c', 2));
    expect(host.take()).toEqual([]);
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'a', 1));
    expect(host.take()).toEqual([shown('ssubscribe', 'a', 1), shown('ssubscribe', 'b', 2), shown('ssubscribe', 'c', 3)]);
  });

  it('refuses channels of different slots, and answers SUNSUBSCRIBE itself where it has no tunnel', () => {
    send('SSUBSCRIBE', 'a', 'b');
    expect(host.take()).toEqual(["-CROSSSLOT Keys in request don't hash to the same slot|"]);
    expect(host.tunnels).toEqual([]);
    expect(sharded.subscribed).toBe(false);
    send('SUNSUBSCRIBE', '{x}1', '{x}2');
    send('SUNSUBSCRIBE');
    expect(host.take()).toEqual([shown('sunsubscribe', '{x}1', 0), shown('sunsubscribe', '{x}2', 0), shown('sunsubscribe', null, 0)]);
  });

  it('sends SUNSUBSCRIBE of all to every tunnel, counts down over them, and closes the tunnels left empty', () => {
    send('SSUBSCRIBE', 'a');
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'a', 1));
    send('SSUBSCRIBE', 'b');
    host.tunnel('A:1').answer(confirmation('ssubscribe', 'b', 1));
    host.take();
    send('SUNSUBSCRIBE', 'd');
    host.tunnel('B:2').answer(confirmation('sunsubscribe', 'd', 1));
    host.tunnel('A:1').answer('-MOVED 11298 B:2\r\n');
    expect(host.take()).toEqual([shown('sunsubscribe', 'd', 2)]);
    send('SUNSUBSCRIBE');
    const [b, a] = [host.tunnel('B:2'), host.tunnel('A:1')];
    a.answer(confirmation('sunsubscribe', 'b', 0));
    b.answer(confirmation('sunsubscribe', 'a', 0));
    expect(host.take()).toEqual([shown('sunsubscribe', 'a', 1), shown('sunsubscribe', 'b', 0)]);
    expect([a.closed, b.closed]).toEqual([true, true]);
    expect(sharded.subscribed).toBe(false);
  });

  it('gives "none" once for a SUNSUBSCRIBE of all, and only when no tunnel had a channel', () => {
    send('SSUBSCRIBE', 'a');
    send('SSUBSCRIBE', 'b');
    send('SUNSUBSCRIBE');
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'a', 1));
    host.tunnel('B:2').answer(confirmation('sunsubscribe', 'a', 0));
    host.tunnel('A:1').answer('-CLUSTERDOWN The cluster is down\r\n');
    host.tunnel('A:1').answer(confirmation('sunsubscribe', null, 0));
    expect(host.take()).toEqual([shown('ssubscribe', 'a', 1), '-CLUSTERDOWN The cluster is down|', shown('sunsubscribe', 'a', 0)]);
    send('SSUBSCRIBE', 'a');
    send('SSUBSCRIBE', 'b');
    send('SUNSUBSCRIBE');
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'a', 1));
    host.tunnel('A:1').answer(confirmation('ssubscribe', 'b', 1));
    host.tunnel('A:1').answer(confirmation('sunsubscribe', 'b', 0));
    host.tunnel('B:2').answer(confirmation('sunsubscribe', 'a', 0), confirmation('sunsubscribe', null, 0));
    expect(host.take()).toEqual([shown('ssubscribe', 'a', 1), shown('ssubscribe', 'b', 2), shown('sunsubscribe', 'a', 1), shown('sunsubscribe', 'b', 0)]);
  });

  it('passes messages on as they come, and gives a forced sunsubscribe its turn and the total count', () => {
    send('SSUBSCRIBE', 'a');
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'a', 1));
    send('SSUBSCRIBE', 'b');
    host.tunnel('A:1').answer(confirmation('ssubscribe', 'b', 1));
    host.take();
    host.tunnel('B:2').client.onPush(Buffer.from('*3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$2\r\nhi\r\n'));
    expect(host.take()).toEqual(['*3|$8|smessage|$1|a|$2|hi|']);
    // The slot of b moves away while an SSUBSCRIBE to B is on its way: the push waits behind it.
    send('SSUBSCRIBE', 'd');
    host.tunnel('A:1').client.onPush(Buffer.from(confirmation('sunsubscribe', 'b', 0)));
    expect(host.take()).toEqual([]);
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'd', 2));
    expect(host.take()).toEqual([shown('ssubscribe', 'd', 3), shown('sunsubscribe', 'b', 2)]);
    expect(host.refreshes).toBe(1);
    // A holds nothing more of the client's: its tunnel is closed.
    expect(host.tunnels.filter((tunnel) => tunnel.address === 'A:1').map((tunnel) => tunnel.closed)).toEqual([true]);
    expect(sharded.subscribed).toBe(true);
  });

  it('follows a MOVED to the new owner, and closes the tunnel opened for nothing', () => {
    send('SSUBSCRIBE', 'b');
    const stale = host.tunnel('A:1');
    stale.answer('-MOVED 3300 :7002\r\n');
    expect(host.moved).toEqual(['3300 A:7002']);
    const owner = host.tunnel('A:7002');
    expect(owner.sent).toEqual(['*2|$10|SSUBSCRIBE|$1|b|']);
    owner.answer(confirmation('ssubscribe', 'b', 1));
    expect(host.take()).toEqual([shown('ssubscribe', 'b', 1)]);
    expect(stale.closed).toBe(true);
    // An SUNSUBSCRIBE no tunnel serves the slot of is answered here: no MOVED is followed for it.
    send('SUNSUBSCRIBE', '{b}x');
    host.tunnel('A:7002').answer('-MOVED 3300 127.0.0.1:7003\r\n');
    expect(host.take()).toEqual([shown('sunsubscribe', '{b}x', 1)]);
    expect(host.tunnel('127.0.0.1:7003')).toBe(undefined);
  });

  it('asks every tunnel to SUNSUBSCRIBE channels, since a replica may hold them after a failover', () => {
    // Subscribed at R (a master demoted by a failover, serving its new master's channels) before the map caught up.
    send('SSUBSCRIBE', 'a');
    host.tunnel('B:2').answer('-MOVED 15495 R:9\r\n');
    host.tunnel('R:9').answer(confirmation('ssubscribe', 'a', 1));
    send('SSUBSCRIBE', 'b');
    host.tunnel('A:1').answer(confirmation('ssubscribe', 'b', 1));
    expect(host.take()).toEqual([shown('ssubscribe', 'a', 1), shown('ssubscribe', 'b', 2)]);
    send('SUNSUBSCRIBE', 'a', '{a}2');
    expect([host.tunnel('R:9').sent.length, host.tunnel('A:1').sent.length]).toEqual([2, 2]);
    host.tunnel('A:1').answer('-MOVED 15495 A:7\r\n');
    host.tunnel('R:9').answer(confirmation('sunsubscribe', 'a', 0), confirmation('sunsubscribe', '{a}2', 0));
    expect(host.take()).toEqual([shown('sunsubscribe', 'a', 1), shown('sunsubscribe', '{a}2', 1)]);
    expect(host.tunnels.filter((tunnel) => tunnel.address === 'R:9').map((tunnel) => tunnel.closed)).toEqual([true]);
    // Held on two tunnels at once: one confirmation per channel still, counting both.
    send('SSUBSCRIBE', 'c');
    host.tunnel('A:1').answer(confirmation('ssubscribe', 'c', 2));
    send('SSUBSCRIBE', 'd');
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'd', 1));
    host.take();
    send('SUNSUBSCRIBE', 'b', '{b}1');
    host.tunnel('B:2').answer(confirmation('sunsubscribe', 'b', 1), confirmation('sunsubscribe', '{b}1', 1));
    host.tunnel('A:1').answer(confirmation('sunsubscribe', 'b', 1), '*3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n', confirmation('sunsubscribe', '{b}1', 1));
    expect(host.take()).toEqual(['*3|$8|smessage|$1|c|$2|hi|', shown('sunsubscribe', 'b', 2), shown('sunsubscribe', '{b}1', 2)]);
  });

  it('passes on an error no tunnel got past, and none of the MOVEDs', () => {
    send('SSUBSCRIBE', 'a');
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'a', 1));
    send('SSUBSCRIBE', 'b');
    host.tunnel('A:1').answer(confirmation('ssubscribe', 'b', 1));
    host.take();
    send('SUNSUBSCRIBE', 'b');
    host.tunnel('B:2').answer('-MOVED 3300 A:1\r\n');
    host.tunnel('A:1').answer('-CLUSTERDOWN The cluster is down\r\n');
    expect(host.take()).toEqual(['-CLUSTERDOWN The cluster is down|']);
    send('SUNSUBSCRIBE', 'd');
    host.tunnel('B:2').answer(confirmation('sunsubscribe', 'd', 1));
    host.tunnel('A:1').answer('-CLUSTERDOWN The cluster is down\r\n');
    expect(host.take()).toEqual([shown('sunsubscribe', 'd', 2)]);
  });

  it('passes a MOVED on once the redirect limit is reached', () => {
    host.redirectLimit = 1;
    send('SSUBSCRIBE', 'b');
    host.tunnel('A:1').answer('-MOVED 3300 127.0.0.1:7002\r\n');
    host.tunnel('127.0.0.1:7002').answer('-MOVED 3300 127.0.0.1:7003\r\n');
    expect(host.take()).toEqual(['-MOVED 3300 127.0.0.1:7003|']);
    expect(sharded.subscribed).toBe(false);
    expect(host.tunnels.every((tunnel) => tunnel.closed)).toBe(true);
  });

  it('reports a lost tunnel that holds channels, and nothing once closed', () => {
    send('SSUBSCRIBE', 'a');
    host.tunnel('B:2').answer(confirmation('ssubscribe', 'a', 1));
    const tunnel = host.tunnel('B:2');
    tunnel.client.onTunnelLost();
    expect(host.lost).toBe(1);
    sharded.close();
    expect(tunnel.closed).toBe(true);
    tunnel.client.onTunnelLost();
    tunnel.client.onPush(Buffer.from('*3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$2\r\nhi\r\n'));
    expect([host.lost, host.take()]).toEqual([1, [shown('ssubscribe', 'a', 1)]]);
  });

  it('speaks RESP3 in what it makes itself', () => {
    host.resp3 = true;
    send('SUNSUBSCRIBE');
    send('SUNSUBSCRIBE', 'x');
    expect(host.take()).toEqual(['>3|$12|sunsubscribe|_|:0|', '>3|$12|sunsubscribe|$1|x|:0|']);
  });
});
