import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendConnection } from '../../../src/upstream/backend-connection.ts';
import { BackendLogin } from '../../../src/upstream/backend-auth.ts';
import type { ReplyTarget } from '../../../src/upstream/reply-target.ts';
import { until } from '../../helpers/until.ts';

/**
 * A scripted node: `onConnection(socket, index)` decides what each accepted connection does with
 * what it reads. Commands are answered one reply per request by `reply(commandName)`.
 */
let server: Server | undefined;
const connections: BackendConnection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  if (server) await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function fakeNode(onConnection: (socket: Socket, index: number) => void): Promise<string> {
  let count = 0;
  server = createServer((socket) => onConnection(socket, count++));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The names of the commands in `bytes` (RESP multibulk requests). */
function commandNames(bytes: string): string[] {
  return bytes
    .split('*')
    .slice(1)
    .map((request) => request.split('\r\n')[2]);
}

function frame(...args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((arg) => `$${arg.length}\r\n${arg}\r\n`).join('')}`);
}

function recorder(name: string, events: string[]): ReplyTarget {
  return {
    onReply: (reply) => events.push(`${name} reply ${reply.toString().trim()}`),
    onFailure: (_message, written) => events.push(`${name} failure written=${written}`),
  };
}

it('a request sent from a failure callback goes to the next connection, and its reply to it alone', async () => {
  const received: string[] = [];
  const address = await fakeNode((socket, index) => {
    socket.on('data', (data) => {
      const names = commandNames(data.toString());
      received.push(`connection ${index}: ${names.join(' ')}`);
      // The first connection dies with its request in flight; later ones answer each command.
      if (index === 0) socket.destroy();
      else for (const name of names) socket.write(`+reply-to-${name}\r\n`);
    });
  });
  const events: string[] = [];
  const connection = new BackendConnection(address, { connectTimeoutMs: 1000, onConnectionLost: () => {} });
  connections.push(connection);
  const second = recorder('second', events);
  // Like a client whose next request is parsed as soon as its blocked one fails.
  connection.send(frame('BLPOP', 'k', '0'), {
    onReply: () => events.push('first reply'),
    onFailure: (_message, written) => {
      events.push(`first failure written=${written}`);
      connection.send(frame('LPOP', 'k'), second);
    },
  });
  await until(() => events.length >= 2);
  connection.send(frame('GET', 'other'), recorder('other', events));
  await until(() => events.length >= 3);
  expect(events).toEqual(['first failure written=true', 'second reply +reply-to-LPOP', 'other reply +reply-to-GET']);
  expect(received).toEqual(['connection 0: BLPOP', 'connection 1: LPOP', 'connection 1: GET']);
});

it('tells of a lost connection before failing what waited on it', async () => {
  const address = await fakeNode((socket) => socket.on('data', () => socket.destroy()));
  const events: string[] = [];
  const connection = new BackendConnection(address, { connectTimeoutMs: 1000, onConnectionLost: () => events.push('lost') });
  connections.push(connection);
  connection.send(frame('GET', 'k'), recorder('get', events));
  await until(() => events.length >= 2);
  expect(events).toEqual(['lost', 'get failure written=true']);
});

it('goes on when a node without a password answers AUTH with "no password configured"', async () => {
  const address = await fakeNode((socket) => {
    socket.on('data', (data) => {
      for (const name of commandNames(data.toString())) {
        socket.write(name === 'AUTH' ? '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n' : '+OK\r\n');
      }
    });
  });
  const events: string[] = [];
  const connection = new BackendConnection(address, {
    connectTimeoutMs: 1000,
    login: new BackendLogin({ username: '', password: 'secret' }),
    onConnectionLost: () => events.push('lost'),
  });
  connections.push(connection);
  connection.send(frame('SET', 'k', 'v'), recorder('set', events));
  await until(() => events.length >= 1);
  expect(events).toEqual(['set reply +OK']);
});

it('reports the writes behind a refused AUTH as in doubt, never as not run', async () => {
  const address = await fakeNode((socket) => {
    socket.on('data', (data) => {
      for (const name of commandNames(data.toString())) socket.write(name === 'AUTH' ? '-WRONGPASS invalid username-password pair or user is disabled.\r\n' : '+OK\r\n');
    });
  });
  const events: string[] = [];
  const connection: BackendConnection = new BackendConnection(address, {
    connectTimeoutMs: 1000,
    login: new BackendLogin({ username: '', password: 'wrong' }),
    onConnectionLost: () => {
      events.push('lost');
      // While it backs off, a new request gets the authentication error at once.
      connection.send(frame('GET', 'k'), recorder('get', events));
    },
  });
  connections.push(connection);
  connection.send(frame('SET', 'k', 'v'), recorder('set', events));
  await until(() => events.length >= 3);
  expect(events).toHaveLength(3);
  expect(events[0]).toBe('lost');
  expect(events[1]).toMatch(/^get reply -ERR slotgate: authentication to .* failed \(WRONGPASS/);
  expect(events[2]).toBe('set failure written=true');
});

it('tries new credentials at once after a refusal, without waiting out the backoff', async () => {
  const address = await fakeNode((socket) => {
    socket.on('data', (data) => {
      const text = data.toString();
      for (const name of commandNames(text)) {
        const refused = name === 'AUTH' && !text.includes('right-password');
        socket.write(refused ? '-WRONGPASS invalid username-password pair or user is disabled.\r\n' : '+OK\r\n');
      }
    });
  });
  const events: string[] = [];
  const login = new BackendLogin({ username: '', password: 'wrong-password' });
  const connection: BackendConnection = new BackendConnection(address, {
    connectTimeoutMs: 1000,
    login,
    onConnectionLost: () => {
      if (events.length > 0) return;
      // Within the backoff that the refusal starts: the same credentials get the error at once…
      connection.send(frame('GET', 'k'), recorder('same', events));
      // …and a reload's new ones are tried at once.
      login.change({ username: '', password: 'right-password' });
      connection.send(frame('GET', 'k'), recorder('new', events));
    },
  });
  connections.push(connection);
  connection.send(frame('SET', 'k', 'v'), recorder('first', events));
  await until(() => events.includes('new reply +OK'));
  expect(events[0]).toMatch(/^same reply -ERR slotgate: authentication to .* failed/);
  expect(events).toContain('new reply +OK');
});

it('gives new credentials one attempt: if it fails in any way, the backoff holds again (no reconnect per request)', async () => {
  const address = await fakeNode((socket) => {
    socket.on('data', (data) => {
      for (const name of commandNames(data.toString())) socket.write(name === 'AUTH' ? '-WRONGPASS invalid username-password pair or user is disabled.\r\n' : '+OK\r\n');
    });
  });
  const events: string[] = [];
  const login = new BackendLogin({ username: '', password: 'first-password' });
  let losses = 0;
  const connection: BackendConnection = new BackendConnection(address, {
    connectTimeoutMs: 1000,
    login,
    onConnectionLost: () => {
      losses++;
      if (losses === 1) {
        // The node goes down (restarting with the new password, say) as the reload comes.
        server?.close();
        login.change({ username: '', password: 'second-password' });
      }
      // The same credentials given again (a reload that left them alone) are no change.
      if (losses === 2) login.change({ username: '', password: 'second-password' });
      // A client keeps sending: one attempt with the new credentials, then the backoff again.
      if (losses < 10) connection.send(frame('GET', 'k'), recorder(`after-loss-${losses}`, events));
    },
  });
  connections.push(connection);
  connection.send(frame('SET', 'k', 'v'), recorder('first', events));
  // Well within the backoff that the second failure starts (100 ms): one new attempt in all.
  await until(() => losses >= 2, { graceMs: 50 });
  expect(losses).toBe(2);
  expect(events).toContain('after-loss-2 reply -ERR slotgate: connect ECONNREFUSED ' + address);
});

describe('checkReplies (replyTimeoutMs)', () => {
  /** A node that reads requests and answers only when told to, through `answer`. */
  async function silentNode(): Promise<{ address: string; requests: string[]; answer(bytes: string): void }> {
    const requests: string[] = [];
    let accepted: Socket | null = null;
    const address = await fakeNode((socket) => {
      accepted = socket;
      socket.on('data', (data) => requests.push(...commandNames(data.toString())));
    });
    return { address, requests, answer: (bytes) => accepted?.write(bytes) };
  }

  function failures(events: string[]): ReplyTarget {
    return { onReply: (reply) => events.push(`reply ${reply.toString().trim()}`), onFailure: (message, written) => events.push(`failure written=${written}: ${message}`) };
  }

  it('drops a connection that owes replies and reads nothing for the timeout; its requests fail as written', async () => {
    const node = await silentNode();
    const events: string[] = [];
    const lost: string[] = [];
    const connection = new BackendConnection(node.address, { connectTimeoutMs: 1000, onConnectionLost: (_address, reason) => lost.push(reason) });
    connections.push(connection);
    connection.send(frame('GET', 'k'), failures(events));
    await until(() => node.requests.length === 1, { graceMs: 0 });
    connection.checkReplies(1000, 500);
    connection.checkReplies(1499, 500);
    await until(() => events.length > 0, { timeoutMs: 100 });
    expect(events).toEqual([]);
    connection.checkReplies(1500, 500);
    await until(() => events.length > 0);
    expect(events).toEqual([expect.stringMatching(/^failure written=true: ERR slotgate: lost connection to .*: no reply for 500 ms \(replyTimeoutMs\)$/)]);
    expect(lost).toEqual(['no reply for 500 ms (replyTimeoutMs)']);
  });

  it('spares a node that is slow but sending, and a connection that owes nothing', async () => {
    const node = await silentNode();
    const events: string[] = [];
    const connection = new BackendConnection(node.address, { connectTimeoutMs: 1000, onConnectionLost: () => events.push('lost') });
    connections.push(connection);
    // Nothing owed: never timed, however long.
    connection.send(frame('PING'), failures(events));
    await until(() => node.requests.length === 1, { graceMs: 0 });
    node.answer('+PONG\r\n');
    await until(() => events.length === 1);
    for (let now = 1000; now <= 5000; now += 100) connection.checkReplies(now, 500);
    // A big reply trickling in: each look sees bytes read since the last.
    connection.send(frame('GET', 'big'), failures(events));
    await until(() => node.requests.length === 2, { graceMs: 0 });
    connection.checkReplies(6000, 500);
    // Each piece goes out before a look 200 ms (of the connection's clock) after the last: one that
    // arrives late on a busy machine is seen at the next look, still within the timeout.
    const value = 'x'.repeat(40);
    const pieces = [`$${value.length}\r\n`, value.slice(0, 10), value.slice(10, 20), value.slice(20, 30), value.slice(30)];
    for (let i = 0; i < pieces.length; i++) {
      node.answer(pieces[i]);
      await until(() => false, { timeoutMs: 0, graceMs: 30 });
      connection.checkReplies(6200 + 200 * i, 500);
    }
    node.answer('\r\n');
    await until(() => events.length === 2);
    expect(events).toEqual(['reply +PONG', `reply $40\r\n${value}`]);
  });
});
