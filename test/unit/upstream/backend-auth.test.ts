import { describe, expect, it } from 'vitest';
import { authFailureMessage, authFrame, isAuthError } from '../../../src/upstream/backend-auth.ts';

describe('authFrame', () => {
  it('is nothing without a password', () => {
    expect(authFrame({ username: '', password: '' })).toBeUndefined();
  });

  it('is AUTH <password>, or AUTH <user> <password> with a user', () => {
    expect(authFrame({ username: '', password: 'pw' })?.toString()).toBe('*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n');
    expect(authFrame({ username: 'app', password: 'pw' })?.toString()).toBe('*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$2\r\npw\r\n');
  });
});

describe('isAuthError', () => {
  it('knows the replies of a node that wants other credentials', () => {
    expect(isAuthError('NOAUTH Authentication required.')).toBe(true);
    expect(isAuthError('WRONGPASS invalid username-password pair or user is disabled.')).toBe(true);
    expect(isAuthError('ERR AUTH <password> called without any password configured for the default user.')).toBe(true);
    expect(isAuthError('connect ECONNREFUSED 127.0.0.1:7000')).toBe(false);
    expect(isAuthError('CLUSTERDOWN Hash slot not served')).toBe(false);
  });

  it('recognises its own message', () => {
    expect(isAuthError(authFailureMessage('127.0.0.1:7000', 'WRONGPASS invalid username-password pair'))).toBe(true);
  });
});
