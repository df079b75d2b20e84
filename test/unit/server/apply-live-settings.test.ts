import pino from 'pino';
import { expect, it } from 'vitest';
import { defaultSettings } from '../../../src/config/settings.ts';
import { PasswordCheck } from '../../../src/proxy/client-auth.ts';
import type { ProxyContext } from '../../../src/proxy/proxy-context.ts';
import type { Router } from '../../../src/proxy/router.ts';
import { applyLiveSettings, type LiveParts } from '../../../src/server/apply-live-settings.ts';
import { BackendLogin } from '../../../src/upstream/backend-auth.ts';
import { LiveTls } from '../../../src/server/live-tls.ts';
import type { ReplyTimeout } from '../../../src/upstream/reply-timeout.ts';

/** The parts a reload changes, with the router and the sweep recording what they were told. */
function liveParts(sessions: { authenticated: boolean }[]) {
  const told: string[] = [];
  const context = { password: new PasswordCheck('old'), sessions: new Set(sessions) } as unknown as ProxyContext;
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
  return { parts, context, told };
}

it('puts every live setting where its reader looks', () => {
  const { parts, context, told } = liveParts([]);
  applyLiveSettings(parts, { ...defaultSettings, maxClients: 9, maxPendingPerClient: 8, maxClientOutputBytes: 7, protoMaxBulkLen: 6, maxMultibulkLength: 5, maxRedirects: 4, retryBudgetMs: 3, timeout: 2, replyTimeoutMs: 1, password: 'new', backendPassword: 'node' });
  expect(parts.admission.maxClients).toBe(9);
  expect([context.maxPendingPerClient, context.maxClientOutputBytes, context.protoMaxBulkLen, context.maxMultibulkLength]).toEqual([8, 7, 6, 5]);
  expect(told).toEqual(['limits 4 3', 'timeout 2', 'reply timeout 1']);
  expect(context.password?.matches(Buffer.from('new'))).toBe(true);
  expect(parts.login.auth?.toString()).toBe('*2\r\n$4\r\nAUTH\r\n$4\r\nnode\r\n');
});

it('leaves authenticated clients so and others not, until no password is left', () => {
  const done = { authenticated: true };
  const waiting = { authenticated: false };
  const { parts } = liveParts([done, waiting]);
  applyLiveSettings(parts, { ...defaultSettings, password: 'new' });
  expect([done.authenticated, waiting.authenticated]).toEqual([true, false]);
  // As in Redis once requirepass is emptied: nobody needs to authenticate any more.
  applyLiveSettings(parts, { ...defaultSettings, password: '' });
  expect(parts.context.password).toBeNull();
  expect([done.authenticated, waiting.authenticated]).toEqual([true, true]);
});
