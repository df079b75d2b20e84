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
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => slots[a] - slots[b] || a - b);
  const argIndexes = new Int32Array(count);
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
