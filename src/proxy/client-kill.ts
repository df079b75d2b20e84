import { encodeError, encodeInteger, OK_REPLY } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';
import { clientTypeOf, parseClientType, unknownClientType, type ClientType } from './client-type.ts';
import type { LocalSession } from './local-commands.ts';

/** What CLIENT KILL selects: a client must match every filter given (AND), as in Redis. */
export interface KillFilter {
  /** `CLIENT KILL ip:port`: answers +OK or "No such client" rather than a count. */
  oldForm: boolean;
  id: number | null;
  /** "ip:port" as CLIENT LIST shows it in addr=, and in laddr=. */
  addr: string | null;
  laddr: string | null;
  type: ClientType | null;
  /** Only clients connected at least this many seconds; 0 for any. */
  maxAgeSeconds: number;
  /** Only clients logged in as this user. */
  user: string | null;
  /** Spare the client that sent the command (SKIPME yes, the default of the new form). */
  skipMe: boolean;
}

/** The facts about a client the filters look at. */
export interface KillCandidate {
  readonly id: number;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly connectedAt: number;
  readonly subscribed: boolean;
  readonly user: { readonly name: string };
}

const SYNTAX_ERROR = encodeError('ERR syntax error');
const NO_SUCH_CLIENT = encodeError('ERR No such client');
const BAD_CLIENT_ID = encodeError('ERR client-id should be greater than 0');
const LONG_MAX = 2n ** 63n - 1n;

/**
 * CLIENT KILL ip:port, or CLIENT KILL <filter> <value> [<filter> <value> ...] with ID, ADDR, LADDR,
 * TYPE, USER, SKIPME and MAXAGE, over the clients of this slotgate process. Replies as Redis does:
 * +OK or "No such client" for the old form, the number killed for the new one.
 */
export function clientKill(view: RequestView, session: LocalSession): Buffer {
  const args: string[] = [];
  for (let i = 2; i < view.argc; i++) args.push(view.argString(i));
  const filter = parseKillFilter(args, session.users);
  if (Buffer.isBuffer(filter)) return filter;
  const now = Date.now();
  const victims: LocalSession[] = [];
  // A client killed a moment ago (earlier in this pipeline) is gone, even before its socket's 'close'.
  for (const other of session.allSessions()) if (other.connected && killMatches(filter, other, other === session, now)) victims.push(other);
  for (const victim of victims) {
    // As Redis: the killer itself leaves once this reply is written; any other client at once,
    // without the replies it is still owed.
    if (victim === session) session.closeAfterReplies();
    else victim.destroy();
  }
  if (filter.oldForm) return victims.length === 0 ? NO_SUCH_CLIENT : OK_REPLY;
  return encodeInteger(victims.length);
}

/**
 * The filter given by CLIENT KILL's arguments (those after KILL), or Redis's error reply for them.
 * `users`: the users USER may name.
 */
export function parseKillFilter(args: readonly string[], users: { has(name: string): boolean }): KillFilter | Buffer {
  const filter: KillFilter = { oldForm: false, id: null, addr: null, laddr: null, type: null, user: null, maxAgeSeconds: 0, skipMe: true };
  if (args.length === 1) {
    // The old form may kill the client that sends it.
    return { ...filter, oldForm: true, addr: args[0], skipMe: false };
  }
  if (args.length === 0) return SYNTAX_ERROR;
  for (let i = 0; i < args.length; i += 2) {
    // Redis reads options in pairs; one left without its value is a syntax error, whatever it is.
    if (i + 1 >= args.length) return SYNTAX_ERROR;
    const value = args[i + 1];
    switch (args[i].toLowerCase()) {
      case 'id': {
        const id = parseRedisInteger(value);
        if (id === null || id < 1n || id > LONG_MAX) return BAD_CLIENT_ID;
        filter.id = Number(id);
        break;
      }
      case 'type': {
        const type = parseClientType(value);
        if (type === null) return unknownClientType(value);
        filter.type = type;
        break;
      }
      case 'addr':
        filter.addr = value;
        break;
      case 'laddr':
        filter.laddr = value;
        break;
      case 'user':
        if (!users.has(value)) return encodeError(`ERR No such user '${value}'`);
        filter.user = value;
        break;
      case 'skipme': {
        const answer = value.toLowerCase();
        if (answer !== 'yes' && answer !== 'no') return SYNTAX_ERROR;
        filter.skipMe = answer === 'yes';
        break;
      }
      case 'maxage': {
        // Redis 7.4's option (7.0 has no MAXAGE), with its wording.
        const seconds = parseRedisInteger(value);
        if (seconds === null) return encodeError('ERR maxage is not an integer or out of range');
        if (seconds <= 0n) return encodeError('ERR maxage should be greater than 0');
        filter.maxAgeSeconds = Number(seconds);
        break;
      }
      default:
        return SYNTAX_ERROR;
    }
  }
  return filter;
}

/** Whether `client` matches every filter given; `isKiller`: it sent the CLIENT KILL. `now`: Date.now(). */
export function killMatches(filter: KillFilter, client: KillCandidate, isKiller: boolean, now: number): boolean {
  if (filter.addr !== null && client.remoteAddress !== filter.addr) return false;
  if (filter.laddr !== null && client.localAddress !== filter.laddr) return false;
  if (filter.type !== null && clientTypeOf(client) !== filter.type) return false;
  if (filter.id !== null && client.id !== filter.id) return false;
  // Clients that have not authenticated yet count as the default user's, as in Redis.
  if (filter.user !== null && client.user.name !== filter.user) return false;
  if (filter.skipMe && isKiller) return false;
  // Whole seconds, as CLIENT LIST's age= shows them.
  if (filter.maxAgeSeconds > 0 && Math.floor((now - client.connectedAt) / 1000) < filter.maxAgeSeconds) return false;
  return true;
}

/** A 64-bit integer written as Redis's string2ll takes it: no sign but '-', no leading zero, no blanks; else null. */
function parseRedisInteger(text: string): bigint | null {
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) return null;
  const value = BigInt(text);
  return value > LONG_MAX || value < -LONG_MAX - 1n ? null : value;
}
