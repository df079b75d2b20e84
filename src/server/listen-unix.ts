import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';

/**
 * Makes `server` listen on the Unix domain socket `path`, with permission bits `perm` (octal text,
 * "" to leave the umask's).
 *
 * A socket file left behind by a process that died without closing (SIGKILL, a crash) would make
 * the bind fail forever, so one that nobody answers on is removed and the bind tried again, as Redis
 * does on start. One that still answers belongs to a running process, and anything that is not a
 * socket is someone's file: both are refused, never removed. On close, Node (libuv) removes the
 * file it bound.
 */
export async function listenUnix(server: Server, path: string, perm: string): Promise<void> {
  try {
    await bind(server, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    await removeIfStale(path);
    await bind(server, path);
  }
  // After the bind, as Redis does: the file exists only from there. Until then it has the umask's bits.
  if (perm !== '') chmodSync(path, Number.parseInt(perm, 8));
}

function bind(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function removeIfStale(path: string): Promise<void> {
  if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket; not removing it`);
  const answer = await probe(path);
  if (answer === 'listening') throw new Error(`another process is listening on ${path}`);
  // Only a refusal says nobody listens: EAGAIN (a full backlog) or EACCES (someone else's socket)
  // come from a live one.
  if (answer !== 'ECONNREFUSED') throw new Error(`cannot tell whether another process is listening on ${path} (${answer}); not removing it`);
  unlinkSync(path);
}

/** 'listening' when something accepts connections on the socket file `path`, else the connect error's code. */
function probe(path: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve('listening');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
