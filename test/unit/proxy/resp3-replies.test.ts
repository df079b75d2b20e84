import { describe, expect, it } from 'vitest';
import type { LocalSession } from '../../../src/proxy/local-commands.ts';
import type { Fanout } from '../../../src/proxy/split/fanout.ts';
import { mergeInfo, type ProxyInfo } from '../../../src/proxy/split/merge-info.ts';
import { randomNonNull, reorderArrays } from '../../../src/proxy/split/merge-replies.ts';
import { arrayElements, isNull, readString } from '../../../src/resp/reply-reader.ts';
import { hello3Frame } from '../../../src/upstream/backend-auth.ts';
import { fakeLocalSession, runLocalCommand } from '../../helpers/local-session.ts';

const resp = (text: string): Buffer => Buffer.from(text, 'latin1');
const text = (reply: Buffer): string => reply.toString('latin1').replace(/\r\n/g, '|');

/** Runs a local command the way the session does, on `session`. */
function local(session: LocalSession, ...args: string[]): string {
  return text(runLocalCommand(session, ...args));
}

function fakeSession(refuseSwitch = false): LocalSession & { switches: boolean[]; resp3: boolean } {
  const switches: boolean[] = [];
  return fakeLocalSession({
    resp3: false,
    switches,
    setProtocol(this: { resp3: boolean }, resp3: boolean) {
      if (refuseSwitch) return resp('-ERR slotgate: no\r\n');
      switches.push(resp3);
      this.resp3 = resp3;
      return null;
    },
  });
}

const FIELDS = '$6|server|$5|redis|$7|version|$5|7.2.4|$5|proto|:PROTO|$2|id|:7|$4|mode|$10|standalone|$4|role|$6|master|$7|modules|*0|';

describe('HELLO', () => {
  it('switches to RESP3 and answers with a map', () => {
    const session = fakeSession();
    expect(local(session, 'HELLO', '3')).toBe(`%7|${FIELDS.replace('PROTO', '3')}`);
    expect(session.resp3).toBe(true);
  });

  it('switches back with HELLO 2, answering with an array of pairs', () => {
    const session = fakeSession();
    local(session, 'HELLO', '3');
    expect(local(session, 'HELLO', '2')).toBe(`*14|${FIELDS.replace('PROTO', '2')}`);
    expect(session.switches).toEqual([true, false]);
  });

  it('answers in the current protocol without a version, switching nothing', () => {
    const session = fakeSession();
    local(session, 'HELLO', '3');
    expect(local(session, 'HELLO')).toMatch(/^%7\|/);
    expect(session.switches).toEqual([true]);
  });

  it('takes SETNAME with HELLO 3, and refuses other versions with NOPROTO', () => {
    const session = fakeSession();
    expect(local(session, 'HELLO', '3', 'SETNAME', 'app')).toMatch(/^%7\|/);
    expect(session.name?.toString()).toBe('app');
    expect(local(session, 'HELLO', '4')).toBe('-NOPROTO unsupported protocol version|');
    expect(session.resp3).toBe(true);
  });

  it('passes on a refused switch and stays in its protocol', () => {
    const session = fakeSession(true);
    expect(local(session, 'HELLO', '3')).toBe('-ERR slotgate: no|');
    expect(session.resp3).toBe(false);
  });
});

describe('CLIENT in RESP3', () => {
  it('answers GETNAME of an unnamed client with the RESP3 null', () => {
    const session = fakeSession();
    expect(local(session, 'CLIENT', 'GETNAME')).toBe('$-1|');
    session.resp3 = true;
    expect(local(session, 'CLIENT', 'GETNAME')).toBe('_|');
  });

  it('reports resp=3 in CLIENT INFO', () => {
    const session = fakeSession();
    session.resp3 = true;
    expect(local(session, 'CLIENT', 'INFO')).toMatch(/ resp=3\n\|$/);
  });
});

describe('reply-reader in RESP3', () => {
  it('knows every null', () => {
    expect(isNull(resp('_\r\n'))).toBe(true);
    expect(isNull(resp('$-1\r\n'))).toBe(true);
    expect(isNull(resp('*-1\r\n'))).toBe(true);
    expect(isNull(resp('$0\r\n\r\n'))).toBe(false);
    expect(isNull(resp(':-1\r\n'))).toBe(false);
  });

  it('reads the text of a verbatim string, without its format', () => {
    expect(readString(resp('=15\r\ntxt:Some string\r\n'))).toBe('Some string');
    expect(readString(resp('=4\r\ntxt:\r\n'))).toBe('');
  });

  it('cuts push and set replies into their elements', () => {
    expect(arrayElements(resp('>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n'))?.map(text)).toEqual(['$7|message|', '$1|a|', '$1|b|']);
    expect(arrayElements(resp('~2\r\n+x\r\n_\r\n'))?.map(text)).toEqual(['+x|', '_|']);
  });
});

describe('merges in RESP3', () => {
  it('RANDOMKEY skips masters that answered the RESP3 null', () => {
    expect(text(randomNonNull([resp('_\r\n'), resp('$1\r\nk\r\n'), resp('_\r\n')]))).toBe('$1|k|');
    expect(text(randomNonNull([resp('_\r\n'), resp('_\r\n')]))).toBe('_|');
  });

  it('MGET keeps RESP3 nulls in their places', () => {
    const parts = [resp('*2\r\n$2\r\nv1\r\n_\r\n'), resp('*1\r\n_\r\n')];
    expect(text(reorderArrays(parts, { order: Int32Array.from([1, 2, 0]) } as unknown as Fanout))).toBe('*3|_|$2|v1|_|');
  });

  it('INFO reads verbatim strings and answers with one', () => {
    const proxy: ProxyInfo = {
      version: '0.1.0', masters: 2, clients: 1, redirectsMoved: 0, redirectsAsk: 0, parkedNow: 0,
      parkedTotal: 0, retryBudgetExpired: 0, longestParkMs: 0, nodes: [],
    };
    const part = (keys: number): Buffer => {
      const body = Buffer.from(`txt:# Server\r\nredis_version:7.2.4\r\n\r\n# Keyspace\r\ndb0:keys=${keys},expires=0,avg_ttl=0\r\n`);
      return Buffer.concat([resp(`=${body.length}\r\n`), body, resp('\r\n')]);
    };
    const merged = mergeInfo([part(2), part(3)], proxy);
    expect(merged.toString('latin1', 0, 1)).toBe('=');
    const header = merged.indexOf('\r\n');
    expect(Number(merged.toString('latin1', 1, header))).toBe(merged.length - header - 4);
    const body = readString(merged) ?? '';
    expect(body.startsWith('# Proxy\r\n')).toBe(true);
    expect(body).toContain('db0:keys=5,expires=0,avg_ttl=0');
    expect(body).toContain('redis_version:7.2.4');
  });
});

describe('hello3Frame', () => {
  it('is HELLO 3, with AUTH folded in when there is a password', () => {
    expect(text(hello3Frame({ username: '', password: '' }))).toBe('*2|$5|HELLO|$1|3|');
    expect(text(hello3Frame({ username: '', password: 'pw' }))).toBe('*5|$5|HELLO|$1|3|$4|AUTH|$7|default|$2|pw|');
    expect(text(hello3Frame({ username: 'app', password: 'pw' }))).toBe('*5|$5|HELLO|$1|3|$4|AUTH|$3|app|$2|pw|');
  });
});
