import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { sharedReadOption, type OnChunk } from '../util/socket-reader.ts';

/** A connection to a node being made, and the event that says it is ready for requests. */
export interface NodeSocket {
  socket: Socket;
  readyEvent: 'connect' | 'secureConnect';
}

/**
 * Opens a connection to a node, plain or TLS (`tls` given). A plain socket reads into the shared
 * buffer (`onread`); a TLS socket through 'data' events, since what arrives on its handle is
 * ciphertext and the decrypted bytes come out of its stream (see socket-reader.ts). Either way
 * `onChunk` gets bytes that are its own to keep, and the socket is ready on `readyEvent`: after the
 * handshake, for TLS, so a certificate the node fails to verify never counts as connected.
 */
export function connectNode(host: string, port: number, tls: ConnectionOptions | undefined, onChunk: OnChunk): NodeSocket {
  if (tls === undefined) {
    const socket = connect({ host, port, noDelay: true, keepAlive: true, onread: sharedReadOption(onChunk) });
    return { socket, readyEvent: 'connect' };
  }
  const socket = connectTls({ ...tls, host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  socket.on('data', onChunk);
  return { socket, readyEvent: 'secureConnect' };
}
