import { describe, expect, it } from 'vitest';
import { requestViewOf } from '../../helpers/request-view-of.ts';
import { applySubscription, bulkLatin1, isMarkerPong, isNoChannel, readShardedConfirmation, subscribedPong, sunsubscribed, withCount } from '../../../src/proxy/pubsub-replies.ts';

const resp = (text: string): Buffer => Buffer.from(text, 'latin1');
const text = (reply: Buffer): string => reply.toString('latin1').replace(/\r\n/g, '|');

describe('isMarkerPong', () => {
  it("knows PING's replies on a tunnel, in and out of subscribed mode, and nothing else", () => {
    expect(isMarkerPong(resp('+PONG\r\n'))).toBe(true);
    expect(isMarkerPong(resp('*2\r\n$4\r\npong\r\n$0\r\n\r\n'))).toBe(true);
    expect(isMarkerPong(resp('*2\r\n$4\r\npong\r\n$2\r\nhi\r\n'))).toBe(false);
    expect(isMarkerPong(resp('*3\r\n$8\r\nsmessage\r\n$4\r\npong\r\n$0\r\n\r\n'))).toBe(false);
    expect(isMarkerPong(resp('+OK\r\n'))).toBe(false);
  });
});

describe('subscribedPong', () => {
  it("is Redis's reply to PING from a RESP2 client in subscribed mode", () => {
    expect(text(subscribedPong(null))).toBe('*2|$4|pong|$0||');
    expect(text(subscribedPong(resp('hi')))).toBe('*2|$4|pong|$2|hi|');
  });
});

describe('readShardedConfirmation', () => {
  it('reads ssubscribe and sunsubscribe confirmations in RESP2 and RESP3', () => {
    const subscribed = readShardedConfirmation(resp('*3\r\n$10\r\nssubscribe\r\n$1\r\na\r\n:1\r\n'));
    expect(subscribed).toMatchObject({ unsubscribe: false, count: 1 });
    expect(text(subscribed!.channel)).toBe('$1|a|');
    const unsubscribed = readShardedConfirmation(resp('>3\r\n$12\r\nsunsubscribe\r\n$1\r\na\r\n:0\r\n'));
    expect(unsubscribed).toMatchObject({ unsubscribe: true, count: 0 });
    expect(isNoChannel(unsubscribed!)).toBe(false);
    expect(isNoChannel(readShardedConfirmation(resp('*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n'))!)).toBe(true);
    expect(isNoChannel(readShardedConfirmation(resp('>3\r\n$12\r\nsunsubscribe\r\n_\r\n:0\r\n'))!)).toBe(true);
  });

  it('leaves everything else alone: messages, plain confirmations, errors, odd shapes', () => {
    for (const other of [
      '*3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$2\r\nhi\r\n',
      '*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n',
      '*3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:1\r\n',
      '-MOVED 15495 127.0.0.1:7000\r\n',
      '*3\r\n$10\r\nssubscribe\r\n$1\r\na\r\n$1\r\n1\r\n',
      '*30\r\n$10\r\nssubscribe\r\n$1\r\na\r\n:1\r\n',
      '*3\r\n$10\r\nssubscribe\r\n',
    ]) {
      expect(readShardedConfirmation(resp(other))).toBe(null);
    }
  });
});

describe('withCount', () => {
  it('changes the count only, in the protocol the confirmation came in', () => {
    const plain = resp('*3\r\n$10\r\nssubscribe\r\n$3\r\nabc\r\n:1\r\n');
    expect(text(withCount(plain, readShardedConfirmation(plain)!, 12))).toBe('*3|$10|ssubscribe|$3|abc|:12|');
    expect(withCount(plain, readShardedConfirmation(plain)!, 1)).toBe(plain);
    const push = resp('>3\r\n$12\r\nsunsubscribe\r\n$3\r\nabc\r\n:0\r\n');
    expect(text(withCount(push, readShardedConfirmation(push)!, 4))).toBe('>3|$12|sunsubscribe|$3|abc|:4|');
  });
});

describe('sunsubscribed', () => {
  it('makes a confirmation for a channel given as a bulk, or for none', () => {
    expect(text(sunsubscribed(resp('$1\r\nx\r\n'), 2, false))).toBe('*3|$12|sunsubscribe|$1|x|:2|');
    expect(text(sunsubscribed(null, 0, false))).toBe('*3|$12|sunsubscribe|$-1|:0|');
    expect(text(sunsubscribed(null, 0, true))).toBe('>3|$12|sunsubscribe|_|:0|');
  });
});

describe('the names a client holds', () => {
  it('follow what the client sends: names added, removed by name, or all', () => {
    const names = new Set<string>();
    applySubscription(names, requestViewOf(['SUBSCRIBE', 'a', 'b']), true);
    applySubscription(names, requestViewOf(['UNSUBSCRIBE', 'a', 'never']), false);
    expect([...names]).toEqual(['b']);
    applySubscription(names, requestViewOf(['UNSUBSCRIBE']), false);
    expect(names.size).toBe(0);
  });

  it('read a node\'s bulk the way a request argument is read, whatever its bytes', () => {
    const names = new Set<string>();
    applySubscription(names, requestViewOf(['SSUBSCRIBE', Buffer.from('é', 'utf8'), 'plain']), true);
    const channel = Buffer.concat([Buffer.from('$2\r\n'), Buffer.from('é', 'utf8'), Buffer.from('\r\n')]);
    expect(names.has(bulkLatin1(channel))).toBe(true);
    expect(names.has(bulkLatin1(resp('$5\r\nplain\r\n')))).toBe(true);
  });
});
