import type { RequestView } from '../resp/request-view.ts';
import { BeginSearch, FindKeys, KeyProcs, KeySpecFlags, type CommandSpec, type KeySpec } from './command-spec.ts';

/** A growable list of argument indexes, reused request after request so finding keys allocates nothing. */
export class KeyIndexes {
  indexes: Int32Array = new Int32Array(16);
  count = 0;

  reset(): void {
    this.count = 0;
  }

  push(index: number): void {
    if (this.count === this.indexes.length) this.grow();
    this.indexes[this.count++] = index;
  }

  private grow(): void {
    const indexes = new Int32Array(this.indexes.length * 2);
    indexes.set(this.indexes);
    this.indexes = indexes;
  }
}

/**
 * Appends to `into` the argument index of every key of the request, spec after spec, in order (a
 * key named twice is listed twice). Follows Redis's own reading of key specs (getKeysUsingKeySpecs):
 * a keyword that is absent yields no keys; a request too short for a spec, or with a key count that
 * is not a non-negative integer fitting in the arguments, yields no keys from that spec and still
 * returns true: the request is malformed, and whichever node receives it answers with its own error.
 *
 * Returns false when keys may be missing: a spec of type 'unknown', or an 'incomplete' spec that
 * found nothing. What was found is still in `into`, so the router can choose to refuse or to route
 * by it (a node that does not own every key answers MOVED or CROSSSLOT).
 */
export function findKeys(spec: CommandSpec, view: RequestView, into: KeyIndexes): boolean {
  switch (spec.keyProc) {
    case KeyProcs.sort:
      return findSortKeys(view, into, true);
    case KeyProcs.sortReadOnly:
      return findSortKeys(view, into, false);
    case KeyProcs.migrate:
      return findMigrateKeys(view, into);
  }
  const keySpecs = spec.keySpecs;
  let complete = true;
  for (let s = 0; s < keySpecs.length; s++) {
    const keySpec = keySpecs[s];
    const before = into.count;
    if (!followKeySpec(keySpec, view, into)) complete = false;
    else if ((keySpec.flags & KeySpecFlags.incomplete) !== 0 && into.count === before) complete = false;
  }
  return complete;
}

/** Appends the keys one spec finds; false when the spec cannot be followed at all. */
function followKeySpec(keySpec: KeySpec, view: RequestView, into: KeyIndexes): boolean {
  const argc = view.argc;
  let first: number;
  if (keySpec.beginSearch === BeginSearch.index) {
    first = keySpec.index;
  } else if (keySpec.beginSearch === BeginSearch.keyword) {
    first = afterKeyword(keySpec, view);
    if (first === 0) return true;
  } else {
    return false;
  }
  if (first >= argc) return true;

  let last: number;
  if (keySpec.findKeys === FindKeys.range) {
    if (keySpec.lastKey >= 0) last = first + keySpec.lastKey;
    else if (keySpec.limit <= 1) last = argc + keySpec.lastKey;
    // XREAD STREAMS k1 k2 id1 id2: the keys are the first 1/limit of what remains.
    else last = first + Math.floor((argc - first) / keySpec.limit) + keySpec.lastKey;
  } else if (keySpec.findKeys === FindKeys.keynum) {
    const at = first + keySpec.keyNumIdx;
    if (at >= argc) return true;
    const numKeys = readCount(view, at, argc);
    if (numKeys < 0) return true;
    first += keySpec.firstKey;
    last = first + numKeys - 1;
  } else {
    return false;
  }
  // Redis reads a spec whose range runs past the arguments as a syntax error and takes no key from it.
  if (last >= argc || last < first) return true;
  const step = keySpec.step;
  for (let i = first; i <= last; i += step) into.push(i);
  return true;
}

/**
 * The index just after the spec's keyword, or 0 when absent. Like Redis, a forward search stops
 * before the last argument (a keyword there has no key after it) and a backward one at argument 1.
 */
function afterKeyword(keySpec: KeySpec, view: RequestView): number {
  const argc = view.argc;
  const keyword = keySpec.keyword;
  if (keySpec.startFrom > 0) {
    for (let i = keySpec.startFrom; i < argc - 1; i++) if (view.argEquals(i, keyword)) return i + 1;
  } else {
    for (let i = argc + keySpec.startFrom; i >= 1; i--) if (view.argEquals(i, keyword)) return i + 1;
  }
  return 0;
}

/**
 * Argument `at` as a key count: a non-negative decimal integer in Redis's strict form (no sign, no
 * leading zero, no spaces) and below `argc`. -1 otherwise, so a bad count never loops or overflows.
 */
function readCount(view: RequestView, at: number, argc: number): number {
  const buffer = view.buffer;
  const start = view.starts[at];
  const end = view.ends[at];
  if (start === end || (buffer[start] === 48 && end - start > 1)) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = buffer[i] - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
    if (value >= argc) return -1;
  }
  return value;
}

/**
 * SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dest]:
 * the sorted key and the STORE destination (the last one wins, as in SORT). BY and GET patterns name
 * keys only through the sorted key's content; Redis leaves them out of routing and checks them
 * against the key's slot itself, and so do we.
 */
function findSortKeys(view: RequestView, into: KeyIndexes, store: boolean): boolean {
  const argc = view.argc;
  if (argc < 2) return true;
  into.push(1);
  if (!store) return true;
  let destination = 0;
  for (let i = 2; i < argc; i++) {
    if (view.argEquals(i, 'LIMIT')) i += 2;
    else if (view.argEquals(i, 'BY') || view.argEquals(i, 'GET')) i += 1;
    else if (view.argEquals(i, 'STORE') && i + 1 < argc) destination = ++i;
  }
  if (destination !== 0) into.push(destination);
  return true;
}

/**
 * MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS key ...]:
 * argument 3, or, when it is empty, every argument after KEYS (Redis's migrateGetKeys). A password
 * spelled KEYS is skipped with its AUTH, which is what the key spec alone cannot do.
 */
function findMigrateKeys(view: RequestView, into: KeyIndexes): boolean {
  const argc = view.argc;
  if (argc < 4) return true;
  for (let i = 6; i < argc; i++) {
    if (view.argEquals(i, 'AUTH')) {
      i += 1;
    } else if (view.argEquals(i, 'AUTH2')) {
      i += 2;
    } else if (view.argEquals(i, 'KEYS')) {
      // KEYS with a non-empty key argument is an error Redis reports; it has no keys meanwhile.
      if (view.argLength(3) !== 0) return true;
      for (let k = i + 1; k < argc; k++) into.push(k);
      return true;
    }
  }
  into.push(3);
  return true;
}
