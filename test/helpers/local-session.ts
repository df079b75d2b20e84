import { performance } from 'node:perf_hooks';
import type { CommandSpec } from '../../src/commands/command-spec.ts';
import { CommandTable } from '../../src/commands/command-table.ts';
import { CommandAccess } from '../../src/proxy/command-access.ts';
import { answerLocally, type LocalSession } from '../../src/proxy/local-commands.ts';
import { UserTable, type ProxyUser } from '../../src/proxy/user-table.ts';
import { RequestParser } from '../../src/resp/request-parser.ts';
import type { RequestView } from '../../src/resp/request-view.ts';

/** Runs a command slotgate answers itself (PING, HELLO, CLIENT ...) the way the session does, on `session`. */
export function runLocalCommand(session: LocalSession, ...args: string[]): Buffer {
  let reply: Buffer | undefined;
  const parser = new RequestParser(
    {
      onRequest: (view: RequestView) => (reply = answerLocally({ name: args[0].toLowerCase() } as CommandSpec, view, session)),
      onProtocolError: (message) => {
        throw new Error(message);
      },
    },
    { protoMaxBulkLen: 1024 * 1024, maxMultibulkLength: 1024 },
  );
  parser.feed(Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
  return reply as Buffer;
}

/** A fake client session, alone in its process unless `allSessions` says otherwise; `fields` override any part. */
export function fakeLocalSession<T extends Partial<LocalSession>>(fields: T = {} as T): LocalSession & T {
  // The default user only, who needs no password; `users` in `fields` for others.
  const users = fields.users ?? new UserTable({ password: '', users: [] }, new CommandAccess(CommandTable.fromSpecs([])));
  return {
    id: 7,
    name: null,
    serverVersion: '7.2.4',
    remoteAddress: '127.0.0.1:1',
    localAddress: '127.0.0.1:2',
    connectedAt: Date.now(),
    lastReadAt: performance.now(),
    lastCommand: 'hello',
    authenticated: true,
    users,
    user: users.defaultUser,
    logIn(this: { user: ProxyUser; authenticated: boolean }, user: ProxyUser) {
      this.user = user;
      this.authenticated = true;
    },
    resp3: false,
    connected: true,
    subscribed: false,
    subscriptionCounts: [0, 0, 0] as const,
    monitoring: false,
    closeAfterReplies() {},
    destroy() {},
    setReplyMode() {},
    startMonitor() {},
    reset() {
      return Buffer.from('+RESET\r\n');
    },
    allSessions() {
      return [this];
    },
    setProtocol(this: { resp3: boolean }, resp3: boolean) {
      this.resp3 = resp3;
      return null;
    },
    ...fields,
  };
}
