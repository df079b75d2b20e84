import type { CommandSpec } from '../commands/command-spec.ts';
import type { CommandTable } from '../commands/command-table.ts';
import { encodeError, OK_REPLY } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';
import { BlockingRequest, type DedicatedConnections } from './blocking-request.ts';
import type { CommandPolicies, PolicyKind } from './command-policy.ts';
import type { PendingRequest } from './pending-request.ts';
import { cannotTellKeys, commonSlot, CROSSSLOT, findRequestKeys, MIXED_SLOTS, SLOT_NOT_SERVED } from './request-keys.ts';
import type { Router } from './router.ts';
import { EXECABORT, QUEUED_REPLY, Transaction, TransactionRequest } from './transaction.ts';
import type { UserPermissions } from './user-permissions.ts';
import { Watch, WATCH_LOST, WatchedExec } from './watch.ts';

const EMPTY = Buffer.alloc(0);
const EMPTY_ARRAY = Buffer.from('*0\r\n');

/** What SessionTransactions needs of its client session. */
export interface TransactionHost {
  readonly router: Router;
  readonly policies: CommandPolicies;
  readonly table: CommandTable;
  /** The client's user's restrictions now (null: none); a reload may change them between MULTI and EXEC. */
  readonly permissions: UserPermissions | null;
  /** The request size limits a queued command is held to. */
  readonly limits: { protoMaxBulkLen: number; maxMultibulkLength: number };
  replyLocal(reply: Buffer): void;
  enqueue(frame: Buffer, slot: number, readOnly: boolean): PendingRequest;
  /** The client's own connections to nodes (WATCH lives on one). */
  dedicatedConnections(): DedicatedConnections;
  /** Runs `send` once the replies owed ahead of `target` are in; reads no further request until unblock(). */
  sendWhenFirst(target: PendingRequest, send: () => void): void;
  unblock(): void;
}

/**
 * A client session's MULTI … EXEC and WATCH state. A transaction is queued and checked here, then
 * sent as one MULTI…EXEC frame (transaction.ts); WATCHes go over the client's own connection to
 * the watched slot's master, and a watched EXEC over that same connection (watch.ts). Kept apart
 * from ClientSession, which holds one only once the client has used MULTI or WATCH.
 */
export class SessionTransactions {
  private readonly host: TransactionHost;
  private transaction: Transaction | null = null;
  private watch: Watch | null = null;

  constructor(host: TransactionHost) {
    this.host = host;
  }

  /** The transaction being queued, between MULTI and EXEC/DISCARD; null otherwise. */
  get current(): Transaction | null {
    return this.transaction;
  }

  /** RESET: the transaction discarded, the watches dropped. */
  reset(): void {
    this.transaction = null;
    const watch = this.watch;
    if (watch === null) return;
    this.watch = null;
    watch.unwatch(this.host.dedicatedConnections());
  }

  /** Between MULTI and EXEC/DISCARD: commands are queued, not run. */
  get queuing(): boolean {
    return this.transaction !== null;
  }

  /** Queues a command of an open transaction; returns its reply (QUEUED or an error). */
  queue(spec: CommandSpec, view: RequestView, kind: PolicyKind): Buffer {
    return (this.transaction as Transaction).queue(spec, view, kind, this.host.policies, this.host.limits) ?? QUEUED_REPLY;
  }

  /** An error reply for a refused command; inside MULTI it also dooms the transaction. */
  refuse(reply: Buffer): Buffer {
    return this.transaction === null ? reply : this.transaction.refuse(reply);
  }

  /** The client's connections of its own were dropped (a protocol switch): a WATCH there is gone. */
  onOwnConnectionsDropped(): void {
    if (this.watch !== null) this.watch.lost = true;
  }

  /** The client's own connection to `address` was lost. */
  onOwnConnectionLost(address: string): void {
    if (this.watch?.address === address) this.watch.lost = true;
  }

