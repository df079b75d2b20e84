import pino from 'pino';
import { expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../../src/config/settings.ts';
import type { ProxyContext } from '../../../src/proxy/proxy-context.ts';
import type { Router } from '../../../src/proxy/router.ts';
import type { ProxyUser } from '../../../src/proxy/user-table.ts';
import { applyLiveSettings, type LiveParts } from '../../../src/server/apply-live-settings.ts';
import { BackendLogin } from '../../../src/upstream/backend-auth.ts';
import { LiveTls } from '../../../src/server/live-tls.ts';
import type { ReplyTimeout } from '../../../src/upstream/reply-timeout.ts';
import { userTable } from '../../helpers/user-table.ts';

/** A client session as a reload sees it. */
interface FakeSession {
  authenticated: boolean;
  user: ProxyUser;
  destroyed: boolean;
  onUsersChanged(): void;
}

/** The parts a reload changes, with the router and the sweep recording what they were told. */
function liveParts(settings: Pick<Settings, 'password' | 'users'>) {
  const told: string[] = [];
  const users = userTable(settings.password, settings.users);
  const sessions = new Set<FakeSession>();
  const context = { users, sessions, logger: pino({ level: 'silent' }) } as unknown as ProxyContext;
  const parts: LiveParts = {
    // Plain text to the nodes and no TLS port: nothing to read (live-tls.test.ts covers the files).
    tls: new LiveTls({ server: null, backend: null }, pino({ level: 'silent' })),
    context,
    router: { setLimits: (redirects: number, budget: number) => told.push(`limits ${redirects} ${budget}`) } as unknown as Router,
    login: new BackendLogin({ username: '', password: '' }),
    idleSweep: { stop() {}, setTimeoutSeconds: (seconds) => told.push(`timeout ${seconds}`) },
    replyTimeout: { set: (ms: number) => told.push(`reply timeout ${ms}`) } as unknown as ReplyTimeout,
    admission: { maxClients: 1 },
  };
  /** A client logged in as `name` (or not yet, as the default user). */
  const connect = (name: string | null): FakeSession => {
    const session: FakeSession = {
      authenticated: name !== null,
      user: name === null ? users.defaultUser : (users.find(Buffer.from(name)) as ProxyUser),
      destroyed: false,
      onUsersChanged() {
        // What ClientSession does, less the permissions it copies.
        if (this.user.removed) this.destroyed = true;
        else if (users.defaultUser.passwords === null) this.authenticated = true;
      },
    };
    sessions.add(session);
    return session;
  };
  return { parts, context, told, users, connect };
}

it('puts every live setting where its reader looks', () => {
  const { parts, context, told } = liveParts({ password: 'old', users: [] });
  applyLiveSettings(parts, { ...defaultSettings, maxClients: 9, maxPendingPerClient: 8, maxClientOutputBytes: 7, protoMaxBulkLen: 6, maxMultibulkLength: 5, maxRedirects: 4, retryBudgetMs: 3, timeout: 2, replyTimeoutMs: 1, password: 'new', backendPassword: 'node' });
  expect(parts.admission.maxClients).toBe(9);
  expect([context.maxPendingPerClient, context.maxClientOutputBytes, context.protoMaxBulkLen, context.maxMultibulkLength]).toEqual([8, 7, 6, 5]);
  expect(told).toEqual(['limits 4 3', 'timeout 2', 'reply timeout 1']);
  expect(context.users.defaultUser.passwords?.matches(Buffer.from('new'))).toBe(true);
  expect(parts.login.auth?.toString()).toBe('*2\r\n$4\r\nAUTH\r\n$4\r\nnode\r\n');
});

it('leaves authenticated clients so and others not, until no password is left', () => {
  const { parts, context, connect } = liveParts({ password: 'old', users: [] });
  const done = connect('default');
  const waiting = connect(null);
  applyLiveSettings(parts, { ...defaultSettings, password: 'new' });
  expect([done.authenticated, waiting.authenticated]).toEqual([true, false]);
  // As in Redis once requirepass is emptied: nobody needs to authenticate any more.
  applyLiveSettings(parts, { ...defaultSettings, password: '' });
  expect(context.users.defaultUser.passwords).toBeNull();
  expect([done.authenticated, waiting.authenticated]).toEqual([true, true]);
});

it('changes users in place, keeps their clients logged in, and disconnects the clients of users removed', () => {
  const app = { name: 'app', passwords: ['a1'], access: 'readwrite' as const, keyPrefixes: [] };
  const gone = { name: 'gone', passwords: ['g1'], access: 'readwrite' as const, keyPrefixes: [] };
  const { parts, users, connect } = liveParts({ password: 'pw', users: [app, gone] });
  const appClient = connect('app');
  const goneClient = connect('gone');
  const appUser = appClient.user;
  applyLiveSettings(parts, { ...defaultSettings, password: 'pw', users: [{ ...app, passwords: ['a2'], access: 'readonly' }] });
  expect(users.find(Buffer.from('app'))).toBe(appUser);
  expect(appUser.passwords?.matches(Buffer.from('a2'))).toBe(true);
  expect(appUser.passwords?.matches(Buffer.from('a1'))).toBe(false);
  expect(appUser.permissions).not.toBeNull();
  expect([appClient.authenticated, appClient.destroyed]).toEqual([true, false]);
  expect(goneClient.destroyed).toBe(true);
  expect(users.find(Buffer.from('gone'))).toBeUndefined();
});
