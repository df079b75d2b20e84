import type { KeyIndexes } from '../../commands/find-keys.ts';
import { encodeSubCommand } from '../../resp/encode.ts';
import type { RequestView } from '../../resp/request-view.ts';
import type { PendingRequest } from '../pending-request.ts';
import type { Router } from '../router.ts';
import { Fanout, type MergeParts } from './fanout.ts';
import { msetResult, reorderArrays, sumIntegers } from './merge-replies.ts';

/** How a multi-key command is cut into one request per slot, and merged back. */
export interface SplitRule {
  /** Arguments per key: 1 for MGET's keys, 2 for MSET's key-value pairs. */
  span: number;
  merge: MergeParts;
}

/**
 * The commands that keep their meaning when split by slot: each key is independent of the others.
 * The rest (MSETNX, RENAME, SINTERSTORE, …) would lose their atomicity or meaning, and get CROSSSLOT.
 */
export const SPLIT_RULES = new Map<string, SplitRule>([
  ['mget', { span: 1, merge: reorderArrays }],
  ['mset', { span: 2, merge: msetResult }],
  ['del', { span: 1, merge: sumIntegers }],
  ['unlink', { span: 1, merge: sumIntegers }],
  ['exists', { span: 1, merge: sumIntegers }],
  ['touch', { span: 1, merge: sumIntegers }],
]);

/** Argument index of each key in sending order; scratch shared by every split (they run one at a time). */
let argIndexes = new Int32Array(64);

/**
 * The key positions 0…count-1 ordered by slot, keeping request order within a slot. Small requests
 * (the usual MGET of a few keys) take an insertion sort: TypedArray.prototype.sort with a comparator
 * showed up in the profile of a split MGET at several times the cost of the loop.
 */
function sortBySlot(slots: Int32Array, count: number): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (count > 32) return order.sort((a, b) => slots[a] - slots[b] || a - b);
  for (let i = 1; i < count; i++) {
    const key = order[i];
    const slot = slots[key];
    let j = i - 1;
    // Stable: only strictly greater slots move right, so equal slots keep request order.
    while (j >= 0 && slots[order[j]] > slot) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = key;
  }
  return order;
}

/**
 * Sends one request per slot, each with that slot's keys in their original relative order (a cluster
 * refuses keys of two slots even when one node owns both), and completes `target` with the merge.
 * `slots[i]` is the slot of the i-th key in `keys`.
 */
export function splitBySlot(
  target: PendingRequest,
  view: RequestView,
  keys: KeyIndexes,
  slots: Int32Array,
  rule: SplitRule,
  router: Router,
): void {
  const count = keys.count;
  const order = sortBySlot(slots, count);
  if (argIndexes.length < count) argIndexes = new Int32Array(Math.max(count, argIndexes.length * 2));
  let groups = 0;
  for (let i = 0; i < count; i++) {
    argIndexes[i] = keys.indexes[order[i]];
    if (i === 0 || slots[order[i]] !== slots[order[i - 1]]) groups++;
  }

  const fanout = new Fanout(target, groups, rule.merge);
  fanout.order = order;
  const name = view.arg(0);
  let group = 0;
  for (let start = 0; start < count; ) {
    const slot = slots[order[start]];
    let end = start + 1;
    while (end < count && slots[order[end]] === slot) end++;
    const frame = encodeSubCommand(name, view, argIndexes, start, end - start, rule.span);
    router.dispatch(fanout.part(group++, frame, slot));
    start = end;
  }
}
