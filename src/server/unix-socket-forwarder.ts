import type { ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { listenUnix } from './listen-unix.ts';

/** The IPC message a worker gets with a client's socket from its supervisor's Unix socket. */
export const UNIX_CLIENT_MESSAGE = 'slotgate:unix-client';

/** Whether an IPC message (and the handle sent with it) is a client handed over by forwardUnixClients. */
export function isForwardedClient(message: unknown, handle: unknown): handle is Socket {
  return (message as { type?: unknown } | null)?.type === UNIX_CLIENT_MESSAGE && handle !== undefined && handle !== null;
}

/**
 * With several workers, the supervisor listens on settings.unixSocket and hands each client to a
 * worker in turn, which serves it as its own. SO_REUSEPORT does nothing for Unix sockets, and only
 * one process can bind a path, so the workers cannot each listen there. Clients are long-lived, so
 * one IPC message per connection costs nothing that matters; the requests never pass through here.
 */
export async function forwardUnixClients(path: string, perm: string, servingWorkers: () => ChildProcess[], logger: Logger): Promise<{ close(): Promise<void> }> {
  let next = 0;
  // Paused, so nothing is read here before the socket moves to the worker.
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    // Only workers that are listening: one still starting (a restart) has no handler for clients yet.
    const ready = servingWorkers().filter((child) => child.connected);
    if (ready.length === 0) {
      socket.destroy();
      return;
    }
    const worker = ready[next++ % ready.length];
    worker.send({ type: UNIX_CLIENT_MESSAGE }, socket, (error) => {
      if (error === null) return;
      logger.warn({ err: error.message }, 'could not hand a Unix-socket client to a worker; closing it');
      socket.destroy();
    });
  });
  // Failed accepts (EMFILE, say) are reported here instead of ending the supervisor and its workers.
  server.on('error', (error) => logger.error({ err: error.message }, 'accepting on the Unix socket failed'));
  try {
    await listenUnix(server, path, perm);
  } catch (error) {
    server.close();
    throw error;
  }
  // Not waiting for close's callback: it comes only once every client handed over has left, and the
  // workers, stopped next, are what ends those. Stopping to listen and removing the file are at once.
  return { close: async () => void server.close() };
}
