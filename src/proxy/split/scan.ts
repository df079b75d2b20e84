import { encodeBulk, encodeCommand, encodeError } from '../../resp/encode.ts';
import { arrayElements, readString } from '../../resp/reply-reader.ts';
import type { RequestView } from '../../resp/request-view.ts';
import type { PendingRequest } from '../pending-request.ts';
import type { Router } from '../router.ts';
import { Fanout } from './fanout.ts';

/**
 * SCAN over the whole cluster, one master after another. The client's cursor is a plain decimal
 * number, as from Redis, so clients that parse it as an integer keep working:
 *
 *   client cursor = node cursor * MASTER_SLOTS + index of the master (in address order)
 *
 * "0" starts at the first master; when a master's own scan ends, the next cursor points at the
 * start of the next master; after the last one the cursor is "0" again. Keys that exist for the
 * whole scan are returned at least once, as SCAN promises, as long as the set of masters stays
 * the same; a topology change in the middle can repeat or skip a master's keys.
 */
const MASTER_SLOTS = 1024n;
const MAX_CURSOR = 2n ** 64n - 1n;

export function scanAcrossMasters(target: PendingRequest, view: RequestView, router: Router): void {
  const masterCount = router.masterCount();
  const text = view.argString(1);
  const cursor = /^\d+$/.test(text) ? BigInt(text) : -1n;
  if (cursor < 0n || cursor > MAX_CURSOR) {
    target.complete(encodeError('ERR invalid cursor'));
    return;
  }
  const index = Number(cursor % MASTER_SLOTS);
  if (index >= masterCount) {
    target.complete(encodeError('ERR invalid cursor'));
    return;
  }
  const args: Buffer[] = [view.arg(0), Buffer.from(String(cursor / MASTER_SLOTS))];
  for (let i = 2; i < view.argc; i++) args.push(view.arg(i));
  const fanout = new Fanout(target, 1, (parts) => rewriteCursor(parts[0], index, masterCount));
  router.dispatch(fanout.part(0, encodeCommand(args), router.slotOfMaster(index)));
}

/** Turns a node's SCAN reply [cursor, keys] into the cluster-wide one. */
export function rewriteCursor(reply: Buffer, index: number, masterCount: number): Buffer {
  const elements = arrayElements(reply);
  const nodeCursor = elements === null || elements.length !== 2 ? null : readString(elements[0]);
  if (elements === null || nodeCursor === null) return reply;
  let next: bigint;
  if (nodeCursor === '0') next = index + 1 < masterCount ? BigInt(index + 1) : 0n;
  else next = BigInt(nodeCursor) * MASTER_SLOTS + BigInt(index);
  if (next > MAX_CURSOR) return encodeError('ERR slotgate: node cursor too large to combine');
  return Buffer.concat([Buffer.from('*2\r\n'), encodeBulk(String(next)), elements[1]]);
}
