import type { CommandSpec } from '../commands/command-spec.ts';
import type { CommandTable } from '../commands/command-table.ts';
import type { MergeParts } from './split/fanout.ts';
import { allSucceeded, concatArrays, distinctElements, maxInteger, minInteger, minOfIntegerArrays, newestSlowlogEntries, randomNonNull, sumCountsByChannel, sumIntegers } from './split/merge-replies.ts';
import { SPLIT_RULES, type SplitRule } from './split/split-by-slot.ts';

/** What the proxy does with a command, decided once per command at start-up. */
export const Policy = {
  /** Route by the slot of its keys. */
  byKeys: 0,
  /** Answered by slotgate itself (local-commands.ts). */
  local: 1,
  /** Keyless, and any master gives the right answer. */
  anyMaster: 2,
  /** Refused with a reason (see refusalOf). */
  refuse: 3,
  /** Sent to every master, replies merged (see mergeOf). */
  allMasters: 4,
  /** SCAN across all masters with a combined cursor. */
  scan: 5,
  /** INFO: every master's, merged with a section of our own. */
  info: 6,
  /** MULTI, EXEC, DISCARD: the session gathers the transaction (transaction.ts). */
  transaction: 7,
  /** SUBSCRIBE and friends, over the client's own connection to a master (pubsub-tunnel.ts). */
  subscribe: 8,
  /**
   * Keyless, and always to the same master for a given client: PUBLISH. The cluster carries each
   * message to every node from the node it was published on, so a client's messages reach every
   * subscriber in the order it published them only if they all start from one node.
   */
  clientsMaster: 9,
  /** WATCH and UNWATCH: over the client's own connection to the watched slot's master (watch.ts). */
  watch: 10,
  /** SSUBSCRIBE and SUNSUBSCRIBE, over the client's own connections to their slots' masters (sharded-subscriptions.ts). */
  shardedSubscribe: 11,
} as const;
export type PolicyKind = (typeof Policy)[keyof typeof Policy];

/** Handled in local-commands.ts. A container name covers the subcommands not listed on their own. */
const LOCAL = ['ping', 'echo', 'quit', 'select', 'client', 'hello', 'auth', 'role', 'acl|whoami', 'monitor', 'reset'];

/**
 * Cluster-wide commands: every master must run them (FLUSHALL, SCRIPT LOAD) or hold part of the
 * answer (DBSIZE, KEYS). Redis marks most of these with request_policy:all_shards/all_nodes tips;
 * the merge for each is chosen here, explicitly.
 */
const ALL_MASTERS = new Map<string, MergeParts>([
  ['dbsize', sumIntegers],
  ['keys', concatArrays],
  ['flushall', allSucceeded],
  ['flushdb', allSucceeded],
  ['lastsave', minInteger],
  ['randomkey', randomNonNull],
  ['script|load', allSucceeded],
  ['script|exists', minOfIntegerArrays],
  ['script|flush', allSucceeded],
  ['function|load', allSucceeded],
  ['function|delete', allSucceeded],
  ['function|flush', allSucceeded],
  ['function|restore', allSucceeded],
  // slotgate spreads its clients' SUBSCRIBE tunnels over the masters, and a sharded channel's
  // subscribers are on the master of its slot: each master knows only its own.
  ['pubsub|channels', distinctElements],
  ['pubsub|numsub', sumCountsByChannel],
  ['pubsub|numpat', maxInteger],
  ['pubsub|shardchannels', concatArrays],
  ['pubsub|shardnumsub', sumCountsByChannel],
  // Diagnostics an operator reads from the cluster as if from one Redis.
  ['slowlog|get', newestSlowlogEntries],
  ['slowlog|len', sumIntegers],
  ['slowlog|reset', allSucceeded],
  ['latency|latest', concatArrays],
  ['latency|reset', sumIntegers],
]);

/** Keyless commands whose answer does not depend on which master gives it. */
const ANY_MASTER = [
  'command', // the command table: the same on every node
  'config|get', // redis-benchmark and redis-cli read a few values at start
  'lolwut',
  'time',
  'function|list',
  'function|dump',
  'function|stats',
  'memory|doctor',
  'memory|malloc-stats',
  'memory|stats',
];

const SUBSCRIBE = ['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe'];
const SHARDED_SUBSCRIBE = ['ssubscribe', 'sunsubscribe'];

