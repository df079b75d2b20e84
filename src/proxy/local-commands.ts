import type { CommandSpec } from '../commands/command-spec.ts';
import { encodeArray, encodeBulk, encodeError, encodeInteger, encodeMap, OK_REPLY, PONG_REPLY } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';
import { authCommand, authenticate, HELLO_NOAUTH, type AuthSession } from './client-auth.ts';
import { clientCommand, setClientName, wrongArity } from './client-command.ts';
import type { ProxyUser } from './user-table.ts';

export { wrongArity };

/** What a local command may ask of the client session it runs in. */
export interface LocalSession extends AuthSession {
  readonly id: number;
  name: Buffer | null;
  /** The user it is logged in as: the default user until it authenticates as another. */
  readonly user: ProxyUser;
  /** The Redis version the cluster runs, which slotgate reports as its own so clients enable what it has. */
  readonly serverVersion: string;
  /** "ip:port" of the client, and of our end of its connection. */
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Date.now() at connect. */
  readonly connectedAt: number;
  /** performance.now() at its last read: its idle time counts from there. */
  readonly lastReadAt: number;
  /** Name of the command it sent last ('client|list'). */
  readonly lastCommand: string;
  /** Send the replies owed so far, then close the connection. */
  closeAfterReplies(): void;
  /** CLIENT REPLY: 'off' drops every reply until 'on'; 'skip' drops the next command's. */
  setReplyMode(mode: 'on' | 'off' | 'skip'): void;
  /** Every client connected to this slotgate process, for CLIENT LIST and CLIENT KILL. */
  allSessions(): Iterable<LocalSession>;
  /** False once its connection is closed or being torn down (a client just killed). */
  readonly connected: boolean;
  /** Subscribed to a channel or pattern: a client of type pubsub. */
  readonly subscribed: boolean;
  /** Its plain channels, patterns and sharded channels, for CLIENT LIST's sub, psub and ssub. */
  readonly subscriptionCounts: readonly [number, number, number];
  /** Closes the connection at once (CLIENT KILL of another client). */
  destroy(): void;
  /** The client speaks RESP3 (after HELLO 3). */
  readonly resp3: boolean;
  /** HELLO 2 / HELLO 3: switches the protocol of the requests that follow; returns an error reply, or null. */
  setProtocol(resp3: boolean): Buffer | null;
  /** In MONITOR mode (CLIENT LIST flag O). */
  readonly monitoring: boolean;
  /** MONITOR: sent a line for each command of this process's clients from now on. */
  startMonitor(): void;
  /** RESET: the connection's state back to a new one's; returns the reply. */
  reset(): Buffer;
}

const MASTER_ROLE = Buffer.from('*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n');

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
      return clientCommand(view, session);
    case 'hello':
      return hello(view, session);
    case 'auth':
      return authCommand(view, session);
    case 'role':
      // To its clients slotgate is one standalone master, with no replicas of its own.
      return MASTER_ROLE;
    case 'acl':
      // ACL WHOAMI, the only ACL subcommand slotgate answers.
      return encodeBulk(session.user.name);
    case 'monitor':
      session.startMonitor();
      return OK_REPLY;
    case 'reset':
      return session.reset();
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

/**
 * HELLO [protover [AUTH user pass] [SETNAME name]]: RESP2 or RESP3. The reply, a map of facts about
 * the server, is in the protocol chosen (an array of pairs in RESP2); without a version, in the
 * current one.
 */
function hello(view: RequestView, session: LocalSession): Buffer {
  let resp3 = session.resp3;
  if (view.argc >= 2) {
    const text = view.argString(1);
    if (!/^-?\d+$/.test(text)) return encodeError('ERR Protocol version is not an integer or out of range');
    const version = Number(text);
    if (version !== 2 && version !== 3) return encodeError('NOPROTO unsupported protocol version');
    resp3 = version === 3;
  }
  let name: Buffer | undefined;
  let username: Buffer | undefined;
  let password: Buffer | undefined;
  for (let i = 2; i < view.argc; i++) {
    if (view.argEquals(i, 'AUTH') && i + 2 < view.argc) {
      username = view.arg(++i);
      password = view.arg(++i);
    } else if (view.argEquals(i, 'SETNAME') && i + 1 < view.argc) {
      name = view.arg(++i);
    } else {
      return encodeError(`ERR Syntax error in HELLO option '${view.argString(i).slice(0, 128)}'`);
    }
  }
  // As in Redis: credentials first, then nothing more for a client that has not authenticated.
  if (username !== undefined && password !== undefined) {
    const refused = authenticate(session, username, password);
    if (refused !== null) return refused;
  }
  if (!session.authenticated) return HELLO_NOAUTH;
  if (name !== undefined) {
    const refused = setClientName(session, name);
    if (refused !== null) return refused;
  }
  if (resp3 !== session.resp3) {
    const refused = session.setProtocol(resp3);
    if (refused !== null) return refused;
  }
  const fields = [
    encodeBulk('server'), encodeBulk('redis'),
    encodeBulk('version'), encodeBulk(session.serverVersion),
    encodeBulk('proto'), encodeInteger(resp3 ? 3 : 2),
    encodeBulk('id'), encodeInteger(session.id),
    // Clients must treat slotgate as one standalone server: that is the point of it.
    encodeBulk('mode'), encodeBulk('standalone'),
    encodeBulk('role'), encodeBulk('master'),
    encodeBulk('modules'), encodeArray([]),
  ];
  return resp3 ? encodeMap(fields) : encodeArray(fields);
}

/** Redis's wording, including the first arguments it quotes back. */
export function unknownCommand(view: RequestView): Buffer {
  let args = '';
  for (let i = 1; i < view.argc && args.length < 128; i++) args += `'${view.argString(i).slice(0, 128 - args.length)}' `;
  return encodeError(`ERR unknown command '${view.argString(0).slice(0, 128)}', with args beginning with: ${args}`);
}
