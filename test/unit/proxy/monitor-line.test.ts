import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { requestViewOf } from '../../helpers/request-view-of.ts';
import { formatTimestamp, MonitorClock, monitorArgs, monitorLine } from '../../../src/proxy/monitor-line.ts';

/** MONITOR output of redis-server 7.0.15 for these commands, byte for byte after the client address. */
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/monitor-lines-redis-7.0.json', import.meta.url), 'utf8')) as {
  cases: { args: string[]; shown: string }[];
};


function shown(...args: (string | Buffer)[]): string {
  return monitorArgs(requestViewOf(args), String(args[0]).toLowerCase()).toString('latin1');
}

describe('monitorArgs', () => {
  it.each(fixture.cases.map((c) => [c.shown.slice(0, 60), c] as const))('shows %s as redis-server 7.0 does', (_, c) => {
    const args = c.args.map((arg) => Buffer.from(arg, 'base64'));
    expect(monitorArgs(requestViewOf(args), args[0].toString('latin1').toLowerCase()).toString('latin1')).toBe(c.shown);
  });

  it('escapes the bytes sdscatrepr names, and \\xhh for the rest outside printable ASCII', () => {
    expect(shown('SET', 'k', '"\\\n\r\t\x07\x08\x00\x7f\x80\xff ~')).toBe('"SET" "k" "\\"\\\\\\n\\r\\t\\a\\b\\x00\\x7f\\x80\\xff ~"');
  });

  it('redacts every AUTH pair of HELLO, even after a first that Redis stops at when it fails', () => {
    expect(shown('HELLO', '2', 'AUTH', 'u', 'p', 'AUTH', 'v', 'q')).toBe('"HELLO" "2" "AUTH" "(redacted)" "(redacted)" "AUTH" "(redacted)" "(redacted)"');
  });

  it('leaves other commands alone, whatever their arguments', () => {
    expect(shown('GET', 'AUTH')).toBe('"GET" "AUTH"');
  });
});

describe('monitorLine', () => {
  it('puts the time, database 0 and the client before the arguments', () => {
    const line = monitorLine('1795766276.258519', '127.0.0.1:37950', Buffer.from('"GET" "k"'));
    expect(line.toString('latin1')).toBe('+1795766276.258519 [0 127.0.0.1:37950] "GET" "k"\r\n');
  });
});

describe('timestamps', () => {
  it('have seconds and six digits of microseconds', () => {
    expect(formatTimestamp(1795766276258.519)).toBe('1795766276.258519');
    expect(formatTimestamp(1795766276000.0071)).toBe('1795766276.000007');
    expect(formatTimestamp(1795766276999.9995)).toBe('1795766276.999999');
  });

  it('follow the wall clock, never going back from one line to the next', () => {
    const clock = new MonitorClock();
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      const text = clock.now();
      expect(text).toMatch(/^\d{10}\.\d{6}$/);
      const value = Number(text);
      expect(value).toBeGreaterThanOrEqual(last);
      last = value;
    }
    expect(Math.abs(last * 1000 - Date.now())).toBeLessThan(50);
  });
});
