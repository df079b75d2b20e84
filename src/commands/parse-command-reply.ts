import {
  BeginSearch,
  COMMAND_FLAG_BY_NAME,
  CommandFlags,
  FindKeys,
  KEY_PROC_BY_NAME,
  KEY_SPEC_FLAG_BY_NAME,
  KeyProcs,
  KeySpecFlags,
  type CommandSpec,
  type KeySpec,
} from './command-spec.ts';

/**
 * Turns the reply of `COMMAND` (or `COMMAND INFO ...`), as ioredis returns it, into specs.
 *
 * Each entry is [name, arity, flags, first key, last key, step, ACL categories, tips, key specs,
 * subcommands]; Redis 6 stops after the ACL categories (5 after the step). Key-spec maps arrive as
 * flat [k, v, k, v] arrays (RESP2, or RESP3 with ioredis's default 'legacy' mapping), but plain
 * objects and Maps are accepted too, as are Buffers for strings and strings for integers.
 *
 * An entry that cannot be read is skipped and a key spec that cannot be read becomes an 'unknown'
 * one; either way a line is appended to `warnings`. Only a reply that is not a list at all throws.
 */
export function parseCommandReply(reply: unknown, warnings: string[] = []): CommandSpec[] {
  const entries = asList(reply);
  if (entries === null) throw new TypeError('the COMMAND reply is not an array');
  const specs: CommandSpec[] = [];
  for (let i = 0; i < entries.length; i++) {
    const spec = parseEntrySafely(entries[i], null, `COMMAND entry ${i}`, warnings);
    if (spec !== null) specs.push(spec);
  }
  return specs;
}

function parseEntrySafely(
  raw: unknown,
  parent: CommandSpec | null,
  where: string,
  warnings: string[],
): CommandSpec | null {
  try {
    return parseEntry(raw, parent, where, warnings);
  } catch (error) {
    // Defensive: the parser is meant not to throw, but one strange module command must never
    // keep the proxy from starting.
    warnings.push(`${where}: skipped, ${(error as Error).message}`);
    return null;
  }
}

function parseEntry(
  raw: unknown,
  parent: CommandSpec | null,
  where: string,
  warnings: string[],
): CommandSpec | null {
  if (raw === null || raw === undefined) {
    warnings.push(`${where}: skipped, empty entry (a name COMMAND INFO does not know?)`);
    return null;
  }
  const fields = asList(raw);
  if (fields === null || fields.length < 6) {
    warnings.push(`${where}: skipped, not a list of at least 6 fields`);
    return null;
  }
  const rawName = asText(fields[0]);
  if (rawName === null || rawName === '') {
    warnings.push(`${where}: skipped, no command name`);
    return null;
  }
  let name = rawName.toLowerCase();
  if (parent !== null) {
    // Subcommands come as 'object|encoding'; be lenient with a module that sends just 'encoding'.
    const bar = name.indexOf('|');
    name = `${parent.name}|${bar >= 0 ? name.slice(bar + 1) : name}`;
  }
  where = `${where} (${name})`;
  const arity = asInt(fields[1]);
  if (arity === null) {
    warnings.push(`${where}: skipped, arity is not an integer`);
    return null;
  }

  const flagNames = asList(fields[2]);
  if (flagNames === null) warnings.push(`${where}: flags are not a list, taken as none`);
  let flags = 0;
  for (const flagName of flagNames ?? []) {
    const text = asText(flagName);
    flags |= (text !== null ? COMMAND_FLAG_BY_NAME.get(text.toLowerCase()) : undefined) ?? 0;
  }

  const firstKey = asInt(fields[3]) ?? 0;
  const lastKey = asInt(fields[4]) ?? 0;
  const step = asInt(fields[5]) ?? 0;
  const aclCategories = fields.length > 6 ? asTextList(fields[6]) : [];
  const tips = fields.length > 7 ? asTextList(fields[7]) : [];
  const writes = (flags & CommandFlags.write) !== 0;

  let keySpecs: KeySpec[];
  const rawKeySpecs = fields.length > 8 ? asList(fields[8]) : null;
  if (rawKeySpecs !== null) {
    keySpecs = rawKeySpecs.map((rawSpec, j) => parseKeySpec(rawSpec, `${where} key spec ${j}`, writes, warnings));
  } else {
    if (fields.length > 8) warnings.push(`${where}: key specs are not a list, using first/last/step`);
    keySpecs = legacyKeySpecs(firstKey, lastKey, step, writes, where, warnings);
  }

  const keyProc = (parent === null ? KEY_PROC_BY_NAME.get(name) : undefined) ?? KeyProcs.specs;
  // Redis marks a command movablekeys when its keys move with the arguments, i.e. when some key
  // spec is not a fixed index/range or when code of its own finds them (a module's getkeys
  // callback, or any command on Redis 6, which has no key specs). Fixed-position specs alone then
  // cannot be the whole story.
  if (
    (flags & CommandFlags.movablekeys) !== 0 &&
    keyProc === KeyProcs.specs &&
    keySpecs.every((ks) => ks.beginSearch === BeginSearch.index && ks.findKeys === FindKeys.range)
  ) {
    warnings.push(`${where}: movablekeys without key specs that describe them; its keys count as unknown`);
    keySpecs.push(unknownKeySpec(0, writes));
  }

  const spec: CommandSpec = {
    name,
    arity,
    flags,
    keySpecs,
    keyProc,
    hasKeys: keySpecs.length > 0 || keyProc !== KeyProcs.specs,
    keysAlwaysKnown: keyProc !== KeyProcs.specs || keySpecs.every(isComplete),
    subcommands: null,
    parent,
    aclCategories,
    tips,
    requestPolicy: tipValue(tips, 'request_policy:'),
    responsePolicy: tipValue(tips, 'response_policy:'),
    firstKey,
    lastKey,
    step,
    id: -1,
  };

  const rawSubcommands = fields.length > 9 ? asList(fields[9]) : null;
  if (rawSubcommands !== null && rawSubcommands.length > 0) {
    const subcommands = new Map<string, CommandSpec>();
    for (let j = 0; j < rawSubcommands.length; j++) {
      const sub = parseEntrySafely(rawSubcommands[j], spec, `${where} subcommand ${j}`, warnings);
      if (sub !== null) subcommands.set(sub.name.slice(name.length + 1), sub);
    }
    spec.subcommands = subcommands;
  }
  return spec;
}

