import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.ts';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';

const setup = clusterWithProxy();

it('delivers PUBLISH to SUBSCRIBE and PSUBSCRIBE clients, wherever each landed', async () => {
  const subscribers = await Promise.all([0, 1, 2].map(() => RawClient.open(setup.proxy.port)));
  for (const subscriber of subscribers) {
    subscriber.send('SUBSCRIBE', 'news');
    expect(await subscriber.read(1)).toEqual([['subscribe', 'news', 1]]);
    subscriber.send('PSUBSCRIBE', 'sport.*');
    expect(await subscriber.read(1)).toEqual([['psubscribe', 'sport.*', 2]]);
  }
  const publisher = await RawClient.open(setup.proxy.port);
  await publisher.command('PUBLISH', 'news', 'hello');
  await publisher.command('PUBLISH', 'sport.tennis', 'ace');
  for (const subscriber of subscribers) {
    expect(await subscriber.read(2)).toEqual([
      ['message', 'news', 'hello'],
      ['pmessage', 'sport.*', 'sport.tennis', 'ace'],
    ]);
  }
  for (const client of [...subscribers, publisher]) client.close();
});

it("delivers one publisher's messages in the order it published them, whatever their channels", async () => {
  // Several subscribers, so some sit on other masters than the publisher's messages start from.
  const subscribers = await Promise.all([0, 1, 2, 3].map(() => RawClient.open(setup.proxy.port)));
  for (const subscriber of subscribers) {
    subscriber.send('SUBSCRIBE', 'a', 'b', 'c');
    expect(await subscriber.read(3)).toHaveLength(3);
  }
  const publisher = await RawClient.open(setup.proxy.port);
  const channels = ['a', 'b', 'c'];
  const sent: string[][] = [];
  for (let i = 0; i < 30; i++) {
    const channel = channels[i % 3];
    sent.push(['message', channel, String(i)]);
    publisher.send('PUBLISH', channel, String(i));
  }
  await publisher.read(30);
  for (const subscriber of subscribers) expect(await subscriber.read(30)).toEqual(sent);
  for (const client of [...subscribers, publisher]) client.close();
});

it('allows only pub/sub commands while subscribed, and everything again after the last unsubscribe', async () => {
  const client = await RawClient.open(setup.proxy.port);
  expect(await client.command('SET', 'before', '1')).toBe('OK');
  client.send('SUBSCRIBE', 'a', 'b');
  expect(await client.read(2)).toEqual([['subscribe', 'a', 1], ['subscribe', 'b', 2]]);
  expect(String(await client.command('GET', 'before'))).toMatch(/Can't execute 'get'/);
  expect(await client.command('PING')).toEqual(['pong', '']);
  client.send('UNSUBSCRIBE');
  expect((await client.read(2)).map((reply) => (reply as unknown[])[2]).sort()).toEqual([0, 1]);
  expect(await client.command('GET', 'before')).toBe('1');
  client.close();
});

it('stays subscribed when a SUBSCRIBE is pipelined behind an UNSUBSCRIBE that leaves none', async () => {
  const client = await RawClient.open(setup.proxy.port);
  const publisher = await RawClient.open(setup.proxy.port);
  try {
    client.send('SUBSCRIBE', 'pipelined:a');
    expect(await client.read(1)).toEqual([['subscribe', 'pipelined:a', 1]]);
    client.write('*2\r\n$11\r\nUNSUBSCRIBE\r\n$11\r\npipelined:a\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$11\r\npipelined:b\r\n');
    expect(await client.read(2)).toEqual([['unsubscribe', 'pipelined:a', 0], ['subscribe', 'pipelined:b', 1]]);
    // Subscribed to b, as Redis sees it: other commands are refused, HELLO 3 too, and b's messages come.
    expect(String(await client.command('GET', 'before'))).toMatch(/Can't execute 'get'/);
    expect(String(await client.command('CLIENT', 'INFO'))).toMatch(/Can't execute/);
    await publisher.command('PUBLISH', 'pipelined:b', 'still here');
    expect(await client.read(1)).toEqual([['message', 'pipelined:b', 'still here']]);
  } finally {
    client.close();
    publisher.close();
  }
});

it("answers PUBSUB CHANNELS, NUMSUB and NUMPAT over every master's subscribers", async () => {
  // Consecutive clients are spread over the masters, each subscribing through its own.
  const subscribers = await Promise.all([0, 1, 2, 3, 4, 5].map(() => RawClient.open(setup.proxy.port)));
  const asker = await RawClient.open(setup.proxy.port);
  try {
    for (const subscriber of subscribers) {
      subscriber.send('SUBSCRIBE', 'counted:a');
      subscriber.send('PSUBSCRIBE', 'counted:*');
      expect(await subscriber.read(2)).toHaveLength(2);
    }
    expect(await asker.command('PUBSUB', 'NUMSUB', 'counted:a', 'counted:none')).toEqual(['counted:a', 6, 'counted:none', 0]);
    expect(((await asker.command('PUBSUB', 'CHANNELS', 'counted:*')) as string[])).toEqual(['counted:a']);
    // Distinct patterns, as one Redis counts them: the one all six share.
    expect(await asker.command('PUBSUB', 'NUMPAT')).toBe(1);
  } finally {
    for (const client of [...subscribers, asker]) client.close();
  }
});

it('runs a command pipelined behind the unsubscribe, by name, of the last channel', async () => {
  const client = await RawClient.open(setup.proxy.port);
  try {
    client.write('SUBSCRIBE last:a\r\nUNSUBSCRIBE last:a\r\nSSUBSCRIBE last:s\r\nSUNSUBSCRIBE last:s\r\nPING\r\n');
    expect(await client.read(5)).toEqual([['subscribe', 'last:a', 1], ['unsubscribe', 'last:a', 0], ['ssubscribe', 'last:s', 1], ['sunsubscribe', 'last:s', 0], 'PONG']);
  } finally {
    client.close();
  }
});

it('answers the (S)SUBSCRIBE confirmations owed before a pipelined RESET, then RESET, then the rest', async () => {
  const client = await RawClient.open(setup.proxy.port);
  try {
    client.write('SUBSCRIBE reset:a reset:b\r\nSSUBSCRIBE reset:s\r\nRESET\r\nPING\r\n');
    expect(await client.read(5)).toEqual([['subscribe', 'reset:a', 1], ['subscribe', 'reset:b', 2], ['ssubscribe', 'reset:s', 1], 'RESET', 'PONG']);
  } finally {
    client.close();
  }
});

it('works with ioredis as a subscriber', async () => {
  const subscriber = new Redis({ host: '127.0.0.1', port: setup.proxy.port });
  const publisher = new Redis({ host: '127.0.0.1', port: setup.proxy.port });
  await subscriber.subscribe('orders');
  const received = new Promise<string>((resolve) => subscriber.on('message', (_channel, message) => resolve(message)));
  await publisher.publish('orders', 'order-42');
  expect(await received).toBe('order-42');
  subscriber.disconnect();
  publisher.disconnect();
});
