import { CommandFlags, type CommandSpec } from '../commands/command-spec.ts';
import type { CommandTable } from '../commands/command-table.ts';
import type { UserAccess } from '../config/user-settings.ts';

/**
 * Commands that act on the whole cluster or on other clients, kept for `admin` users beside those
 * Redis flags admin. Redis's @dangerous category is not used whole: it holds INFO (ioredis's ready
 * check), ROLE, KEYS, SORT and LASTSAVE, which applications send.
 */
const ADMIN_ISH = [
  'flushall',
  'flushdb',
  'swapdb',
  // It makes a node connect to a host the client names.
  'migrate',
  'script|flush',
  'function|flush',
  'function|delete',
  'function|load',
  'function|restore',
  'slowlog|reset',
  'latency|reset',
  'client|kill',
];

/**
 * Keyless commands that read or change the whole keyspace: no key to check against a user's
 * prefixes, so a user with keyPrefixes may not run them. Scripts too: a script reaches keys it does
 * not declare, with slotgate's rights on the node.
 */
const KEYSPACE_WIDE = ['keys', 'scan', 'randomkey', 'dbsize', 'flushall', 'flushdb', 'swapdb'];
const SCRIPTS = ['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'];

/** Scripts that may write: Redis does not flag them write, but a readonly user must not run them. */
const WRITING_SCRIPTS = ['eval', 'evalsha', 'fcall'];

/**
 * Which commands each kind of user may run, per command id, worked out once from the cluster's
 * command table: an array of denials for each access level, with and without key prefixes. A
 * user's permissions hold one of these, so checking a command costs one typed-array read.
 */
export class CommandAccess {
  private readonly denied = new Map<string, Uint8Array>();
  private readonly table: CommandTable;

  constructor(table: CommandTable) {
    this.table = table;
  }

  /** Per command id, 1 where a user with `access` (and key prefixes, when `prefixed`) may not run it. Shared: do not change. */
  deniedFor(access: UserAccess, prefixed: boolean): Uint8Array {
    const key = `${access}${prefixed ? '+prefixes' : ''}`;
    let denied = this.denied.get(key);
    if (denied === undefined) {
      const specs = this.table.allSpecs();
      denied = new Uint8Array(specs.length);
      for (const spec of specs) denied[spec.id] = mayRun(spec, access, prefixed) ? 0 : 1;
      this.denied.set(key, denied);
    }
    return denied;
  }
}

/** Whether a user with `access` (and key prefixes, when `prefixed`) may run `spec`. */
export function mayRun(spec: CommandSpec, access: UserAccess, prefixed: boolean): boolean {
  if (prefixed && (KEYSPACE_WIDE.includes(spec.name) || SCRIPTS.includes(spec.name))) return false;
  if (access === 'admin') return true;
  if ((spec.flags & CommandFlags.admin) !== 0 || ADMIN_ISH.includes(spec.name)) return false;
  if (access === 'readwrite') return true;
  return (spec.flags & CommandFlags.write) === 0 && !WRITING_SCRIPTS.includes(spec.name);
}