function parseKeySpec(raw: unknown, where: string, commandWrites: boolean, warnings: string[]): KeySpec {
  const fields = asPairs(raw);
  if (fields === null) {
    warnings.push(`${where}: not a map, taken as unknown`);
    return unknownKeySpec(0, commandWrites);
  }
  let flags = 0;
  for (const flagName of asList(fields.get('flags')) ?? []) {
    const text = asText(flagName);
    if (text === null) continue;
    // Redis sends 'RO' but 'access'; accept either case for both.
    flags |=
      KEY_SPEC_FLAG_BY_NAME.get(text) ??
      KEY_SPEC_FLAG_BY_NAME.get(text.toUpperCase()) ??
      KEY_SPEC_FLAG_BY_NAME.get(text.toLowerCase()) ??
      0;
  }
  const spec = unknownKeySpec(flags, commandWrites);

  const begin = asPairs(fields.get('begin_search'));
  const beginType = begin !== null ? asText(begin.get('type')) : null;
  const beginArgs = (begin !== null ? asPairs(begin.get('spec')) : null) ?? new Map<string, unknown>();
  if (beginType === 'index') {
    const index = asInt(beginArgs.get('index'));
    if (index !== null && index >= 1) {
      spec.beginSearch = BeginSearch.index;
      spec.index = index;
    }
  } else if (beginType === 'keyword') {
    const keyword = asText(beginArgs.get('keyword'));
    const startFrom = asInt(beginArgs.get('startfrom'));
    if (keyword !== null && keyword !== '' && startFrom !== null && startFrom !== 0) {
      spec.beginSearch = BeginSearch.keyword;
      spec.keyword = keyword.toUpperCase();
      spec.startFrom = startFrom;
    }
  }
  if (spec.beginSearch === BeginSearch.unknown && beginType !== 'unknown') {
    warnings.push(`${where}: begin_search ${beginType ?? '(none)'} not understood, taken as unknown`);
  }

  const find = asPairs(fields.get('find_keys'));
  const findType = find !== null ? asText(find.get('type')) : null;
  const findArgs = (find !== null ? asPairs(find.get('spec')) : null) ?? new Map<string, unknown>();
  const step = asInt(findArgs.get('keystep'));
  if (findType === 'range') {
    const lastKey = asInt(findArgs.get('lastkey'));
    const limit = asInt(findArgs.get('limit')) ?? 0;
    if (lastKey !== null && step !== null && step >= 1 && limit >= 0) {
      spec.findKeys = FindKeys.range;
      spec.lastKey = lastKey;
      spec.step = step;
      spec.limit = limit;
    }
  } else if (findType === 'keynum') {
    const keyNumIdx = asInt(findArgs.get('keynumidx'));
    const firstKey = asInt(findArgs.get('firstkey'));
    if (keyNumIdx !== null && keyNumIdx >= 0 && firstKey !== null && firstKey >= 0 && step !== null && step >= 1) {
      spec.findKeys = FindKeys.keynum;
      spec.keyNumIdx = keyNumIdx;
      spec.firstKey = firstKey;
      spec.step = step;
    }
  }
  if (spec.findKeys === FindKeys.unknown && findType !== 'unknown') {
    warnings.push(`${where}: find_keys ${findType ?? '(none)'} not understood, taken as unknown`);
  }
  return spec;
}