  /** MULTI, EXEC and DISCARD. */
  transactionCommand(spec: CommandSpec): void {
    const host = this.host;
    const transaction = this.transaction;
    if (spec.name === 'multi') {
      if (transaction !== null) host.replyLocal(encodeError('ERR MULTI calls can not be nested'));
      else {
        this.transaction = new Transaction(this.watch?.slot ?? -1, host.permissions);
        host.replyLocal(OK_REPLY);
      }
      return;
    }
    if (transaction === null) {
      host.replyLocal(encodeError(`ERR ${spec.name.toUpperCase()} without MULTI`));
      return;
    }
    this.transaction = null;
    if (this.watch !== null) this.endWatchedTransaction(spec, transaction, this.watch);
    else if (spec.name === 'discard') host.replyLocal(OK_REPLY);
    else if (transaction.dirty) host.replyLocal(EXECABORT);
    else if (transaction.frames.length === 0) host.replyLocal(EMPTY_ARRAY);
    else {
      transaction.recheck(host.permissions, host.table);
      new TransactionRequest(host.enqueue(EMPTY, transaction.slot, transaction.readOnly), transaction).dispatch();
    }
  }

  /**
   * WATCH and UNWATCH (outside MULTI). WATCH goes over the client's own connection to the slot's
   * master, every WATCH of the client to the same one, and its later requests wait for the reply:
   * a read after WATCH must not run before the watch is in place.
   */
  watchCommand(spec: CommandSpec, view: RequestView): void {
    const host = this.host;
    const watch = this.watch;
    if (spec.name === 'unwatch') {
      if (watch !== null) {
        this.watch = null;
        watch.unwatch(host.dedicatedConnections());
      }
      host.replyLocal(OK_REPLY);
      return;
    }
    if (!findRequestKeys(spec, view)) {
      host.replyLocal(cannotTellKeys(spec));
      return;
    }
    const slot = commonSlot(view);
    if (slot === MIXED_SLOTS || (watch !== null && watch.slot !== slot)) {
      host.replyLocal(CROSSSLOT);
      return;
    }
    const address = watch?.address ?? host.router.ownerOf(slot);
    if (address === null) {
      host.replyLocal(SLOT_NOT_SERVED);
      return;
    }
    const target = host.enqueue(view.frame, slot, true);
    const watching = new BlockingRequest(target, view.frame, host.dedicatedConnections(), (reply, from) => this.onWatchReply(slot, reply, from));
    // After the client's earlier requests: one of them may be its own write of the key.
    host.sendWhenFirst(target, () => watching.send(address));
  }

  /** Before unblock(), which may go straight on to the client's next requests. */
  private onWatchReply(slot: number, reply: Buffer, from: string | null): void {
    // Refused, or the connection failed (which marks a watch already there lost): nothing new to hold.
    if (from !== null && reply[0] === 43 /* + */) {
      if (this.watch === null) this.watch = new Watch(slot, from);
      // It followed a MOVED to another node than the earlier watches': EXEC can't check both.
      else if (this.watch.address !== from) this.watch.lost = true;
    }
    this.host.unblock();
  }

  /**
   * EXEC or DISCARD of a watching client: either ends the watch. EXEC goes over the connection that
   * holds it, once the client's earlier requests are done (one of them may write a watched key), and
   * the client's later ones wait for it, as they would behind EXEC on one connection to Redis.
   */
  private endWatchedTransaction(spec: CommandSpec, transaction: Transaction, watch: Watch): void {
    const host = this.host;
    this.watch = null;
    const connections = host.dedicatedConnections();
    if (spec.name === 'discard' || transaction.dirty) {
      watch.unwatch(connections);
      host.replyLocal(spec.name === 'discard' ? OK_REPLY : EXECABORT);
      return;
    }
    if (watch.lost) {
      host.replyLocal(WATCH_LOST);
      return;
    }
    transaction.recheck(host.permissions, host.table);
    const target = host.enqueue(EMPTY, watch.slot, transaction.readOnly);
    const exec = new WatchedExec(target, transaction, connections.get(watch.address), () => host.unblock());
    host.sendWhenFirst(target, () => exec.send());
  }
}
