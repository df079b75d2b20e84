import { readFileSync } from 'node:fs';
import { CommandTable } from '../../src/commands/command-table.ts';
import { parseCommandReply } from '../../src/commands/parse-command-reply.ts';
import type { UserSetting } from '../../src/config/user-settings.ts';
import { CommandAccess } from '../../src/proxy/command-access.ts';
import { UserTable } from '../../src/proxy/user-table.ts';

/** Redis 7.0's command table, from the captured COMMAND reply. */
export function redis70CommandTable(): CommandTable {
  const reply: unknown = JSON.parse(readFileSync(new URL('../fixtures/command-reply-redis-7.0.json', import.meta.url), 'utf8'));
  return CommandTable.fromSpecs(parseCommandReply(reply));
}

/** A user table as slotgate builds one from `password` and `users`, over Redis 7.0's commands. */
export function userTable(password: string, users: Partial<UserSetting>[] = [], table = redis70CommandTable()): UserTable {
  const full = users.map((user) => ({ name: 'app', passwords: ['pw'], access: 'readwrite' as const, keyPrefixes: [], ...user }));
  return new UserTable({ password, users: full }, new CommandAccess(table));
}
