/**
 * A scripted stand-in for a Redis Cluster node: a TCP server on 127.0.0.1 that speaks just enough
 * RESP2 for slotgate's control plane (CLUSTER SLOTS with whatever map the test gives it, PING,
 * COMMAND, INFO, CLUSTER INFO/MYID) and records every request it gets, so a test can make one node
 * lie (a stale map, a split view) and then check what slotgate asked it and sent it.
 *
 *   const fake = await startFakeClusterNode({ slots: (self) => [{ start: 0, end: 16383, master: self }] });
 *   try { ... expect(fake.countOf('GET')).toBe(0) } finally { await fake.close(); }
 *
 * Requests must be RESP arrays (every client library sends those); inline commands get an error.
 * Commands it has no answer for get `-ERR fake node: ...`, or whatever `respond` returns.
 */
import { createServer, type Server, type Socket } from 'node:net';
import Parser from 'redis-parser';

/** A slot range to report; addresses are "host:port". */
export interface FakeSlotRange {
  start: number;
  end: number;
  master: string;
  replicas?: string[];
}

/** A reply to send: strings go out as bulk strings, numbers as integers, null as a null bulk. */
export type FakeReply = string | number | null | FakeReply[] | { simple: string } | { error: string };

export interface FakeClusterNodeOptions {
  /** The map CLUSTER SLOTS reports, or a function of the node's own "host:port" giving it. */
  slots: FakeSlotRange[] | ((self: string) => FakeSlotRange[]);
  /** Answers a request first; return undefined to fall back on the built-in answers. */
  respond?(args: string[]): FakeReply | undefined;
  /** What INFO reports as redis_version. Default 7.0.15. */
  version?: string;
}

/** One request the fake received. */
export interface FakeRequest {
  /** The arguments, the command name upper-cased. */
  args: string[];
  /** Date.now() when it arrived. */
  at: number;
}

