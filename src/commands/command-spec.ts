/**
 * What slotgate knows about one command, as learnt from the backend's `COMMAND` reply: enough to
 * route it by its keys and to apply a policy to it. Plain data, built once at start-up and shared.
 */

/**
 * Command flags as Redis reports them (Redis 6 and 7 names; a few modules' ones too), one bit
 * each. A flag name we do not know is ignored: nothing in slotgate may depend on it.
 */
export const CommandFlags = {
  write: 1 << 0,
  readonly: 1 << 1,
  denyoom: 1 << 2,
  module: 1 << 3,
  admin: 1 << 4,
  pubsub: 1 << 5,
  noscript: 1 << 6,
  random: 1 << 7, // Redis 6 only: 7 turned it into the nondeterministic_output tip
  blocking: 1 << 8,
  loading: 1 << 9,
  stale: 1 << 10,
  skipMonitor: 1 << 11,
  skipSlowlog: 1 << 12,
  asking: 1 << 13,
  fast: 1 << 14,
  noAuth: 1 << 15,
  mayReplicate: 1 << 16,
  sentinel: 1 << 17,
  onlySentinel: 1 << 18,
  noMandatoryKeys: 1 << 19,
  protected: 1 << 20,
  moduleGetkeys: 1 << 21,
  moduleNoCluster: 1 << 22,
  noAsyncLoading: 1 << 23,
  noMulti: 1 << 24,
  movablekeys: 1 << 25,
  allowBusy: 1 << 26,
  sortForScript: 1 << 27, // Redis 6 only
} as const;

/** The wire name of each flag (as in the `COMMAND` reply) to its bit. */
export const COMMAND_FLAG_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['write', CommandFlags.write],
  ['readonly', CommandFlags.readonly],
  ['denyoom', CommandFlags.denyoom],
  ['module', CommandFlags.module],
  ['admin', CommandFlags.admin],
  ['pubsub', CommandFlags.pubsub],
  ['noscript', CommandFlags.noscript],
  ['random', CommandFlags.random],
  ['blocking', CommandFlags.blocking],
  ['loading', CommandFlags.loading],
  ['stale', CommandFlags.stale],
  ['skip_monitor', CommandFlags.skipMonitor],
  ['skip_slowlog', CommandFlags.skipSlowlog],
  ['asking', CommandFlags.asking],
  ['fast', CommandFlags.fast],
  ['no_auth', CommandFlags.noAuth],
  ['may_replicate', CommandFlags.mayReplicate],
  ['sentinel', CommandFlags.sentinel],
  ['only_sentinel', CommandFlags.onlySentinel],
  ['no_mandatory_keys', CommandFlags.noMandatoryKeys],
  ['protected', CommandFlags.protected],
  ['module_getkeys', CommandFlags.moduleGetkeys],
  ['module_no_cluster', CommandFlags.moduleNoCluster],
  ['no_async_loading', CommandFlags.noAsyncLoading],
  ['no_multi', CommandFlags.noMulti],
  ['movablekeys', CommandFlags.movablekeys],
  ['allow_busy', CommandFlags.allowBusy],
  ['sort_for_script', CommandFlags.sortForScript],
]);

/** Key-spec flags (the "flags" of one key specification), one bit each. */
export const KeySpecFlags = {
  RO: 1 << 0,
  RW: 1 << 1,
  OW: 1 << 2,
  RM: 1 << 3,
  access: 1 << 4,
  update: 1 << 5,
  insert: 1 << 6,
  delete: 1 << 7,
  /** Not a key, but routed as one in a cluster (shard channels of SPUBLISH, SSUBSCRIBE). */
  notKey: 1 << 8,
  /** The spec may miss some keys (MIGRATE's KEYS, say); Redis itself falls back to code there. */
  incomplete: 1 << 9,
  variableFlags: 1 << 10,
} as const;

export const KEY_SPEC_FLAG_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['RO', KeySpecFlags.RO],
  ['RW', KeySpecFlags.RW],
  ['OW', KeySpecFlags.OW],
  ['RM', KeySpecFlags.RM],
  ['access', KeySpecFlags.access],
  ['update', KeySpecFlags.update],
  ['insert', KeySpecFlags.insert],
  ['delete', KeySpecFlags.delete],
  ['not_key', KeySpecFlags.notKey],
  ['incomplete', KeySpecFlags.incomplete],
  ['variable_flags', KeySpecFlags.variableFlags],
]);

/** How the first key of a spec is found. */
export const BeginSearch = {
  /** At a fixed argument index. */
  index: 0,
  /** Just after a keyword, searched from `startFrom` (forwards; backwards from the end when negative). */
  keyword: 1,
  /** Cannot be told from the arguments. */
  unknown: 2,
} as const;
export type BeginSearchType = (typeof BeginSearch)[keyof typeof BeginSearch];

