import { expect, it } from 'vitest';
import { formatAddress, splitAddress } from '../../../src/cluster/address.ts';

it('shows a client address as Redis does: an IPv6 host in brackets', () => {
  expect(formatAddress('127.0.0.1', 50000)).toBe('127.0.0.1:50000');
  expect(formatAddress('::1', 50000)).toBe('[::1]:50000');
  expect(formatAddress('::ffff:10.0.0.1', 6379)).toBe('[::ffff:10.0.0.1]:6379');
});

it('splits host:port at the last colon, with or without brackets around an IPv6 host', () => {
  expect(splitAddress('10.0.0.1:7000')).toEqual({ host: '10.0.0.1', port: 7000 });
  expect(splitAddress('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
  expect(splitAddress('::1:7000')).toEqual({ host: '::1', port: 7000 });
});
