import { KeyProcs, KeySpecFlags, type CommandSpec } from '../commands/command-spec.ts';
import { encodeError } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';
import { findRequestKeys, requestKeys } from './request-keys.ts';

/** Redis 7.0's replies, byte for byte (captured from redis-server 7.0.15 with ACL SETUSER). */
export const NOPERM_KEYS = encodeError('NOPERM this user has no permissions to access one of the keys used as arguments');

export function noPermCommand(spec: CommandSpec): Buffer {
  // A subcommand is named as Redis names it: 'client|kill'.
  return encodeError(`NOPERM this user has no permissions to run the '${spec.name}' command`);
}

/**
 * What a restricted user may do: the commands it may not run (an array per command id, shared by
 * every user of the same kind, see command-access.ts) and the prefixes its keys must start with.
 * Immutable: a reload gives the user a new one, which its clients take at once.
 */
export class UserPermissions {
  /** 1 at the id of each command the user may not run. */
  readonly denied: Uint8Array;
  /** Every key must start with one of these; null: any key. */
  readonly prefixes: readonly Buffer[] | null;

  constructor(denied: Uint8Array, prefixes: readonly Buffer[] | null) {
    this.denied = denied;
    this.prefixes = prefixes;
  }

  /**
   * Null when the user may send this request; else Redis's NOPERM reply. Every key the request
   * names counts, those of a request slotgate splits by slot included; keys that can't be told
   * from the request are refused, as they might be anyone's.
   */
  check(spec: CommandSpec, view: RequestView): Buffer | null {
    if (this.denied[spec.id] !== 0) return noPermCommand(spec);
    const prefixes = this.prefixes;
    if (prefixes === null || !spec.hasKeys || namesOnlyChannels(spec)) return null;
    if (!findRequestKeys(spec, view)) return NOPERM_KEYS;
    const { indexes, count } = requestKeys;
    for (let i = 0; i < count; i++) {
      const k = indexes[i];
      if (!startsWithAny(view.buffer, view.starts[k], view.ends[k], prefixes)) return NOPERM_KEYS;
    }
    if ((spec.keyProc === KeyProcs.sort || spec.keyProc === KeyProcs.sortReadOnly) && sortReadsOtherKeys(view)) return NOPERM_KEYS;
    return null;
  }
}

/**
 * SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE: their "keys" are shard channels (key specs flagged not_key),
 * routed as keys but no key of the data set, and channels are not restricted (README).
 */
function namesOnlyChannels(spec: CommandSpec): boolean {
  const keySpecs = spec.keySpecs;
  for (let s = 0; s < keySpecs.length; s++) if ((keySpecs[s].flags & KeySpecFlags.notKey) === 0) return false;
  return keySpecs.length > 0;
}

function startsWithAny(buffer: Uint8Array, start: number, end: number, prefixes: readonly Buffer[]): boolean {
  for (let p = 0; p < prefixes.length; p++) {
    const prefix = prefixes[p];
    if (prefix.length > end - start) continue;
    let i = 0;
    while (i < prefix.length && buffer[start + i] === prefix[i]) i++;
    if (i === prefix.length) return true;
  }
  return false;
}

/**
 * SORT's BY and GET patterns with a `*` name keys built from the sorted values, which no prefix
 * check can see in advance (Redis's ACL refuses them too, for a user without access to every key).
 */
function sortReadsOtherKeys(view: RequestView): boolean {
  for (let i = 2; i + 1 < view.argc; i++) {
    if ((view.argEquals(i, 'BY') || view.argEquals(i, 'GET')) && view.arg(i + 1).includes(42 /* '*' */)) return true;
  }
  return false;
}
