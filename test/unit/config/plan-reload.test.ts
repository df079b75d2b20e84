import { describe, expect, it } from 'vitest';
import { describeChanges, planReload } from '../../../src/config/plan-reload.ts';
import { defaultSettings, type Settings } from '../../../src/config/settings.ts';

function settings(fields: Partial<Settings> = {}): Settings {
  return { ...defaultSettings, seeds: [...defaultSettings.seeds], ...fields };
}

describe('planReload', () => {
  it('finds nothing to do when nothing changed, the seeds compared by value', () => {
    const plan = planReload(settings({ seeds: ['a:1', 'b:2'] }), settings({ seeds: ['a:1', 'b:2'] }));
    expect(plan).toEqual({ settings: settings({ seeds: ['a:1', 'b:2'] }), changed: [], needsRestart: [] });
  });

  it('takes the new values of live settings', () => {
    const running = settings({ password: 'old' });
    const reread = settings({ password: 'new', maxClients: 10, logLevel: 'debug', timeout: 30, retryBudgetMs: 500, maxRedirects: 2 });
    const plan = planReload(running, reread);
    expect(plan.changed).toEqual(['maxRedirects', 'maxClients', 'timeout', 'retryBudgetMs', 'logLevel', 'password']);
    expect(plan.needsRestart).toEqual([]);
    expect(plan.settings).toEqual(reread);
  });

  it('keeps the old values of settings that need a restart, and names them', () => {
    const running = settings();
    const reread = settings({ port: 7400, seeds: ['10.0.0.1:7000'], workers: 4, tlsPort: 7443, maxPendingPerClient: 8 });
    const plan = planReload(running, reread);
    expect(plan.needsRestart).toEqual(['port', 'tlsPort', 'seeds', 'workers']);
    expect(plan.changed).toEqual(['maxPendingPerClient']);
    expect(plan.settings).toEqual(settings({ maxPendingPerClient: 8 }));
  });

  it('changes neither settings object it was given', () => {
    const running = settings();
    const reread = settings({ maxClients: 5, port: 1 });
    planReload(running, reread);
    expect(running).toEqual(settings());
    expect(reread).toEqual(settings({ maxClients: 5, port: 1 }));
  });

  it('treats the backend credentials as live', () => {
    const plan = planReload(settings(), settings({ backendUsername: 'proxy', backendPassword: 'pw' }));
    expect(plan.changed).toEqual(['backendUsername', 'backendPassword']);
  });
});

describe('describeChanges', () => {
  it('shows each value before and after, but only says a secret changed', () => {
    const before = settings({ password: 'old-secret', backendPassword: '', backendUsername: '' });
    const after = settings({ password: 'new-secret', backendPassword: 'node-secret', backendUsername: 'proxy-user', maxClients: 10 });
    const { changed, settings: applied } = planReload(before, after);
    const described = describeChanges(before, applied, changed);
    expect(described).toEqual({
      maxClients: { from: defaultSettings.maxClients, to: 10 },
      password: '(changed)',
      backendUsername: '(changed)',
      backendPassword: '(changed)',
    });
    expect(JSON.stringify(described)).not.toMatch(/secret|proxy-user/);
  });
});
