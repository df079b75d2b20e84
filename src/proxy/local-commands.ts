import type { CommandSpec } from '../commands/command-spec.ts';
import { encodeArray, encodeBulk, encodeError, encodeInteger, NULL_BULK, OK_REPLY, PONG_REPLY } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';

/** What a local command may ask of the client session it runs in. */
export interface LocalSession {
  readonly id: number;
  name: Buffer | null;
  /** The Redis version the cluster runs, which slotgate reports as its own so clients enable what it has. */
  readonly serverVersion: string;
  /** Send the replies owed so far, then close the connection. */
  closeAfterReplies(): void;
}

/**
 * Commands slotgate answers itself, for the connection it was sent on: no backend has the answer
 * (the client's name, its id) or none is needed (PING). Arity is checked before these run.
 */
export function answerLocally(spec: CommandSpec, view: RequestView, session: LocalSession): Buffer {
  const container = spec.parent?.name ?? spec.name;
  switch (container) {
    case 'ping':
      return view.argc === 1 ? PONG_REPLY : encodeBulk(view.arg(1));
    case 'echo':
      return encodeBulk(view.arg(1));
    case 'quit':
      session.closeAfterReplies();
      return OK_REPLY;
    case 'select':
      return select(view);
    case 'client':
      return client(view, session);
    case 'hello':
      return hello(view, session);
    default:
      return encodeError(`ERR slotgate: no local handler for '${spec.name}'`);
  }
}

function select(view: RequestView): Buffer {
  const text = view.argString(1);
  if (!/^-?\d+$/.test(text)) return encodeError('ERR value is not an integer or out of range');
  // A cluster has only database 0; Redis Cluster nodes give this same answer for any other.
  return Number(text) === 0 ? OK_REPLY : encodeError('ERR SELECT is not allowed in cluster mode');
}

function client(view: RequestView, session: LocalSession): Buffer {
  const sub = view.argString(1).toLowerCase();
  switch (sub) {
    case 'setname': {
      if (view.argc !== 3) return wrongArity('client|setname');
      const name = view.arg(2);
      for (const byte of name) {
        if (byte < 33 || byte > 126) return encodeError('ERR Client names cannot contain spaces, newlines or special characters.');
      }
      session.name = name.length === 0 ? null : Buffer.from(name);
      return OK_REPLY;
    }
    case 'getname':
      return session.name === null ? NULL_BULK : encodeBulk(session.name);
    case 'id':
      return encodeInteger(session.id);
    case 'setinfo':
      // Client libraries announce their name and version; nothing for a proxy to do with it yet.
      return view.argc === 4 ? OK_REPLY : wrongArity('client|setinfo');
    default:
      if (KNOWN_CLIENT_SUBCOMMANDS.includes(sub)) return encodeError(`ERR slotgate: CLIENT ${sub.toUpperCase()} is not supported yet`);
      return encodeError(`ERR unknown subcommand '${view.argString(1).slice(0, 128)}'. Try CLIENT HELP.`);
  }
}

/**
 * HELLO [protover [AUTH user pass] [SETNAME name]]. Only RESP2 for now. Asked for RESP3, we answer
 * with Redis's NOPROTO, worded so that clients fall back to RESP2: ioredis looks for "NOPROTO",
 * Lettuce for "unknown".
 */
function hello(view: RequestView, session: LocalSession): Buffer {
  if (view.argc >= 2) {
    const text = view.argString(1);
    if (!/^-?\d+$/.test(text)) return encodeError('ERR Protocol version is not an integer or out of range');
    if (Number(text) !== 2) return encodeError('NOPROTO unsupported protocol version (RESP3 is unknown to slotgate yet; use RESP2)');
  }
  let name: Buffer | undefined;
  for (let i = 2; i < view.argc; i++) {
    if (view.argEquals(i, 'AUTH') && i + 2 < view.argc) {
      // Authentication is not configured in slotgate yet, so like a Redis whose default user has
      // no password, any credentials are accepted.
      i += 2;
    } else if (view.argEquals(i, 'SETNAME') && i + 1 < view.argc) {
      name = view.arg(++i);
    } else {
      return encodeError(`ERR Syntax error in HELLO option '${view.argString(i).slice(0, 128)}'`);
    }
  }
  if (name !== undefined) session.name = name.length === 0 ? null : Buffer.from(name);
  return encodeArray([
    encodeBulk('server'), encodeBulk('redis'),
    encodeBulk('version'), encodeBulk(session.serverVersion),
    encodeBulk('proto'), encodeInteger(2),
    encodeBulk('id'), encodeInteger(session.id),
    // Clients must treat slotgate as one standalone server: that is the point of it.
    encodeBulk('mode'), encodeBulk('standalone'),
    encodeBulk('role'), encodeBulk('master'),
    encodeBulk('modules'), encodeArray([]),
  ]);
}

const KNOWN_CLIENT_SUBCOMMANDS = [
  'caching', 'getredir', 'help', 'info', 'kill', 'list', 'no-evict', 'no-touch', 'pause', 'reply', 'tracking', 'trackinginfo', 'unblock', 'unpause',
];

/** Redis's wording for a wrong argument count. */
export function wrongArity(name: string): Buffer {
  return encodeError(`ERR wrong number of arguments for '${name}' command`);
}
