import { CommandFlags, type CommandSpec } from '../commands/command-spec.ts';
import { encodeError } from '../resp/encode.ts';
import type { RequestView } from '../resp/request-view.ts';
import { Policy, type PolicyKind } from './command-policy.ts';
import type { Monitor } from './monitor-feed.ts';
import { monitorArgs } from './monitor-line.ts';
import type { ProxyContext } from './proxy-context.ts';
import type { Transaction } from './transaction.ts';

/**
 * What a session made of a request, for MONITOR: run (or sent on), queued in MULTI, refused, or
 * deferred: it runs once the replies owed ahead of it are in (HELLO, RESET), and is shown then.
 */
export const Outcome = { ran: 0, queued: 1, refused: 2, deferred: 3 } as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** Commands a client in MONITOR mode may not send, as in Redis, which flags it a replica. */
const KEYSPACE_FLAGS = CommandFlags.readonly | CommandFlags.write | CommandFlags.mayReplicate;
const REPLICA_KEYSPACE = encodeError("ERR Replica can't interact with the keyspace");

/** What showing a request to the monitors needs of the client session that got it. */
export interface MonitoredSession {
  readonly context: ProxyContext;
  /** This client is in MONITOR mode itself. */
  readonly monitoring: boolean;
  /** How MONITOR shows this client: `ip:port`, or `unix:<path>` as Redis shows a Unix-socket client. */
  readonly monitorName: string;
  /** The MULTI being queued, or null. */
  readonly transactionBeingQueued: Transaction | null;
  /** Carries out a request that passed the session's checks. */
  dispatch(spec: CommandSpec, kind: PolicyKind, view: RequestView): Outcome;
  /** Answers an error for a refused command (inside MULTI, dooming it). */
  refuse(reply: Buffer): void;
  /** Shows `args` to the monitors once the deferred command they belong to runs. */
  showWhenRun(args: Buffer): void;
}

/**
 * A request while some client of this process monitors, carried out and shown as Redis 7.0 shows
 * it: not when refused (slotgate's refusals included) or admin (CONFIG, CLIENT LIST, MONITOR …), nor
 * QUIT; inside MULTI, at EXEC, just ahead of EXEC's own line, unless the transaction was doomed. The
 * line goes out after the command is handled, so a monitor's own command comes after its reply.
 */
export function runMonitored(session: MonitoredSession, spec: CommandSpec, kind: PolicyKind, view: RequestView): void {
  if (session.monitoring) {
    // Redis marks a monitor a replica: the keyspace is out of bounds, and MONITOR again is ignored unanswered.
    if (spec.name === 'monitor') return;
    if ((spec.flags & KEYSPACE_FLAGS) !== 0) {
      session.refuse(REPLICA_KEYSPACE);
      return;
    }
  }
  // Formatted before the command runs: handling it may parse the client's next request into the same view.
  const args = (spec.flags & CommandFlags.admin) === 0 && spec.name !== 'quit' && kind !== Policy.refuse ? monitorArgs(view, spec.name) : null;
  const transaction = session.transactionBeingQueued;
  const outcome = session.dispatch(spec, kind, view);
  if (args === null || outcome === Outcome.refused) return;
  if (outcome === Outcome.queued) {
    transaction?.monitorLines.push(args);
    return;
  }
  if (outcome === Outcome.deferred) {
    session.showWhenRun(args);
    return;
  }
  const monitors = session.context.monitors;
  if (spec.name === 'exec' && transaction !== null && !transaction.dirty) {
    transaction.monitorLines.push(args);
    monitors.publish(session.monitorName, transaction.monitorLines);
  } else {
    monitors.publish(session.monitorName, args);
  }
}

/** What a SessionMonitor needs of its client session. */
export interface MonitorHost {
  /** Output no request asked for, in line behind the replies owed, bounded (SessionOutput.sendUnasked). */
  sendUnasked(bytes: Buffer, what: string): void;
}

/**
 * A client session in MONITOR mode: what it is sent, in line behind the replies it is owed. Bounded
 * like those: once written, by maxClientOutputBytes on the socket (the session's flush closes a
 * client past it); held behind a reply still owed, by the same limit (sendUnasked).
 */
export class SessionMonitor implements Monitor {
  private readonly host: MonitorHost;
  /** Out of MONITOR mode (RESET) or closing: lines still coming are dropped. */
  stopped = false;

  constructor(host: MonitorHost) {
    this.host = host;
  }

  onMonitorLine(line: Buffer): void {
    if (!this.stopped) this.host.sendUnasked(line, 'MONITOR lines');
  }
}
