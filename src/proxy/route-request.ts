import { CommandFlags, type CommandSpec } from '../commands/command-spec.ts';
import type { RequestView } from '../resp/request-view.ts';
import { mayBlock } from './blocking-request.ts';
import { wrongArity } from './local-commands.ts';
import type { PendingRequest } from './pending-request.ts';
import type { ProxyContext } from './proxy-context.ts';
import { cannotTellKeys, commonSlot, CROSSSLOT, findRequestKeys, isReadOnly, keySlots, MIXED_SLOTS, requestKeys, SLOT_NOT_SERVED } from './request-keys.ts';
import { Fanout, type MergeParts } from './split/fanout.ts';
import { splitBySlot } from './split/split-by-slot.ts';

const EMPTY = Buffer.alloc(0);

/** What routing a request needs of its client session. */
export interface RoutingHost {
  readonly context: ProxyContext;
  /** Takes a place in the client's reply order for a request to `slot` (-1: none). */
  enqueue(frame: Buffer, slot: number, readOnly: boolean): PendingRequest;
  replyLocal(reply: Buffer): void;
  /** A command that may block: over a connection of the client's own, holding its later requests. */
  sendBlocking(frame: Buffer, slot: number, spec: CommandSpec): void;
  /** A slot of the master this client's keyless traffic sticks to; -1 when there is none. */
  clientsMasterSlot(): number;
}

/**
 * A command with keys: to the master of their slot; split by slot when they span several and the
 * command can be split (MGET, MSET, DEL …); CROSSSLOT when it can't, as a cluster node would say.
 */
export function routeByKeys(host: RoutingHost, spec: CommandSpec, view: RequestView): void {
  const { router, policies } = host.context;
  const complete = findRequestKeys(spec, view);
  if (requestKeys.count === 0) {
    if (!complete) {
      host.replyLocal(cannotTellKeys(spec));
      return;
    }
    // A command that takes a variable number of keys was given none (EVAL "..." 0): any master
    // runs it the same.
    router.dispatchToAnyMaster(host.enqueue(view.frame, -1, isReadOnly(spec)));
    return;
  }
  const slot = commonSlot(view);
  if (slot !== MIXED_SLOTS && (spec.flags & CommandFlags.blocking) !== 0 && mayBlock(spec, view)) {
    host.sendBlocking(view.frame, slot, spec);
    return;
  }
  if (slot === MIXED_SLOTS) {
    const rule = policies.splitRuleOf(spec);
    if (rule === undefined) host.replyLocal(CROSSSLOT);
    // MSET's arity (-3) lets "MSET k1 v1 k2" through; a node would refuse it, so must we before
    // splitting reads a value that is not there.
    else if (requestKeys.indexes[requestKeys.count - 1] + rule.span > view.argc) host.replyLocal(wrongArity(spec.name));
    else splitBySlot(enqueueKeyed(host, EMPTY, -1, spec), view, requestKeys, keySlots, rule, router);
    return;
  }
  router.dispatch(enqueueKeyed(host, view.frame, slot, spec));
}

/** A request routed by its keys: a read may go to a replica when slotgate is set to. */
function enqueueKeyed(host: RoutingHost, frame: Buffer, slot: number, spec: CommandSpec): PendingRequest {
  const readOnly = isReadOnly(spec);
  const request = host.enqueue(frame, slot, readOnly);
  if (readOnly && host.context.readFromReplicas) request.replicaRead = true;
  return request;
}

/** To the master this client's keyless commands stick to (PUBLISH): routed by a slot of that master's, so it follows a failover. */
export function sendToClientsMaster(host: RoutingHost, frame: Buffer, spec: CommandSpec): void {
  const slot = host.clientsMasterSlot();
  if (slot < 0) host.replyLocal(SLOT_NOT_SERVED);
  else host.context.router.dispatch(host.enqueue(frame, slot, isReadOnly(spec)));
}

/**
 * Sends `frame` to every master, each part routed by a slot that master owns, so a part whose
 * master fails over follows it to the new one. The merged reply keeps the request's place in line.
 */
/** `waitsForNode` false: a master that can't answer now gives its error at once (see Fanout). */
export function sendToAllMasters(host: RoutingHost, frame: Buffer, merge: MergeParts, readOnly: boolean, waitsForNode = true): void {
  const { router } = host.context;
  const count = router.masterCount();
  if (count === 0) {
    host.replyLocal(SLOT_NOT_SERVED);
    return;
  }
  const fanout = new Fanout(host.enqueue(EMPTY, -1, readOnly), count, merge, waitsForNode);
  for (let i = 0; i < count; i++) router.dispatch(fanout.part(i, frame, router.slotOfMaster(i)));
}