/** How the keys following the first one are found. */
export const FindKeys = {
  /** Every `step`-th argument up to `lastKey` (see KeySpec.lastKey). */
  range: 0,
  /** An argument holds the number of keys that follow. */
  keynum: 1,
  unknown: 2,
} as const;
export type FindKeysType = (typeof FindKeys)[keyof typeof FindKeys];

/**
 * One key specification, flattened: only the fields of its begin-search and find-keys types are
 * meaningful, the others are 0 / ''. Flat so findKeys reads plain number fields of one shape.
 */
export interface KeySpec {
  beginSearch: BeginSearchType;
  /** BeginSearch.index: the argument index of the first key (the command name is 0). */
  index: number;
  /** BeginSearch.keyword: the keyword, upper-case (compared with RequestView.argEquals). */
  keyword: string;
  /** BeginSearch.keyword: where the search starts; negative counts from the end (-1 = last argument). */
  startFrom: number;
  findKeys: FindKeysType;
  /**
   * FindKeys.range: the last key, relative to the first key when >= 0; when negative, relative to
   * the end of the arguments (-1 = last), or, if `limit` > 1, -1 means "the first 1/limit of the
   * remaining arguments" (XREAD STREAMS k1 k2 id1 id2).
   */
  lastKey: number;
  /** FindKeys.range / keynum: distance between keys (2 for MSET's k v k v). Always >= 1. */
  step: number;
  /** FindKeys.range: see lastKey; 0 or 1 means no limit. */
  limit: number;
  /** FindKeys.keynum: index of the key count, relative to the position begin search found. */
  keyNumIdx: number;
  /** FindKeys.keynum: index of the first key, relative to the begin-search position. */
  firstKey: number;
  /** KeySpecFlags bits. */
  flags: number;
  /** True when the command may modify or delete these keys (RW, OW or RM). */
  writes: boolean;
}

/**
 * Key-finding code of our own for the few commands whose key specs do not give the keys (Redis
 * routes these with hand-written code too): SORT's STORE keyword may be anywhere, and MIGRATE's
 * key is either argument 3 or, when that is empty, the arguments after KEYS.
 */
export const KeyProcs = {
  /** Follow the key specs. */
  specs: 0,
  /** SORT: argument 1 and the STORE destination. */
  sort: 1,
  /** SORT_RO: argument 1. */
  sortReadOnly: 2,
  migrate: 3,
} as const;
export type KeyProc = (typeof KeyProcs)[keyof typeof KeyProcs];

export const KEY_PROC_BY_NAME: ReadonlyMap<string, KeyProc> = new Map<string, KeyProc>([
  ['sort', KeyProcs.sort],
  ['sort_ro', KeyProcs.sortReadOnly],
  ['migrate', KeyProcs.migrate],
]);

export interface CommandSpec {
  /** Lower-case; a subcommand is 'container|sub', e.g. 'object|encoding'. */
  name: string;
  /** Redis's convention: positive = exact argc including the name, negative = minimum argc. */
  arity: number;
  /** CommandFlags bits. */
  flags: number;
  /** In order; the router takes keys from all of them. Empty for commands without keys. */
  keySpecs: KeySpec[];
  /** KeyProcs.specs unless the command needs key-finding code of our own. */
  keyProc: KeyProc;
  /** True when a request may name keys (some spec or a key proc), so it must be routed by them. */
  hasKeys: boolean;
  /**
   * True when the keys can always be found from the request alone: no 'unknown' or incomplete key
   * spec, or a key proc that covers them. When false, findKeys may return false for some requests.
   */
  keysAlwaysKnown: boolean;
  /** Lower-case subcommand name ('encoding', not 'object|encoding') to spec; null if none. */
  subcommands: Map<string, CommandSpec> | null;
  /** The container of a subcommand; null for a top-level command. */
  parent: CommandSpec | null;
  /** ACL categories, e.g. '@read', '@string'. */
  aclCategories: string[];
  /** Command tips, e.g. 'nondeterministic_output', 'request_policy:all_shards'. */
  tips: string[];
  /** From the 'request_policy:' tip ('all_shards', 'all_nodes', 'multi_shard', 'special'), or ''. */
  requestPolicy: string;
  /** From the 'response_policy:' tip ('agg_sum', 'all_succeeded', ...), or ''. */
  responsePolicy: string;
  /** Legacy key positions (first, last, step), kept for diagnostics: the key specs supersede them. */
  firstKey: number;
  lastKey: number;
  step: number;
  /**
   * Dense id, unique in its CommandTable (subcommands included), for typed-array metrics indexed by
   * command. -1 until the spec is placed in a table.
   */
  id: number;
}

/** True when `spec` has every bit of `flag` (a CommandFlags value). */
export function hasFlag(spec: CommandSpec, flag: number): boolean {
  return (spec.flags & flag) === flag;
}
