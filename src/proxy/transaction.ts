import type { CommandSpec } from '../commands/command-spec.ts';
import type { CommandTable } from '../commands/command-table.ts';
import { encodeArray, encodeCommand, encodeError } from '../resp/encode.ts';
import { RequestParser } from '../resp/request-parser.ts';
import { arrayElements } from '../resp/reply-reader.ts';
import type { RequestView } from '../resp/request-view.ts';
import { NOPERM_KEYS, type UserPermissions } from './user-permissions.ts';
import { Policy, type CommandPolicies, type PolicyKind } from './command-policy.ts';
import { inDoubt, type PendingRequest } from './pending-request.ts';
import { cannotTellKeys, commonSlot, CROSSSLOT, findRequestKeys, isReadOnly, MIXED_SLOTS, requestKeys } from './request-keys.ts';
import type { RoutedRequest } from './routed-request.ts';
import { WATCH_INSIDE_MULTI } from './watch.ts';

const MULTI = encodeCommand(['MULTI']);
const EXEC = encodeCommand(['EXEC']);
export const QUEUED_REPLY = Buffer.from('+QUEUED\r\n');
export const EXECABORT = encodeError('EXECABORT Transaction discarded because of previous errors.');

/**
 * A client's MULTI … EXEC, gathered by slotgate. Commands are checked and answered +QUEUED here,
 * as Redis would; at EXEC the whole transaction goes to the master of its slot as one frame,
 * MULTI + commands + EXEC. Frames on one connection are written in order and nothing is written
 * between the pieces of one frame, so other clients sharing the connection can't slip a command
 * into the transaction. Like Redis Cluster, every key must be in one slot.
 *
 * A watching client's transaction is held to the watched slot, and its frame goes over the
 * connection holding the watches instead (watch.ts).
 */
export class Transaction {
  readonly frames: Buffer[] = [];
  bytes = 0;
  /** Slot of its keys, -1 while it has none. */
  slot: number;
  readOnly = true;
  /** A command was refused while queueing: EXEC will answer EXECABORT, as Redis does. */
  dirty = false;
  /** While a client monitors: the queued commands' MONITOR arguments, shown at EXEC as Redis shows them when they run. */
  readonly monitorLines: Buffer[] = [];
  /** The client's permissions at MULTI, when its commands began to be queued (see recheck). */
  readonly permissions: UserPermissions | null;
  /** Commands a reload has denied since they were queued, by their place, with the error EXEC gives in it. */
  private denied: Map<number, Buffer> | null = null;

  /** `slot`: the slot the client watches, whose keys alone the transaction may use; -1 when it watches none. */
  constructor(slot = -1, permissions: UserPermissions | null = null) {
    this.slot = slot;
    this.permissions = permissions;
  }

  /**
   * Queues a command given between MULTI and EXEC after checking it as Redis Cluster would at queue
   * time (one slot for the whole transaction). Returns the error to answer instead of +QUEUED, in
   * which case the transaction is doomed: EXEC will answer EXECABORT.
   */
  queue(spec: CommandSpec, view: RequestView, kind: PolicyKind, policies: CommandPolicies, limits: { protoMaxBulkLen: number; maxMultibulkLength: number }): Buffer | null {
    // As in Redis, an error that leaves the transaction standing.
    if (spec.name === 'watch') return WATCH_INSIDE_MULTI;
    const refusal = this.check(spec, view, kind, policies);
    if (refusal !== null) return this.refuse(refusal);
    if (this.bytes + view.frame.length > limits.protoMaxBulkLen || this.frames.length >= limits.maxMultibulkLength) {
      return this.refuse(encodeError('ERR slotgate: transaction too large'));
    }
    // A copy: the frame is a view into the read that brought it, which may be 64 KiB of other
    // requests, and a client may hold MULTI open as long as it likes.
    this.frames.push(Buffer.from(view.frame));
    this.bytes += view.frame.length;
    if (!isReadOnly(spec)) this.readOnly = false;
    return null;
  }

  /** Marks the transaction doomed and passes `error` on. */
  refuse(error: Buffer): Buffer {
    this.dirty = true;
    return error;
  }

  private check(spec: CommandSpec, view: RequestView, kind: PolicyKind, policies: CommandPolicies): Buffer | null {
    if (kind === Policy.byKeys) {
      if (!findRequestKeys(spec, view)) return cannotTellKeys(spec);
      if (requestKeys.count === 0) return null;
      const slot = commonSlot(view);
      if (slot === MIXED_SLOTS || (this.slot >= 0 && this.slot !== slot)) return CROSSSLOT;
      this.slot = slot;
      return null;
    }
    if (kind === Policy.refuse) return encodeError(`ERR ${policies.refusalOf(spec)}`);
    // Keyless commands any master runs the same are fine; PING and ECHO run inside the transaction.
    // UNWATCH too: it runs at EXEC, which ends the watches anyway.
    if (kind === Policy.anyMaster || kind === Policy.clientsMaster || spec.name === 'ping' || spec.name === 'echo' || spec.name === 'unwatch') return null;
    return encodeError(`ERR slotgate: '${spec.name}' is not supported inside MULTI`);
  }

