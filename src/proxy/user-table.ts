import type { UserAccess, UserSetting } from '../config/user-settings.ts';
import { PasswordCheck } from './client-auth.ts';
import type { CommandAccess } from './command-access.ts';
import { UserPermissions } from './user-permissions.ts';

export const DEFAULT_USER = 'default';

/**
 * A user of slotgate's own. One object per name for as long as slotgate runs: a reload changes it
 * in place, so its clients find its new passwords and permissions through it (see UserTable.update).
 */
export class ProxyUser {
  readonly name: string;
  /** Its passwords, as SHA-256 digests; null: none needed (the default user with no `password`, Redis's nopass). */
  passwords: PasswordCheck | null = null;
  /** What it may not do; null: it may do everything. */
  permissions: UserPermissions | null = null;
  /** Its entry is gone (a reload): its clients are disconnected, as by ACL DELUSER. */
  removed = false;

  constructor(name: string) {
    this.name = name;
  }
}

/** The settings the table is built from. */
export interface UsersSettings {
  password: string;
  users: readonly UserSetting[];
}

/**
 * Every user slotgate knows: the default user (with `password`, may do everything, unless a
 * `users` entry named default says otherwise) and those of `users`.
 */
export class UserTable {
  readonly defaultUser = new ProxyUser(DEFAULT_USER);
  private readonly byName = new Map<string, ProxyUser>([[DEFAULT_USER, this.defaultUser]]);
  private readonly access: CommandAccess;

  constructor(settings: UsersSettings, access: CommandAccess) {
    this.access = access;
    this.update(settings);
  }

  /** The user of that name, given as the client sent it; undefined when there is none. */
  find(name: Buffer): ProxyUser | undefined {
    // Names are printable ASCII (user-settings.ts): other bytes find nobody, whatever they decode to.
    return this.byName.get(name.toString('latin1'));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * Takes the users of settings read again. A user still there is changed in place: its clients get
   * its new permissions when they next look (ClientSession.onUsersChanged), and stay logged in
   * whatever happened to its passwords, as after ACL SETUSER. Returns the users removed.
   */
  update(settings: UsersSettings): ProxyUser[] {
    const entries = new Map(settings.users.map((entry) => [entry.name, entry]));
    const fallback: UserSetting = { name: DEFAULT_USER, passwords: settings.password === '' ? [] : [settings.password], access: 'admin', keyPrefixes: [] };
    if (!entries.has(DEFAULT_USER)) entries.set(DEFAULT_USER, fallback);
    const removed: ProxyUser[] = [];
    for (const [name, user] of this.byName) {
      if (entries.has(name)) continue;
      user.removed = true;
      this.byName.delete(name);
      removed.push(user);
    }
    for (const entry of entries.values()) {
      let user = this.byName.get(entry.name);
      if (user === undefined) {
        user = new ProxyUser(entry.name);
        this.byName.set(entry.name, user);
      }
      user.passwords = entry.passwords.length === 0 ? null : new PasswordCheck(entry.passwords);
      user.permissions = this.permissionsOf(entry.access, entry.keyPrefixes);
    }
    return removed;
  }

  private permissionsOf(access: UserAccess, keyPrefixes: readonly string[]): UserPermissions | null {
    const prefixed = keyPrefixes.length > 0;
    if (access === 'admin' && !prefixed) return null;
    return new UserPermissions(this.access.deniedFor(access, prefixed), prefixed ? keyPrefixes.map((prefix) => Buffer.from(prefix, 'utf8')) : null);
  }
}
