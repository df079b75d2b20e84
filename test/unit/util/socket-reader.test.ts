import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { connect as connectTls, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCerts, type TestCerts } from '../../helpers/tls-certs.ts';
import { until } from '../../helpers/until.ts';
import { acceptedSocketsShareReadBuffer, sharedReadOption, startReading } from '../../../src/util/socket-reader.ts';

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  if (server) await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A loopback server whose accepted sockets are read with startReading(); resolves to its port. */
async function listen(onSocket: (socket: Socket) => void): Promise<number> {
  server = createServer({ pauseOnConnect: true }, (socket) => {
    sockets.push(socket);
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function client(port: number): Socket {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  return socket;
}

describe('startReading', () => {
  it('finds the onread hooks on the pinned Node, so accepted sockets skip the stream machinery', () => {
    expect(acceptedSocketsShareReadBuffer).toBe(true);
  });

  it('hands over chunks that stay intact after later reads reuse the shared buffer', async () => {
    const chunks: Buffer[] = [];
    let ended!: () => void;
    const closed = new Promise<void>((resolve) => (ended = resolve));
    const port = await listen((socket) => {
      startReading(socket, (chunk) => chunks.push(chunk));
      socket.on('close', () => ended());
    });
    const sender = client(port);
    await once(sender, 'connect');
    // Separate writes with a pause between them, so that they arrive as separate reads.
    let sent = 0;
    for (const text of ['first', 'second', 'third']) {
      sender.write(text);
      sent += text.length;
      await until(() => Buffer.concat(chunks).length === sent, { graceMs: 0 });
    }
    sender.end();
    await closed;
    expect(Buffer.concat(chunks).toString()).toBe('firstsecondthird');
    expect(chunks[0].toString()).toBe('first');
  });

  it('stops reading on pause() and goes on after resume()', async () => {
    const received: string[] = [];
    let accepted!: Socket;
    const port = await listen((socket) => {
      accepted = socket;
      startReading(socket, (chunk) => {
        received.push(chunk.toString());
        socket.pause();
      });
    });
    const sender = client(port);
    await once(sender, 'connect');
    sender.write('one');
    await until(() => received.length > 0, { graceMs: 0 });
    sender.write('two');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(received).toEqual(['one']);
    accepted.resume();
    await until(() => received.join('') === 'onetwo');
    expect(received.join('')).toBe('onetwo');
  });
});

describe('startReading on a socket that has read already', () => {
  it('passes on what the stream holds, then what follows (a socket handed over by another process)', async () => {
    const chunks: Buffer[] = [];
    let accepted!: Socket;
    // Accepted flowing (not paused), as a socket handed over IPC arrives: it reads before startReading.
    server = createServer((socket) => {
      sockets.push(socket);
      accepted = socket;
      socket.pause();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const sender = client((server.address() as AddressInfo).port);
    await once(sender, 'connect');
    sender.write('early');
    await until(() => accepted?.readableLength === 5, { graceMs: 0 });
    expect(accepted.readableLength).toBe(5);
    startReading(accepted, (chunk) => chunks.push(chunk));
    sender.write('-late');
    await until(() => Buffer.concat(chunks).length === 10);
    expect(Buffer.concat(chunks).toString()).toBe('early-late');
  });
});

describe('startReading on a TLS socket', () => {
  let certs: TestCerts;
  beforeAll(async () => {
    certs = await makeTestCerts();
  });
  afterAll(() => certs?.remove());

  it('reads through data events and keeps what was decrypted before it was called', async () => {
    const chunks: Buffer[] = [];
    let ended!: () => void;
    const closed = new Promise<void>((resolve) => (ended = resolve));
    const tlsServer = createTlsServer({ cert: readFileSync(certs.serverCertFile), key: readFileSync(certs.serverKeyFile) }, (socket: TLSSocket) => {
      sockets.push(socket);
      socket.on('close', () => ended());
      // Late, as a session may be: by now the first bytes sit decrypted in the stream's buffer.
      setTimeout(() => startReading(socket, (chunk) => chunks.push(chunk)), 50);
    });
    server = tlsServer;
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const sender = connectTls({ host: '127.0.0.1', port: (tlsServer.address() as AddressInfo).port, ca: certs.ca });
    sockets.push(sender);
    sender.write('sent with the handshake');
    await once(sender, 'secureConnect');
    await new Promise((resolve) => setTimeout(resolve, 100));
    sender.end('|and after');
    await closed;
    expect(Buffer.concat(chunks).toString()).toBe('sent with the handshake|and after');
  });
});

describe('sharedReadOption', () => {
  it('reads a client socket into the shared buffer and hands out owned copies', async () => {
    const port = await listen((socket) => {
      socket.resume();
      socket.write('hello');
      setTimeout(() => socket.end('world'), 20);
    });
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port, onread: sharedReadOption((chunk) => chunks.push(chunk)) });
    sockets.push(socket);
    await once(socket, 'close');
    expect(Buffer.concat(chunks).toString()).toBe('helloworld');
    expect(chunks[0].toString()).toBe('hello');
  });
});
