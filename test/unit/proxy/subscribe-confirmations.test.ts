import { expect, it } from 'vitest';
import type { PendingRequest } from '../../../src/proxy/pending-request.ts';
import { SubscribeConfirmations } from '../../../src/proxy/session-pubsub.ts';
import { RequestParser } from '../../../src/resp/request-parser.ts';
import type { RequestView } from '../../../src/resp/request-view.ts';

/** The sink for `SUBSCRIBE <names>`, and what reached the client through it. */
function confirmationsOf(names: Set<string>, ...channels: string[]): { sink: SubscribeConfirmations; delivered: Buffer[][] } {
  const delivered: Buffer[][] = [];
  const request = { completeInPieces: (pieces: Buffer[]) => delivered.push(pieces) } as unknown as PendingRequest;
  let sink: SubscribeConfirmations | undefined;
  const parser = new RequestParser(
    {
      onRequest: (view: RequestView) => (sink = new SubscribeConfirmations(request, view, names)),
      onProtocolError: (message) => {
        throw new Error(message);
      },
    },
    { protoMaxBulkLen: 1024, maxMultibulkLength: 16 },
  );
  parser.feed(Buffer.from(['SUBSCRIBE', ...channels].map((arg) => `$${arg.length}\r\n${arg}\r\n`).reduce((frame, arg) => frame + arg, `*${channels.length + 1}\r\n`)));
  return { sink: sink as SubscribeConfirmations, delivered };
}

it('keeps the names of a SUBSCRIBE the node confirmed, and drops those of one it refused', () => {
  const names = new Set<string>();
  const confirmed = confirmationsOf(names, 'a', 'b');
  names.add('a').add('b');
  confirmed.sink.completeInPieces([Buffer.from('*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n')]);
  expect([...names]).toEqual(['a', 'b']);
  // A node's user without rights to the channels answers NOPERM: nothing was subscribed.
  const refused = confirmationsOf(names, 'c');
  names.add('c');
  const noperm = Buffer.from('-NOPERM this user has no permissions to access one of the channels used as arguments\r\n');
  refused.sink.completeInPieces([noperm]);
  expect([...names]).toEqual(['a', 'b']);
  expect(refused.delivered).toEqual([[noperm]]);
});

it('leaves the names held before a refused SUBSCRIBE that named them again', () => {
  const names = new Set(['held']);
  // Made before the command's names are added, as SessionPubSub does.
  const refused = confirmationsOf(names, 'held', 'new');
  names.add('new');
  refused.sink.completeInPieces([Buffer.from('-NOPERM this user has no permissions to access one of the channels used as arguments\r\n')]);
  expect([...names]).toEqual(['held']);
});