export interface FakeClusterNode {
  port: number;
  /** "127.0.0.1:port" */
  address: string;
  /** A made-up 40-character node id. */
  id: string;
  /** Every request received, in order, over all connections. */
  readonly requests: FakeRequest[];
  /** How many requests named `command` (e.g. 'GET', or 'CLUSTER SLOTS' for a subcommand) it received. */
  countOf(command: string): number;
  /** Requests other than the control-plane ones it answers itself (PING, CLUSTER, COMMAND, INFO...). */
  dataRequests(): FakeRequest[];
  /** Changes the map CLUSTER SLOTS reports from now on. */
  setSlots(slots: FakeSlotRange[]): void;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const CONTROL_COMMANDS = new Set(['PING', 'CLUSTER', 'COMMAND', 'INFO', 'HELLO', 'CLIENT', 'SELECT', 'READONLY', 'READWRITE', 'ECHO', 'QUIT']);

export async function startFakeClusterNode(options: FakeClusterNodeOptions): Promise<FakeClusterNode> {
  const server = createServer({ noDelay: true });
  const sockets = new Set<Socket>();
  let accepted = 0;
  const port = await listen(server);
  const address = `127.0.0.1:${port}`;
  const id = fakeId(port);
  let slots = typeof options.slots === 'function' ? options.slots(address) : options.slots;
  const requests: FakeRequest[] = [];
  const version = options.version ?? '7.0.15';

  const answer = (args: string[]): FakeReply => {
    const scripted = options.respond?.(args);
    if (scripted !== undefined) return scripted;
    const name = args[0];
    const sub = (args[1] ?? '').toUpperCase();
    switch (name) {
      case 'PING':
        return args.length > 1 ? args[1] : { simple: 'PONG' };
      case 'ECHO':
        return args[1] ?? null;
      case 'SELECT':
      case 'READONLY':
      case 'READWRITE':
      case 'QUIT':
        return { simple: 'OK' };
      case 'CLIENT':
        return sub === 'ID' ? 1 : { simple: 'OK' };
      case 'COMMAND':
        // No command specs: a proxy that asks for them here gets nothing to go on.
        return sub === 'COUNT' ? 0 : [];
      case 'INFO':
        return `# Server\r\nredis_version:${version}\r\nredis_mode:cluster\r\ntcp_port:${port}\r\n\r\n# Cluster\r\ncluster_enabled:1\r\n`;
      case 'CLUSTER':
        if (sub === 'SLOTS') return slotsReply(slots, (node) => (node === address ? id : fakeId(portOf(node))));
        if (sub === 'MYID') return id;
        if (sub === 'INFO') {
          return `cluster_state:ok\r\ncluster_slots_assigned:${slots.reduce((n, r) => n + r.end - r.start + 1, 0)}\r\ncluster_known_nodes:1\r\ncluster_size:1\r\n`;
        }
        return { error: `ERR fake node: no answer for CLUSTER ${sub}` };
      case 'HELLO':
        return { error: "ERR unknown command 'HELLO'" };
      default:
        return { error: `ERR fake node ${address}: unexpected command '${args[0]}'` };
    }
  };

  server.on('connection', (socket) => {
    accepted++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const parser = new Parser({
      returnReply: (request: unknown) => {
        if (!Array.isArray(request) || request.length === 0) {
          socket.write(encodeReply({ error: 'ERR fake node: requests must be RESP arrays' }));
          return;
        }
        const args = request.map(String);
        args[0] = args[0].toUpperCase();
        requests.push({ args, at: Date.now() });
        socket.write(encodeReply(answer(args)));
      },
      returnError: () => {
        socket.write(encodeReply({ error: 'ERR fake node: requests must be RESP arrays' }));
      },
      returnFatalError: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => {
      // An inline command starts with a letter; redis-parser only reads RESP.
      if (chunk[0] !== 42 /* '*' */ && chunk[0] !== 36 /* '$' */ && parserIdle(parser)) {
        socket.write(encodeReply({ error: 'ERR fake node: inline commands are not supported' }));
        return;
      }
      try {
        parser.execute(chunk);
      } catch {
        socket.destroy();
      }
    });
  });

  return {
    port,
    address,
    id,
    requests,
    countOf(command) {
      const [name, sub] = command.toUpperCase().split(' ');
      return requests.filter((r) => r.args[0] === name && (sub === undefined || (r.args[1] ?? '').toUpperCase() === sub)).length;
    },
    dataRequests() {
      return requests.filter((r) => !CONTROL_COMMANDS.has(r.args[0]));
    },
    setSlots(next) {
      slots = next;
    },
    connections: () => accepted,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** RESP2 bytes for `reply`. */
export function encodeReply(reply: FakeReply): Buffer {
  const parts: Buffer[] = [];
  const add = (value: FakeReply): void => {
    if (value === null) parts.push(Buffer.from('$-1\r\n'));
    else if (typeof value === 'number') parts.push(Buffer.from(`:${value}\r\n`));
    else if (typeof value === 'string') {
      const bytes = Buffer.from(value);
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
    } else if (Array.isArray(value)) {
      parts.push(Buffer.from(`*${value.length}\r\n`));
      for (const element of value) add(element);
    } else if ('simple' in value) parts.push(Buffer.from(`+${value.simple}\r\n`));
    else parts.push(Buffer.from(`-${value.error}\r\n`));
  };
  add(reply);
  return Buffer.concat(parts);
}

/** CLUSTER SLOTS as Redis 7 shows it: [start, end, [host, port, id], ...replicas]. */
function slotsReply(ranges: FakeSlotRange[], idOf: (node: string) => string): FakeReply {
  return ranges.map((range) => [
    range.start,
    range.end,
    ...[range.master, ...(range.replicas ?? [])].map((node): FakeReply => {
      const colon = node.lastIndexOf(':');
      return [node.slice(0, colon), Number(node.slice(colon + 1)), idOf(node)];
    }),
  ]);
}

function portOf(node: string): number {
  return Number(node.slice(node.lastIndexOf(':') + 1));
}

/** A stable made-up node id for a port: 40 hex digits. */
function fakeId(port: number): string {
  return `fa4e${port.toString(16).padStart(8, '0')}`.padEnd(40, '0');
}

/** redis-parser keeps partial input in its `buffer` field; when it has none, a new request starts. */
function parserIdle(parser: Parser): boolean {
  return (parser as unknown as { buffer: Buffer | null }).buffer === null;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound !== null ? bound.port : 0);
    });
  });
}