/** Redis 6 (no key specs): first/last/step become one range spec, as Redis 7 itself does. */
function legacyKeySpecs(
  first: number,
  last: number,
  step: number,
  writes: boolean,
  where: string,
  warnings: string[],
): KeySpec[] {
  if (first <= 0) return [];
  const spec = unknownKeySpec(0, writes);
  if ((last >= 0 && last < first) || step < 1) {
    warnings.push(`${where}: first/last/step ${first}/${last}/${step} do not make a range, keys taken as unknown`);
    return [spec];
  }
  spec.beginSearch = BeginSearch.index;
  spec.index = first;
  spec.findKeys = FindKeys.range;
  spec.lastKey = last >= 0 ? last - first : last;
  spec.step = step;
  return [spec];
}

const WRITE_ACCESS = KeySpecFlags.RW | KeySpecFlags.OW | KeySpecFlags.RM;
const ANY_ACCESS = WRITE_ACCESS | KeySpecFlags.RO;

function unknownKeySpec(flags: number, commandWrites: boolean): KeySpec {
  return {
    beginSearch: BeginSearch.unknown,
    index: 0,
    keyword: '',
    startFrom: 0,
    findKeys: FindKeys.unknown,
    lastKey: 0,
    step: 1,
    limit: 0,
    keyNumIdx: 0,
    firstKey: 0,
    flags,
    // Without any access flag (a module's generated spec), trust the command's write flag.
    writes: (flags & ANY_ACCESS) === 0 ? commandWrites : (flags & WRITE_ACCESS) !== 0,
  };
}

function isComplete(spec: KeySpec): boolean {
  return (
    spec.beginSearch !== BeginSearch.unknown &&
    spec.findKeys !== FindKeys.unknown &&
    (spec.flags & KeySpecFlags.incomplete) === 0
  );
}

function tipValue(tips: string[], prefix: string): string {
  for (const tip of tips) if (tip.startsWith(prefix)) return tip.slice(prefix.length);
  return '';
}

function asList(value: unknown): unknown[] | null {
  if (Array.isArray(value)) return value;
  if (value instanceof Set) return [...value];
  return null;
}

function asText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}

function asTextList(value: unknown): string[] {
  const list = asList(value);
  if (list === null) return [];
  const texts: string[] = [];
  for (const item of list) {
    const text = asText(item);
    if (text !== null) texts.push(text);
  }
  return texts;
}

function asInt(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  // ioredis's stringNumbers option turns integers into strings; bigints for completeness.
  const text = typeof value === 'bigint' ? value.toString() : asText(value);
  if (text === null || !/^-?\d{1,15}$/.test(text)) return null;
  return Number(text);
}

/** A map in any of its shapes: a flat [k, v, k, v] list, a Map, or a plain object. */
function asPairs(value: unknown): Map<string, unknown> | null {
  if (value instanceof Map) {
    const pairs = new Map<string, unknown>();
    for (const [key, item] of value) {
      const text = asText(key);
      if (text !== null) pairs.set(text.toLowerCase(), item);
    }
    return pairs;
  }
  if (Array.isArray(value)) {
    if (value.length % 2 !== 0) return null;
    const pairs = new Map<string, unknown>();
    for (let i = 0; i < value.length; i += 2) {
      const key = asText(value[i]);
      if (key === null) return null;
      pairs.set(key.toLowerCase(), value[i + 1]);
    }
    return pairs;
  }
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const pairs = new Map<string, unknown>();
    for (const [key, item] of Object.entries(value)) pairs.set(key.toLowerCase(), item);
    return pairs;
  }
  return null;
}
