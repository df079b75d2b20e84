import { ConfigError } from './config-error.ts';
import { suggestName } from './suggest-name.ts';

/**
 * What a user of slotgate's own may do: `readonly` runs no command that writes (nor a script that
 * may: EVAL, EVALSHA, FCALL; their _RO forms are fine), `readwrite` anything but the admin-ish
 * commands (see proxy/command-access.ts), `admin` everything, as the default user does.
 */
export type UserAccess = 'readonly' | 'readwrite' | 'admin';

/** One entry of the `users` setting, defaults filled in. */
export interface UserSetting {
  /** What AUTH, HELLO AUTH, ACL WHOAMI, CLIENT LIST and CLIENT KILL USER call it; `default` is the default user. */
  name: string;
  /** Any of these logs it in: two while a password is rotated. At least one. */
  passwords: string[];
  access: UserAccess;
  /** Every key its requests name must start with one of these; empty: every key. */
  keyPrefixes: string[];
}

const ACCESS: readonly UserAccess[] = ['readonly', 'readwrite', 'admin'];
const FIELDS = ['name', 'passwords', 'access', 'keyPrefixes'];

/**
 * Checks the `users` setting as read from YAML (a list of mappings), filling in the defaults:
 * access readwrite, no key prefixes. Every error names the entry (its position and name) and never
 * repeats a password.
 */
export function checkUsers(value: unknown, subject: string): UserSetting[] {
  if (!Array.isArray(value)) {
    throw new ConfigError(`${subject} must be a list of users, each a mapping with name, passwords and optionally access and keyPrefixes`);
  }
  const users: UserSetting[] = [];
  const seen = new Map<string, number>();
  value.forEach((entry: unknown, index) => {
    const user = checkUser(entry, `${subject}[${index}]`);
    const earlier = seen.get(user.name);
    if (earlier !== undefined) throw new ConfigError(`${subject}[${index}]: the name "${user.name}" is taken already by ${subject}[${earlier}]; names must be unique`);
    seen.set(user.name, index);
    users.push(user);
  });
  return users;
}

function checkUser(entry: unknown, at: string): UserSetting {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new ConfigError(`${at} must be a mapping with name, passwords and optionally access and keyPrefixes`);
  }
  const fields = entry as Record<string, unknown>;
  const name = fields.name;
  // Printable ASCII without blanks, as CLIENT LIST prints it in one field of a line.
  if (typeof name !== 'string' || !/^[\x21-\x7e]+$/.test(name)) {
    throw new ConfigError(`${at}: name must be text of printable characters without blanks, got ${name === undefined ? 'nothing' : JSON.stringify(name)}`);
  }
  const where = `${at} (user "${name}")`;
  for (const key of Object.keys(fields)) {
    if (FIELDS.includes(key)) continue;
    const guess = suggestName(key, FIELDS);
    throw new ConfigError(`${where}: unknown field "${key}"${guess === undefined ? '' : ` (did you mean ${guess}?)`}; a user has ${FIELDS.join(', ')}`);
  }
  return {
    name,
    passwords: checkPasswords(fields.passwords, where),
    access: checkAccess(fields.access, where),
    keyPrefixes: checkPrefixes(fields.keyPrefixes, where),
  };
}

function checkPasswords(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(`${where}: passwords must be a list of at least one password (two while rotating one)`);
  }
  value.forEach((password: unknown, i) => {
    // As for the `password` setting: never echoed, blanks at either end refused (they only show up as refused logins).
    if (typeof password !== 'string') throw new ConfigError(`${where}: passwords[${i}] must be text (in YAML, put it in quotes)`);
    if (password === '') throw new ConfigError(`${where}: passwords[${i}] is empty; give a password`);
    if (password !== password.trim()) throw new ConfigError(`${where}: passwords[${i}] starts or ends with a blank (space, tab or newline); remove it`);
  });
  return value as string[];
}

function checkAccess(value: unknown, where: string): UserAccess {
  if (value === undefined) return 'readwrite';
  const access = typeof value === 'string' ? value.toLowerCase() : value;
  if (ACCESS.includes(access as UserAccess)) return access as UserAccess;
  throw new ConfigError(`${where}: access must be one of ${ACCESS.join(', ')}, got ${JSON.stringify(value)}`);
}

function checkPrefixes(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(`${where}: keyPrefixes must be a list of key prefixes, such as ["app1:"]`);
  value.forEach((prefix: unknown, i) => {
    if (typeof prefix !== 'string') throw new ConfigError(`${where}: keyPrefixes[${i}] must be text (in YAML, put it in quotes)`);
    // "" would allow every key, and most likely stands for a prefix left out by mistake.
    if (prefix === '') throw new ConfigError(`${where}: keyPrefixes[${i}] is empty; to allow every key, leave keyPrefixes out`);
  });
  return value as string[];
}

/**
 * For the reload log: which users were added, removed or changed (passwords, access or prefixes),
 * by name only.
 */
export function describeUserChanges(before: readonly UserSetting[], after: readonly UserSetting[]): { added: string[]; removed: string[]; changed: string[] } {
  const old = new Map(before.map((user) => [user.name, user]));
  const now = new Map(after.map((user) => [user.name, user]));
  return {
    added: after.filter((user) => !old.has(user.name)).map((user) => user.name),
    removed: before.filter((user) => !now.has(user.name)).map((user) => user.name),
    changed: after.filter((user) => old.has(user.name) && !sameUser(old.get(user.name) as UserSetting, user)).map((user) => user.name),
  };
}

export function sameUsers(a: readonly UserSetting[], b: readonly UserSetting[]): boolean {
  return a.length === b.length && a.every((user, i) => sameUser(user, b[i]));
}

function sameUser(a: UserSetting, b: UserSetting): boolean {
  return a.name === b.name && a.access === b.access && sameList(a.passwords, b.passwords) && sameList(a.keyPrefixes, b.keyPrefixes);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
