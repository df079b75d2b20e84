import { describe, expect, it } from 'vitest';
import { SlotMap } from '../../../src/cluster/slot-map.ts';
import { parseRedirect } from '../../../src/cluster/redirect.ts';

const ranges = [
  { start: 0, end: 5460, master: '127.0.0.1:7000', replicas: ['127.0.0.1:7003'] },
  { start: 5461, end: 10922, master: '127.0.0.1:7001', replicas: ['127.0.0.1:7004'] },
  { start: 10923, end: 16383, master: '127.0.0.1:7002', replicas: [] },
];

describe('SlotMap', () => {
  it('gives every slot its master', () => {
    const map = SlotMap.fromRanges(ranges);
    expect(map.ownerOf(0)).toBe('127.0.0.1:7000');
    expect(map.ownerOf(5460)).toBe('127.0.0.1:7000');
    expect(map.ownerOf(5461)).toBe('127.0.0.1:7001');
    expect(map.ownerOf(16383)).toBe('127.0.0.1:7002');
    expect(map.masters).toEqual(['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7002']);
    expect(map.replicas.get('127.0.0.1:7000')).toEqual(['127.0.0.1:7003']);
    expect(map.unassignedCount()).toBe(0);
  });

  it('knows which slots nobody serves', () => {
    const map = SlotMap.fromRanges([{ start: 100, end: 199, master: 'a:1', replicas: [] }]);
    expect(map.ownerOf(99)).toBeUndefined();
    expect(map.ownerOf(150)).toBe('a:1');
    expect(map.unassignedCount()).toBe(16384 - 100);
  });

  it('merges ranges of one master and patches single slots', () => {
    const map = SlotMap.fromRanges([
      { start: 0, end: 10, master: 'a:1', replicas: [] },
      { start: 11, end: 16383, master: 'b:2', replicas: [] },
      { start: 5, end: 5, master: 'b:2', replicas: [] },
    ]);
    expect(map.ownerOf(5)).toBe('b:2');
    map.assign(5, 'c:3');
    expect(map.ownerOf(5)).toBe('c:3');
    expect(map.masters).toEqual(['a:1', 'b:2', 'c:3']);
  });

  it('compares owners, not order of discovery', () => {
    const a = SlotMap.fromRanges(ranges);
    const b = SlotMap.fromRanges([...ranges].reverse());
    expect(a.sameOwners(b)).toBe(true);
    b.assign(1, '127.0.0.1:7001');
    expect(a.sameOwners(b)).toBe(false);
  });
});

describe('parseRedirect', () => {
  it('reads MOVED and ASK', () => {
    expect(parseRedirect(Buffer.from('-MOVED 3999 127.0.0.1:6381\r\n'), 'x')).toEqual({ ask: false, slot: 3999, address: '127.0.0.1:6381' });
    expect(parseRedirect(Buffer.from('-ASK 1 10.0.0.2:7000\r\n'), 'x')).toEqual({ ask: true, slot: 1, address: '10.0.0.2:7000' });
  });

  it('fills in an empty host with the node that answered', () => {
    expect(parseRedirect(Buffer.from('-MOVED 5 :7002\r\n'), '127.0.0.1')?.address).toBe('127.0.0.1:7002');
  });

  it('keeps IPv6 addresses whole', () => {
    expect(parseRedirect(Buffer.from('-MOVED 5 ::1:7002\r\n'), 'x')?.address).toBe('::1:7002');
  });

  it('ignores other errors and malformed redirects', () => {
    expect(parseRedirect(Buffer.from('-ERR wrong\r\n'), 'x')).toBeNull();
    expect(parseRedirect(Buffer.from('-MOVED x 1.2.3.4:5\r\n'), 'x')).toBeNull();
    expect(parseRedirect(Buffer.from('-MOVED 99999 1.2.3.4:5\r\n'), 'x')).toBeNull();
    expect(parseRedirect(Buffer.from('-MOVED 5\r\n'), 'x')).toBeNull();
  });
});

describe('splitAddress', () => {
  it('splits host and port, with or without IPv6 brackets', async () => {
    const { splitAddress } = await import('../../../src/cluster/address.ts');
    expect(splitAddress('127.0.0.1:7000')).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(splitAddress('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    expect(splitAddress('::1:7000')).toEqual({ host: '::1', port: 7000 });
  });
});
