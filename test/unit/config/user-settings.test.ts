import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/config/load-settings.ts';
import { describeChanges, planReload } from '../../../src/config/plan-reload.ts';
import { defaultSettings, type Settings } from '../../../src/config/settings.ts';
import { errorFrom } from '../../helpers/config-error-from.ts';

const dir = mkdtempSync(join(tmpdir(), 'slotgate-users-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function yamlFile(text: string): string {
  const path = join(dir, `users-${++fileCount}.yaml`);
  writeFileSync(path, text);
  return path;
}

const fromYaml = (text: string): Settings => loadSettings(['--config', yamlFile(text)], {});
const errorFromYaml = (text: string): string => errorFrom(['--config', yamlFile(text)]);

describe('the users setting', () => {
  it('reads each user, filling in access readwrite and no prefixes', () => {
    const settings = fromYaml(`password: "admin-pw"
users:
  - name: app1
    passwords: ["new-pw", "old-pw"]
    keyPrefixes: ["app1:", "shared:"]
  - name: reports
    passwords: ["r"]
    access: READONLY
`);
    expect(settings.users).toEqual([
      { name: 'app1', passwords: ['new-pw', 'old-pw'], access: 'readwrite', keyPrefixes: ['app1:', 'shared:'] },
      { name: 'reports', passwords: ['r'], access: 'readonly', keyPrefixes: [] },
    ]);
  });

  it('refuses malformed entries, naming the entry and never a password', () => {
    const head = 'password: "pw"\nusers:\n';
    expect(errorFromYaml(`${head}  name: app\n`)).toMatch(/users must be a list of users/);
    expect(errorFromYaml(`${head}  - app\n`)).toMatch(/users\[0\] must be a mapping with name, passwords/);
    expect(errorFromYaml(`${head}  - passwords: ["x"]\n`)).toMatch(/users\[0\]: name must be text .*got nothing$/);
    expect(errorFromYaml(`${head}  - name: "my app"\n    passwords: ["x"]\n`)).toMatch(/users\[0\]: name must be text of printable characters without blanks/);
    expect(errorFromYaml(`${head}  - name: app\n`)).toMatch(/users\[0\] \(user "app"\): passwords must be a list of at least one password/);
    expect(errorFromYaml(`${head}  - name: app\n    passwords: []\n`)).toMatch(/users\[0\] \(user "app"\): passwords must be a list of at least one/);
    expect(errorFromYaml(`${head}  - name: app\n    passwords: [123456]\n`)).toMatch(/users\[0\] \(user "app"\): passwords\[0\] must be text/);
    const blank = errorFromYaml(`${head}  - name: app\n    passwords: ["ok", "hunter2 "]\n`);
    expect(blank).toMatch(/users\[0\] \(user "app"\): passwords\[1\] starts or ends with a blank/);
    expect(blank).not.toContain('hunter2');
    expect(errorFromYaml(`${head}  - name: app\n    passwords: ["x"]\n    access: root\n`)).toMatch(/access must be one of readonly, readwrite, admin, got "root"/);
    expect(errorFromYaml(`${head}  - name: app\n    passwords: ["x"]\n    keyPrefixes: "app:"\n`)).toMatch(/keyPrefixes must be a list/);
    expect(errorFromYaml(`${head}  - name: app\n    passwords: ["x"]\n    keyPrefixes: [""]\n`)).toMatch(/keyPrefixes\[0\] is empty; to allow every key, leave keyPrefixes out/);
    expect(errorFromYaml(`${head}  - name: app\n    password: "x"\n`)).toMatch(/unknown field "password" \(did you mean passwords\?\)/);
    const twice = errorFromYaml(`${head}  - name: a\n    passwords: ["x"]\n  - name: b\n    passwords: ["y"]\n  - name: a\n    passwords: ["z"]\n`);
    expect(twice).toMatch(/users\[2\]: the name "a" is taken already by .*users\[0\]; names must be unique/);
  });

  it('takes the default user from password or from an entry named default, not both', () => {
    const entry = fromYaml('users:\n  - name: default\n    passwords: ["d"]\n    access: readonly\n');
    expect(entry.users[0]).toEqual({ name: 'default', passwords: ['d'], access: 'readonly', keyPrefixes: [] });
    expect(errorFromYaml('password: "pw"\nusers:\n  - name: default\n    passwords: ["d"]\n')).toMatch(
      /^password and a users entry named default both set the default user's password/,
    );
  });

  it('refuses users beside a default user that needs no password, which would let anyone in', () => {
    expect(errorFromYaml('users:\n  - name: app\n    passwords: ["x"]\n')).toMatch(
      /^users are set but the default user needs no password.*set password, or add a users entry named default$/,
    );
  });

  it('loads the example given in config/slotgate.yaml', () => {
    const example = readFileSync(new URL('../../../config/slotgate.yaml', import.meta.url), 'utf8');
    const block = /Example:\n((?:#   .*\n)+)/.exec(example)?.[1];
    expect(block).toBeDefined();
    const settings = fromYaml(`password: "pw"\n${(block as string).replace(/^# {3}/gm, '')}`);
    expect(settings.users.map((user) => [user.name, user.access, user.keyPrefixes])).toEqual([
      ['app1', 'readwrite', ['app1:']],
      ['reports', 'readonly', []],
    ]);
  });

  it('are given in the YAML file only', () => {
    expect(errorFrom(['--users', 'x'])).toMatch(/^unknown flag --users/);
    // SLOTGATE_USERS is not one of ours: left alone, like any unknown SLOTGATE_ variable.
    expect(loadSettings([], { SLOTGATE_USERS: 'x' }).users).toEqual([]);
  });
});

describe('reloading users', () => {
  const app = { name: 'app', passwords: ['a-secret'], access: 'readwrite' as const, keyPrefixes: [] };
  const other = { name: 'other', passwords: ['o-secret'], access: 'readwrite' as const, keyPrefixes: [] };
  const settings = (users: Settings['users']): Settings => ({ ...defaultSettings, password: 'pw', users });

  it('is live, compared entry by entry', () => {
    expect(planReload(settings([app]), settings([{ ...app, keyPrefixes: [] }])).changed).toEqual([]);
    expect(planReload(settings([app]), settings([{ ...app, passwords: ['a-secret', 'b-secret'] }])).changed).toEqual(['users']);
    expect(planReload(settings([]), settings([app])).changed).toEqual(['users']);
  });

  it('logs the names of the users added, removed and changed, never a password', () => {
    const before = settings([app, other]);
    const plan = planReload(before, settings([{ ...app, passwords: ['new-secret'] }, { ...other, name: 'third' }]));
    const described = describeChanges(before, plan.settings, plan.changed);
    expect(described).toEqual({ users: { added: ['third'], removed: ['other'], changed: ['app'] } });
    expect(JSON.stringify(described)).not.toContain('secret');
  });
});
