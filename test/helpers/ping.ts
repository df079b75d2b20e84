import { connect } from 'node:net';

/**
 * Sends one PING over a fresh connection to 127.0.0.1:port, or to the Unix domain socket at a path;
 * true on +PONG, false on anything else or after 1 s.
 */
export function pings(target: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = typeof target === 'number' ? connect({ host: '127.0.0.1', port: target }) : connect({ path: target });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG\r\n'));
    });
  });
}
