import { describe, expect, it } from 'vitest';
import { IdleClientSweep, type SweptClient } from '../../../src/server/idle-client-sweep.ts';

/** A client whose fields a test may change between sweeps, as a session's change. */
interface FakeClient extends SweptClient {
  lastReadAt: number;
  timeoutExempt: boolean;
  bytesDelivered: number;
  destroyed: boolean;
}

function client(lastReadAt: number, timeoutExempt = false): FakeClient {
  return {
    remoteAddress: '127.0.0.1:1',
    lastReadAt,
    timeoutExempt,
    bytesDelivered: 0,
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

  it('judges every client by a timeout a reload changed, from the next pass', () => {
    const sweep = new IdleClientSweep(10);
    const quiet = client(0);
    expect(sweep.sweep([quiet], 5000)).toEqual([]);
    sweep.setTimeoutSeconds(4);
    expect(sweep.sweep([quiet], 5000)).toEqual([quiet]);
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
    reader.lastReadAt = 5000;
    expect(sweep.sweep([reader], 7000)).toEqual([]);
    expect(sweep.sweep([reader], 7001)).toEqual([reader]);
  });

  it('counts reply bytes the client took as activity: one reading a large reply is not idle', () => {
    const sweep = new IdleClientSweep(2);
    const downloading = client(0);
    sweep.sweep([downloading], 1000);
    for (const now of [2000, 3000, 4000, 5000]) {
      downloading.bytesDelivered += 65536;
      expect(sweep.sweep([downloading], now)).toEqual([]);
    }
    // It stopped reading: no progress since 5000, so idle from there.
    expect(sweep.sweep([downloading], 7000)).toEqual([]);
    expect(sweep.sweep([downloading], 7001)).toEqual([downloading]);
  });

  it('closes a client that stops reading its replies, as Redis does: bytes waiting are not activity', () => {
    const sweep = new IdleClientSweep(2);
    const stalled = client(0);
    stalled.bytesDelivered = 4096; // what it took before it stopped reading; the rest waits unsent
    expect(sweep.sweep([stalled], 1000)).toEqual([]);
    expect(sweep.sweep([stalled], 2001)).toEqual([stalled]);
  });
});
