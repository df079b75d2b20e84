import { CommandFlags, type CommandSpec } from '../commands/command-spec.ts';
import { findKeys, KeyIndexes } from '../commands/find-keys.ts';
import { keySlot } from '../cluster/key-slot.ts';
import { encodeError } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';

/**
 * The keys of the request being routed and their slots, in scratch space shared by every session
 * of the process (10,000 idle clients should not each hold their own). That is safe because a
 * request is routed start to end before the next is looked at: a parser resumed from inside
 * routing does not start a new request (RequestParser.resume).
 */
export const requestKeys = new KeyIndexes();
/** Slot of each key in requestKeys, filled by commonSlot when the keys have more than one. */
export let keySlots = new Int32Array(64);

/** commonSlot's answer when the keys are in different slots. */
export const MIXED_SLOTS = -2;

export const CROSSSLOT = encodeError("CROSSSLOT Keys in request don't hash to the same slot");

/** The reply when no master serves the slot a request needs (Redis Cluster's own words). */
export const SLOT_NOT_SERVED = encodeError('CLUSTERDOWN Hash slot not served');

/** Fills requestKeys; false when the keys can't be told from the request (see findKeys). */
export function findRequestKeys(spec: CommandSpec, view: RequestView): boolean {
  requestKeys.reset();
  return findKeys(spec, view, requestKeys);
}

/** The slot all of requestKeys hash to, or MIXED_SLOTS (leaving each key's slot in keySlots). */
export function commonSlot(view: RequestView): number {
  const count = requestKeys.count;
  const indexes = requestKeys.indexes;
  const first = keySlot(view.buffer, view.starts[indexes[0]], view.ends[indexes[0]]);
  if (count === 1) return first;
  if (keySlots.length < count) keySlots = new Int32Array(Math.max(count, keySlots.length * 2));
  keySlots[0] = first;
  let same = true;
  for (let i = 1; i < count; i++) {
    const k = indexes[i];
    keySlots[i] = keySlot(view.buffer, view.starts[k], view.ends[k]);
    if (keySlots[i] !== first) same = false;
  }
  return same ? first : MIXED_SLOTS;
}

export function cannotTellKeys(spec: CommandSpec): Buffer {
  return encodeError(`ERR slotgate: cannot tell which keys this '${spec.name}' request uses`);
}

/** Read-only commands may be sent again after a connection died under them; writes may not. */
export function isReadOnly(spec: CommandSpec): boolean {
  return (spec.flags & CommandFlags.readonly) !== 0;
}
