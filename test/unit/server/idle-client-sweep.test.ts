import { describe, expect, it } from 'vitest';
import { IdleClientSweep, type SweptClient } from '../../../src/server/idle-client-sweep.ts';

/** A client whose fields a test may change between sweeps, as a session's change. */
interface FakeClient extends SweptClient {
  lastActiveAt: number;
  timeoutExempt: boolean;
  destroyed: boolean;
}

function client(lastActiveAt: number, timeoutExempt = false): FakeClient {
  return {
    remoteAddress: '127.0.0.1:1',
    lastActiveAt,
    timeoutExempt,
    destroyed: false,
    destroy() {
      this.destroyed = true;
    },
  };
}

describe('IdleClientSweep', () => {
  it('closes the clients idle for longer than the timeout, and only those', () => {
    const sweep = new IdleClientSweep(2);
    const idle = client(0);
    const justUnder = client(1000);
    const recent = client(9000);
    expect(sweep.sweep([idle, justUnder, recent], 3000)).toEqual([idle]);
    expect([idle.destroyed, justUnder.destroyed, recent.destroyed]).toEqual([true, false, false]);
  });

  it('spares a client while it is exempt (blocked, subscribed, owed a reply)', () => {
    const sweep = new IdleClientSweep(1);
    const blocked = client(0, true);
    expect(sweep.sweep([blocked], 60_000)).toEqual([]);
    expect(blocked.destroyed).toBe(false);
  });

  it('counts the last sweep that found a client exempt as activity: its reply was written after', () => {
    const sweep = new IdleClientSweep(2);
    const slow = client(0, true);
    sweep.sweep([slow], 10_000);
    slow.timeoutExempt = false;
    expect(sweep.sweep([slow], 11_000)).toEqual([]);
    expect(sweep.sweep([slow], 12_000)).toEqual([]);
    expect(sweep.sweep([slow], 12_001)).toEqual([slow]);
  });

  it('goes by the latest read once the client has read since', () => {
    const sweep = new IdleClientSweep(2);
    const reader = client(0, true);
    sweep.sweep([reader], 1000);
    reader.timeoutExempt = false;
    reader.lastActiveAt = 5000;
    expect(sweep.sweep([reader], 7000)).toEqual([]);
    expect(sweep.sweep([reader], 7001)).toEqual([reader]);
  });
});
