import { describe, expect, it } from 'vitest';
import { userTable } from '../../helpers/user-table.ts';

describe('UserTable', () => {
  it('has a default user: from password, may do everything; none needed when password is empty', () => {
    const open = userTable('');
    expect(open.defaultUser.passwords).toBeNull();
    expect(open.defaultUser.permissions).toBeNull();
    const guarded = userTable('pw');
    expect(guarded.defaultUser.passwords?.matches(Buffer.from('pw'))).toBe(true);
    expect(guarded.find(Buffer.from('default'))).toBe(guarded.defaultUser);
  });

  it('takes the default user from an entry named default instead, access and prefixes too', () => {
    const users = userTable('', [{ name: 'default', passwords: ['d'], access: 'readonly', keyPrefixes: ['pub:'] }]);
    expect(users.defaultUser.passwords?.matches(Buffer.from('d'))).toBe(true);
    expect(users.defaultUser.permissions?.prefixes?.map(String)).toEqual(['pub:']);
  });

  it('finds users by their exact name, as bytes', () => {
    const users = userTable('pw', [{ name: 'app' }]);
    expect(users.find(Buffer.from('app'))?.name).toBe('app');
    expect(users.find(Buffer.from('APP'))).toBeUndefined();
    expect(users.find(Buffer.from('app\u00e9'))).toBeUndefined();
    expect(users.has('app')).toBe(true);
  });

  it('keeps one object per user across updates, and marks those removed', () => {
    const users = userTable('pw', [{ name: 'a' }, { name: 'b' }]);
    const a = users.find(Buffer.from('a'));
    const b = users.find(Buffer.from('b'));
    const removed = users.update({ password: 'pw', users: [{ name: 'a', passwords: ['new'], access: 'readonly', keyPrefixes: [] }] });
    expect(removed).toEqual([b]);
    expect(b?.removed).toBe(true);
    expect(users.find(Buffer.from('a'))).toBe(a);
    expect(a?.passwords?.matches(Buffer.from('new'))).toBe(true);
    expect(a?.permissions).not.toBeNull();
    expect(users.find(Buffer.from('b'))).toBeUndefined();
  });
});