export const NOT_YET = 'is not supported by slotgate yet';

/**
 * Commands that would misbehave on a shared, pipelined connection or on one random node. Each gets
 * a clear error rather than a wrong answer.
 */
const REFUSED = new Map<string, string>([
  ['wait', 'WAIT would block a connection shared with other clients; slotgate does not support it'],
  ['script|kill', 'it would act on one random node; send it to the node itself'],
  ['function|kill', 'it would act on one random node; send it to the node itself'],
  ['sync', 'replication commands are not available through a proxy'],
  ['psync', 'replication commands are not available through a proxy'],
  ['replconf', 'replication commands are not available through a proxy'],
  ['replicaof', 'it would act on one random node; send it to the node itself'],
  ['slaveof', 'it would act on one random node; send it to the node itself'],
  ['shutdown', 'it would act on one random node; send it to the node itself'],
  ['debug', 'it would act on one random node; send it to the node itself'],
  ['failover', 'it would act on one random node; send it to the node itself'],
  ['config', 'only CONFIG GET is available through slotgate'],
  ['cluster', `CLUSTER ${NOT_YET}`],
]);

/**
 * The policy of every command in a table, in an array indexed by CommandSpec.id, so the hot path
 * pays one typed-array read per request.
 */
export class CommandPolicies {
  private readonly kinds: Uint8Array;
  private readonly reasons = new Map<number, string>();
  private readonly merges = new Map<number, MergeParts>();
  private readonly splits = new Map<number, SplitRule>();

  constructor(table: CommandTable) {
    const specs = table.allSpecs();
    let size = 0;
    for (const spec of specs) size = Math.max(size, spec.id + 1);
    this.kinds = new Uint8Array(size);
    for (const spec of specs) this.kinds[spec.id] = this.decide(spec);
  }

  kindOf(spec: CommandSpec): PolicyKind {
    return this.kinds[spec.id] as PolicyKind;
  }

  /** How the replies of an allMasters command are merged. */
  mergeOf(spec: CommandSpec): MergeParts {
    return this.merges.get(spec.id) as MergeParts;
  }

  /** How a multi-key command whose keys span slots is split, or undefined: CROSSSLOT. */
  splitRuleOf(spec: CommandSpec): SplitRule | undefined {
    return this.splits.get(spec.id);
  }

  /** Why `spec` is refused, as the text after "ERR ". */
  refusalOf(spec: CommandSpec): string {
    return this.reasons.get(spec.id) ?? `'${spec.name}' ${NOT_YET}`;
  }

  private decide(spec: CommandSpec): PolicyKind {
    const container = spec.parent?.name ?? spec.name;
    const split = SPLIT_RULES.get(spec.name);
    if (split !== undefined) this.splits.set(spec.id, split);
    if (spec.name === 'scan') return Policy.scan;
    if (spec.name === 'multi' || spec.name === 'exec' || spec.name === 'discard') return Policy.transaction;
    if (spec.name === 'info') return Policy.info;
    if (spec.name === 'watch' || spec.name === 'unwatch') return Policy.watch;
    const merge = ALL_MASTERS.get(spec.name);
    if (merge !== undefined) {
      this.merges.set(spec.id, merge);
      return Policy.allMasters;
    }
    if (LOCAL.includes(spec.name) || LOCAL.includes(container)) return Policy.local;
    if (spec.name === 'publish') return Policy.clientsMaster;
    if (ANY_MASTER.includes(spec.name) || ANY_MASTER.includes(container)) return Policy.anyMaster;
    const refusal = REFUSED.get(spec.name) ?? REFUSED.get(container);
    if (refusal !== undefined) return this.refuse(spec, refusal);
    if (SUBSCRIBE.includes(spec.name)) return Policy.subscribe;
    if (SHARDED_SUBSCRIBE.includes(spec.name)) return Policy.shardedSubscribe;

    if (!spec.hasKeys) {
      return this.refuse(spec, `'${spec.name.toUpperCase().replace('|', ' ')}' has no key to route by and ${NOT_YET}`);
    }
    return Policy.byKeys;
  }

  private refuse(spec: CommandSpec, reason: string): PolicyKind {
    this.reasons.set(spec.id, `slotgate: ${reason}`);
    return Policy.refuse;
  }
}
