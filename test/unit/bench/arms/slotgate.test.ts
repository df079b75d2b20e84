import { describe, expect, it } from 'vitest';
import { slotgateInvocation } from '../../../../bench/arms/slotgate.ts';

const seeds = ['127.0.0.1:7000', '127.0.0.1:7001'];

describe('slotgateInvocation', () => {
  it('has redis-benchmark connect over TCP to slotgate and slotgate-all', () => {
    const all = slotgateInvocation('slotgate-all', 7400, seeds, 2, '/tmp/c');
    expect(all.flags).toEqual(['--bind', '127.0.0.1', '--port', '7400', '--seeds', '127.0.0.1:7000,127.0.0.1:7001', '--workers', '2']);
    expect(all).toMatchObject({ pingAt: 7400, target: ['-h', '127.0.0.1', '-p', '7400'], targetPattern: '-h 127.0.0.1 -p <slotgate-all>' });
    expect(all.description).not.toMatch(/unix/i);
  });

  it('gives slotgate-unix a socket in the temp dir, which redis-benchmark connects to with -s and start-up pings', () => {
    const unix = slotgateInvocation('slotgate-unix', 7400, seeds, 1, '/tmp/c');
    expect(unix.flags).toEqual([...slotgateInvocation('slotgate', 7400, seeds, 1, '/tmp/c').flags, '--unix-socket', '/tmp/c/slotgate-unix.sock']);
    expect(unix).toMatchObject({ pingAt: '/tmp/c/slotgate-unix.sock', target: ['-s', '/tmp/c/slotgate-unix.sock'], targetPattern: '-s <temp dir>/slotgate-unix.sock' });
    expect(unix.description).toMatch(/--unix-socket <temp dir>\/slotgate-unix\.sock`; redis-benchmark connects to it over that Unix domain socket .* to the cluster over loopback TCP/);
  });
});