  /**
   * At EXEC, with the client's permissions now: if a reload changed them since the commands were
   * queued, each is checked again, and one now denied is not sent; EXEC's reply carries Redis 7.0's
   * NOPERM in its place, and the others run, as Redis does for ACL rules changed meanwhile.
   */
  recheck(current: UserPermissions | null, table: CommandTable): void {
    if (current === this.permissions || current === null) return;
    const denied = new Map<number, Buffer>();
    let index = 0;
    const parser = new RequestParser(
      {
        onRequest: (view) => {
          const spec = table.lookup(view);
          const refusal = spec === undefined ? null : current.check(spec, view);
          if (refusal !== null) denied.set(index, permissionsChanged(refusal === NOPERM_KEYS ? 'no permission to touch the specified keys' : 'no permission to execute the command or subcommand'));
        },
        // The frames were parsed once already.
        onProtocolError: () => {},
      },
      { protoMaxBulkLen: Number.MAX_SAFE_INTEGER, maxMultibulkLength: Number.MAX_SAFE_INTEGER },
    );
    for (; index < this.frames.length; index++) parser.feed(this.frames[index]);
    this.denied = denied.size === 0 ? null : denied;
  }

  /** Replies the frame gets: MULTI's, one per command sent, EXEC's. */
  get replyCount(): number {
    return this.frames.length - (this.denied?.size ?? 0) + 2;
  }

  /** MULTI, the commands (less those a reload denied) and EXEC, in one buffer. */
  frame(): Buffer {
    const denied = this.denied;
    if (denied === null) return Buffer.concat([MULTI, ...this.frames, EXEC], MULTI.length + this.bytes + EXEC.length);
    return Buffer.concat([MULTI, ...this.frames.filter((_, index) => !denied.has(index)), EXEC]);
  }

  /** EXEC's reply for the client: with the NOPERM of each command a reload denied put in its place. */
  execReply(reply: Buffer): Buffer {
    const denied = this.denied;
    if (denied === null) return reply;
    const results = arrayElements(reply);
    // Nil (a watched key changed) or an error: nothing ran.
    if (results === null) return reply;
    const out: Buffer[] = [];
    for (let index = 0, sent = 0; index < this.frames.length; index++) out.push(denied.get(index) ?? results[sent++]);
    return encodeArray(out);
  }
}

/** Redis 7.0's words (multi.c) for a queued command that ACL rules changed since denies. */
function permissionsChanged(reason: string): Buffer {
  return encodeError(
    `NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ${reason}`,
  );
}

/**
 * The transaction on its way: one frame, `commands + 2` replies (MULTI's +OK, a +QUEUED or an error
 * per command, EXEC's result). Only EXEC's reply goes to the client. When a queued command got a
 * redirect or TRYAGAIN, Redis aborted the transaction without running any of it, so it is safe to
 * send the whole of it again: after a MOVED to the new owner, otherwise once the cluster settles.
 */
export class TransactionRequest implements RoutedRequest {
  readonly frame: Buffer;
  readonly slot: number;
  readonly affinity: number;
  readonly readOnly: boolean;
  readonly replyCount: number;
  readonly replicaRead = false;
  readonly resp3: boolean;
  redirects = 0;
  parkedAt = 0;
  private readonly target: PendingRequest;
  /**
   * Callbacks received over all attempts. Every attempt gets exactly replyCount of them (replies or
   * failures), so an attempt ends when this is a multiple of replyCount.
   */
  private received = 0;
  private clusterError: Buffer | null = null;
  private failure: string | null = null;
  private failureWritten = false;
  private readonly transaction: Transaction;

  constructor(target: PendingRequest, transaction: Transaction) {
    this.target = target;
    this.frame = transaction.frame();
    this.slot = transaction.slot;
    this.affinity = target.affinity;
    this.resp3 = target.resp3;
    this.readOnly = transaction.readOnly;
    this.replyCount = transaction.replyCount;
    this.transaction = transaction;
  }

  /** Sends it the first time; retries come back through the router. */
  dispatch(): void {
    const router = this.target.session.router;
    if (this.slot >= 0) router.dispatch(this);
    else router.dispatchToAnyMaster(this);
  }

  onReply(reply: Buffer, from: string): void {
    if (!this.endOfAttempt()) {
      // MULTI's +OK or a command's +QUEUED; keep the first error that is about the cluster.
      if (reply[0] === 45 && this.clusterError === null && isClusterError(reply)) this.clusterError = reply;
      return;
    }
    const clusterError = this.clusterError;
    this.clusterError = null;
    if (this.failure !== null) {
      this.settleFailure();
      return;
    }
    if (clusterError !== null && reply.toString('latin1', 0, 10) === '-EXECABORT') {
      const router = this.target.session.router;
      if (clusterError.toString('latin1', 0, 6) === '-MOVED' && router.onClusterError(this, clusterError, from)) return;
      // ASK would need ASKING before every command; TRYAGAIN and CLUSTERDOWN pass. Wait and resend.
      router.retryLater(this, clusterError.toString('latin1', 1, clusterError.length - 2));
      return;
    }
    this.target.complete(this.transaction.execReply(reply));
  }

  onFailure(message: string, written: boolean): void {
    this.failure ??= message;
    if (written) this.failureWritten = true;
    if (this.endOfAttempt()) this.settleFailure();
  }

  private endOfAttempt(): boolean {
    return ++this.received % this.replyCount === 0;
  }

  /** The attempt failed: send again if nothing can have run, else tell the client. */
  private settleFailure(): void {
    const message = this.failure as string;
    const written = this.failureWritten;
    this.failure = null;
    this.failureWritten = false;
    this.clusterError = null;
    if (written && !this.readOnly) this.target.complete(inDoubt(this.target, message));
    else this.target.session.router.retryLater(this, message);
  }

  complete(reply: Buffer): void {
    this.target.complete(reply);
  }
}

function isClusterError(reply: Buffer): boolean {
  const head = reply.toString('latin1', 0, 12);
  return head.startsWith('-MOVED') || head.startsWith('-ASK') || head.startsWith('-TRYAGAIN') || head.startsWith('-CLUSTERDOWN');
}
