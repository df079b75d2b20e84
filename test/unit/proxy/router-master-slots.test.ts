import { expect, it } from 'vitest';
import type { RoutedRequest } from '../../../src/proxy/routed-request.ts';
import { encodeCommand } from '../../../src/resp/encode.ts';
import { testRouter } from '../../helpers/test-router.ts';

it('still reaches every master by a slot of its own after a MOVED of the slot it was reached by', () => {
  const router = testRouter([
    { start: 0, end: 8191, master: '127.0.0.1:1', replicas: [] },
    { start: 8192, end: 16383, master: '127.0.0.1:2', replicas: [] },
  ]);
  try {
    const owners = () => [0, 1].map((master) => router.ownerOf(router.slotOfMaster(master)));
    expect(owners()).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    // A reshard moves the first master's lowest slot first; a request for it hears MOVED before
    // the next refresh comes.
    const lowest = router.slotOfMaster(0);
    const request = { frame: encodeCommand(['GET', 'k']), slot: lowest, affinity: 0, redirects: 0, readOnly: true, parkedAt: 0, replicaRead: false, resp3: false, replyCount: 1, onReply() {}, onFailure() {}, complete() {} } satisfies RoutedRequest;
    router.onClusterError(request, Buffer.from(`-MOVED ${lowest} 127.0.0.1:2\r\n`), '127.0.0.1:1');
    expect(router.ownerOf(lowest)).toBe('127.0.0.1:2');
    // DBSIZE, KEYS, SCAN, FLUSHALL: one part to each master, not two to the second.
    expect(owners()).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
  } finally {
    router.close();
  }
});
