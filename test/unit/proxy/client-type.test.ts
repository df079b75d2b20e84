import { describe, expect, it } from 'vitest';
import { parseClientType } from '../../../src/proxy/client-type.ts';
import type { LocalSession } from '../../../src/proxy/local-commands.ts';
import { fakeLocalSession, runLocalCommand } from '../../helpers/local-session.ts';

describe('parseClientType', () => {
  it("knows Redis's names in any case, slave for replica", () => {
    expect(['Normal', 'MASTER', 'replica', 'slave', 'pubsub', 'monitor'].map(parseClientType)).toEqual([
      'normal',
      'master',
      'replica',
      'replica',
      'pubsub',
      null,
    ]);
  });
});

describe('CLIENT LIST TYPE', () => {
  const all: LocalSession[] = [];
  all.push(
    fakeLocalSession({ id: 1, allSessions: () => all }),
    fakeLocalSession({ id: 2, subscribed: true, allSessions: () => all }),
  );
  const list = (...args: string[]): string => runLocalCommand(all[0], 'CLIENT', 'LIST', ...args).toString();

  it('lists subscribed clients as pubsub (flags=P), the others as normal', () => {
    expect(list('TYPE', 'pubsub')).toMatch(/^\$\d+\r\nid=2 .* flags=P .*\n\r\n$/);
    expect(list('TYPE', 'normal')).toMatch(/^\$\d+\r\nid=1 .* flags=N .*\n\r\n$/);
    expect(list('TYPE', 'slave')).toBe('$0\r\n\r\n');
    expect(list('TYPE', 'Bogus')).toBe("-ERR Unknown client type 'Bogus'\r\n");
  });
});
