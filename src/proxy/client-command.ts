import { performance } from 'node:perf_hooks';
import { encodeBulk, encodeError, encodeInteger, NULL_BULK, NULL_RESP3, OK_REPLY } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';
import { clientKill } from './client-kill.ts';
import { clientTypeOf, parseClientType, unknownClientType, type ClientType } from './client-type.ts';
import type { LocalSession } from './local-commands.ts';

/**
 * CLIENT subcommands, answered for the client's connection to slotgate (its connection to Redis is
 * shared, so the backend's answer would describe slotgate, not the client).
 */
export function clientCommand(view: RequestView, session: LocalSession): Buffer {
  const sub = view.argString(1).toLowerCase();
  switch (sub) {
    case 'setname': {
      if (view.argc !== 3) return wrongArity('client|setname');
      return setClientName(session, view.arg(2)) ?? OK_REPLY;
    }
    case 'getname':
      if (session.name === null) return session.resp3 ? NULL_RESP3 : NULL_BULK;
      return encodeBulk(session.name);
    case 'id':
      return encodeInteger(session.id);
    case 'setinfo':
      // Client libraries announce their name and version; nothing for a proxy to do with it yet.
      return view.argc === 4 ? OK_REPLY : wrongArity('client|setinfo');
    case 'info':
      return encodeBulk(`${describe(session)}\n`);
    case 'list':
      return clientList(view, session);
    case 'no-evict':
      // Eviction of client connections is the backend's business, and slotgate's connections to it
      // are shared; slotgate itself never evicts clients. Validated like Redis, then accepted.
      return onOff(view, 'client|no-evict');
    case 'reply':
      return clientReply(view, session);
    case 'kill':
      return clientKill(view, session);
    default:
      if (NOT_SUPPORTED.includes(sub)) return encodeError(`ERR slotgate: CLIENT ${sub.toUpperCase()} is not supported through the proxy`);
      return encodeError(`ERR unknown subcommand '${view.argString(1).slice(0, 128)}'. Try CLIENT HELP.`);
  }
}

/**
 * Sets the client's name as CLIENT SETNAME and HELLO SETNAME do; an empty name clears it. Returns
 * Redis's error for a name CLIENT LIST could not print on one line, or null.
 */
export function setClientName(session: LocalSession, name: Buffer): Buffer | null {
  for (const byte of name) {
    if (byte < 33 || byte > 126) return encodeError('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  session.name = name.length === 0 ? null : Buffer.from(name);
  return null;
}

const NOT_SUPPORTED = ['caching', 'getredir', 'help', 'no-touch', 'pause', 'tracking', 'trackinginfo', 'unblock', 'unpause'];

/** CLIENT LIST [TYPE type] [ID id ...]: the clients of this slotgate process. */
function clientList(view: RequestView, session: LocalSession): Buffer {
  let ids: Set<number> | null = null;
  let type: ClientType | null = null;
  for (let i = 2; i < view.argc; i++) {
    if (view.argEquals(i, 'TYPE') && i + 1 < view.argc) {
      const name = view.argString(++i);
      type = parseClientType(name);
      if (type === null) return unknownClientType(name);
    } else if (view.argEquals(i, 'ID')) {
      ids = new Set();
      for (i++; i < view.argc; i++) {
        const id = Number(view.argString(i));
        if (!Number.isInteger(id) || id <= 0) return encodeError('ERR Invalid client ID');
        ids.add(id);
      }
    } else {
      return encodeError('ERR syntax error');
    }
  }
  let text = '';
  for (const other of session.allSessions()) {
    if ((ids === null || ids.has(other.id)) && (type === null || clientTypeOf(other) === type)) text += `${describe(other)}\n`;
  }
  return encodeBulk(text);
}

/** CLIENT REPLY ON|OFF|SKIP. Only ON is answered; OFF and SKIP are silent, as in Redis. */
function clientReply(view: RequestView, session: LocalSession): Buffer {
  if (view.argc !== 3) return wrongArity('client|reply');
  const mode = view.argString(2).toLowerCase();
  if (mode !== 'on' && mode !== 'off' && mode !== 'skip') return encodeError('ERR syntax error');
  session.setReplyMode(mode);
  return OK_REPLY;
}

function onOff(view: RequestView, name: string): Buffer {
  if (view.argc !== 3) return wrongArity(name);
  if (view.argEquals(2, 'ON') || view.argEquals(2, 'OFF')) return OK_REPLY;
  return encodeError('ERR syntax error');
}

/** One CLIENT LIST line, with Redis's fields; those that describe server internals read 0. */
function describe(session: LocalSession): string {
  const age = Math.floor((Date.now() - session.connectedAt) / 1000);
  // The monotonic clock, as the session stamps its reads with it; never below 0.
  const idle = Math.max(0, Math.floor((performance.now() - session.lastReadAt) / 1000));
  const name = session.name === null ? '' : session.name.toString('latin1');
  const [sub, psub, ssub] = session.subscriptionCounts;
  return (
    `id=${session.id} addr=${session.remoteAddress} laddr=${session.localAddress} fd=-1 name=${name} ` +
    `age=${age} idle=${idle} flags=${session.monitoring ? 'O' : session.subscribed ? 'P' : 'N'} db=0 sub=${sub} psub=${psub} ssub=${ssub} multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 ` +
    `multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=${session.lastCommand} user=${session.user.name} redir=-1 resp=${session.resp3 ? 3 : 2}`
  );
}

/** Redis's wording for a wrong argument count. */
export function wrongArity(name: string): Buffer {
  return encodeError(`ERR wrong number of arguments for '${name}' command`);
}
