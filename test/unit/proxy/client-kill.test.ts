import { describe, expect, it } from 'vitest';
import { killMatches, parseKillFilter, type KillCandidate, type KillFilter } from '../../../src/proxy/client-kill.ts';
import type { LocalSession } from '../../../src/proxy/local-commands.ts';
import { fakeLocalSession, runLocalCommand } from '../../helpers/local-session.ts';

/** The users of a slotgate without a users setting. */
const ONLY_DEFAULT = new Set(['default']);

/** The error a parse gives, as text; fails the test when it gave a filter. */
function errorOf(...args: string[]): string {
  const result = parseKillFilter(args, ONLY_DEFAULT);
  if (!Buffer.isBuffer(result)) throw new Error(`no error for ${args.join(' ')}`);
  return result.toString().trimEnd();
}

function filterOf(...args: string[]): KillFilter {
  const result = parseKillFilter(args, ONLY_DEFAULT);
  if (Buffer.isBuffer(result)) throw new Error(result.toString());
  return result;
}

const client: KillCandidate = { id: 5, remoteAddress: '10.0.0.9:5555', localAddress: '10.0.0.1:7380', connectedAt: 1_000_000, subscribed: false, user: { name: 'default' } };

describe('parseKillFilter', () => {
  it('takes one argument as the old form, which may kill its sender', () => {
    expect(filterOf('10.0.0.9:5555')).toMatchObject({ oldForm: true, addr: '10.0.0.9:5555', skipMe: false });
    // Like Redis: a lone option name is an address too.
    expect(filterOf('ID')).toMatchObject({ oldForm: true, addr: 'ID' });
  });

  it('reads the new form in pairs, any case, skipping its sender by default', () => {
    expect(filterOf('id', '12', 'Type', 'PubSub', 'ADDR', 'a:1', 'laddr', 'b:2', 'user', 'default', 'maxage', '30')).toEqual({
      oldForm: false,
      id: 12,
      addr: 'a:1',
      laddr: 'b:2',
      type: 'pubsub',
      user: 'default',
      maxAgeSeconds: 30,
      skipMe: true,
    });
    expect(filterOf('SKIPME', 'no', 'TYPE', 'slave')).toMatchObject({ skipMe: false, type: 'replica' });
  });

  it("answers bad arguments with Redis's errors", () => {
    expect(errorOf('ID', '1', 'TYPE')).toBe('-ERR syntax error');
    expect(errorOf('FOO', 'bar')).toBe('-ERR syntax error');
    expect(errorOf('SKIPME', 'maybe')).toBe('-ERR syntax error');
    for (const id of ['0', '-1', 'abc', '1.5', '01', '+1', '9223372036854775808']) {
      expect(errorOf('ID', id)).toBe('-ERR client-id should be greater than 0');
    }
    expect(filterOf('ID', '9223372036854775807').id).toBeGreaterThan(0);
    expect(errorOf('TYPE', 'Foo')).toBe("-ERR Unknown client type 'Foo'");
    expect(errorOf('USER', 'Default')).toBe("-ERR No such user 'Default'");
    expect(errorOf('MAXAGE', 'soon')).toBe('-ERR maxage is not an integer or out of range');
    expect(errorOf('MAXAGE', '0')).toBe('-ERR maxage should be greater than 0');
  });
});

describe('killMatches', () => {
  const now = client.connectedAt + 10_500;

  it('needs every filter given to match', () => {
    expect(killMatches(filterOf('ADDR', '10.0.0.9:5555', 'LADDR', '10.0.0.1:7380', 'ID', '5', 'TYPE', 'normal'), client, false, now)).toBe(true);
    expect(killMatches(filterOf('ADDR', '10.0.0.9:5555', 'ID', '6'), client, false, now)).toBe(false);
    expect(killMatches(filterOf('LADDR', '10.0.0.1:7381'), client, false, now)).toBe(false);
    expect(killMatches(filterOf('TYPE', 'pubsub'), client, false, now)).toBe(false);
    expect(killMatches(filterOf('TYPE', 'pubsub'), { ...client, subscribed: true }, false, now)).toBe(true);
    expect(killMatches(filterOf('TYPE', 'master'), client, false, now)).toBe(false);
    expect(killMatches(filterOf('USER', 'default'), client, false, now)).toBe(true);
  });

  it("matches USER against the client's user, naming only users that exist", () => {
    const users = { has: (name: string) => name === 'default' || name === 'app' };
    const byApp = parseKillFilter(['USER', 'app'], users) as KillFilter;
    expect(killMatches(byApp, client, false, now)).toBe(false);
    expect(killMatches(byApp, { ...client, user: { name: 'app' } }, false, now)).toBe(true);
    expect(killMatches(filterOf('USER', 'default'), { ...client, user: { name: 'app' } }, false, now)).toBe(false);
    expect((parseKillFilter(['USER', 'other'], users) as Buffer).toString()).toBe("-ERR No such user 'other'\r\n");
  });

  it('spares the sender unless SKIPME no', () => {
    expect(killMatches(filterOf('ID', '5'), client, true, now)).toBe(false);
    expect(killMatches(filterOf('ID', '5', 'SKIPME', 'no'), client, true, now)).toBe(true);
    expect(killMatches(filterOf('10.0.0.9:5555'), client, true, now)).toBe(true);
  });

  it('counts MAXAGE in whole seconds of age', () => {
    expect(killMatches(filterOf('MAXAGE', '10'), client, false, now)).toBe(true);
    expect(killMatches(filterOf('MAXAGE', '11'), client, false, now)).toBe(false);
  });
});

describe('CLIENT KILL', () => {
  /** `count` fake sessions in one process, recording how each was closed. */
  function sessions(count: number): (LocalSession & { fate: string })[] {
    const all: (LocalSession & { fate: string })[] = [];
    for (let i = 1; i <= count; i++) {
      const session = fakeLocalSession({
        id: i,
        remoteAddress: `127.0.0.1:${5000 + i}`,
        fate: 'open',
        connected: true as boolean,
        allSessions: () => all,
        closeAfterReplies() {
          this.fate = 'after replies';
        },
        destroy() {
          this.fate = 'destroyed';
          this.connected = false;
        },
      });
      all.push(session);
    }
    return all;
  }

  it('closes the others at once and counts them, sparing the sender', () => {
    const [a, b, c] = sessions(3);
    expect(runLocalCommand(a, 'CLIENT', 'KILL', 'USER', 'default').toString()).toBe(':2\r\n');
    expect([a.fate, b.fate, c.fate]).toEqual(['open', 'destroyed', 'destroyed']);
    // Killed already, if not yet gone from the set: not counted twice.
    expect(runLocalCommand(a, 'CLIENT', 'KILL', 'ID', '2').toString()).toBe(':0\r\n');
  });

  it('closes the sender after its reply with SKIPME no, and in the old form', () => {
    const [a, b] = sessions(2);
    expect(runLocalCommand(a, 'CLIENT', 'KILL', 'ID', '1', 'SKIPME', 'no').toString()).toBe(':1\r\n');
    expect(a.fate).toBe('after replies');
    expect(runLocalCommand(b, 'CLIENT', 'KILL', '127.0.0.1:5002').toString()).toBe('+OK\r\n');
    expect(b.fate).toBe('after replies');
    expect(runLocalCommand(b, 'CLIENT', 'KILL', '127.0.0.1:9').toString()).toBe('-ERR No such client\r\n');
  });
});
