/**
 * Sharded pub/sub (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH) through slotgate, against a real cluster. What
 * a client sees is compared with what one Redis 7.0 node gives a client holding all its channels:
 * the counts are the client's sharded channels over every master, confirmations come in the order
 * of its commands, and a slot that moves away sends an sunsubscribe push.
 */
import { spawn } from 'node:child_process';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { clusterSlots, infoField, nodeCommand, nodeId } from '../helpers/cluster-admin.ts';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';
import { RawClient } from '../helpers/raw-client.ts';

// No routine refresh: after a slot moves, slotgate learns of it from the MOVED alone.
const setup = clusterWithProxy({ topologyRefreshIntervalSeconds: 0 });

const open: { close(): void }[] = [];
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

async function client(resp3 = false): Promise<RawClient> {
  const raw = await RawClient.open(setup.proxy.port, { resp3 });
  open.push(raw);
  if (resp3) await raw.command('HELLO', '3');
  return raw;
}

/** The masters by the slot ranges they serve, in slot order. */
async function masters(): Promise<{ address: string; start: number; end: number }[]> {
  return (await clusterSlots(setup.cluster.seeds[0])).map((range) => ({ address: range.master, start: range.start, end: range.end }));
}

/** A channel named `${prefix}:<n>` whose slot master `index` (in slot order) serves, and that slot. */
async function channelOn(index: number, prefix: string): Promise<string> {
  const { start, end } = (await masters())[index];
  for (let n = 0; ; n++) {
    const slot = calculateSlot(`${prefix}:${n}`);
    if (slot >= start && slot <= end) return `${prefix}:${n}`;
  }
}

/** Pub/sub connections the node `address` holds (slotgate's tunnels, in these tests). */
async function pubsubClients(address: string): Promise<number> {
  const list = String(await nodeCommand(address, 'CLIENT', 'LIST', 'TYPE', 'pubsub'));
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Moves an empty slot to another master, the way redis-cli --cluster does, without telling slotgate. */
async function moveSlot(slot: number, from: string, to: string): Promise<void> {
  const [fromId, toId] = await Promise.all([nodeId(from), nodeId(to)]);
  await nodeCommand(to, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
  await nodeCommand(from, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
  await nodeCommand(to, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
  await nodeCommand(from, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
}

it('delivers SPUBLISH to SSUBSCRIBE clients, counting channels over every master', async () => {
  const [a, b, c] = await Promise.all([channelOn(0, 'sh'), channelOn(1, 'sh'), channelOn(2, 'sh')]);
  const subscriber = await client();
  subscriber.send('SSUBSCRIBE', a);
  subscriber.send('SSUBSCRIBE', `{${b}}1`, `{${b}}2`);
  subscriber.send('SSUBSCRIBE', c);
  subscriber.send('SSUBSCRIBE', a);
  expect(await subscriber.read(5)).toEqual([
    ['ssubscribe', a, 1],
    ['ssubscribe', `{${b}}1`, 2],
    ['ssubscribe', `{${b}}2`, 3],
    ['ssubscribe', c, 4],
    ['ssubscribe', a, 4],
  ]);
  const publisher = await client();
  // SPUBLISH routes by its channel's slot: the owner counts its own subscribers.
  expect(await publisher.command('SPUBLISH', a, 'to a')).toBe(1);
  expect(await publisher.command('SPUBLISH', `{${b}}2`, 'to b')).toBe(1);
  expect(await publisher.command('SPUBLISH', 'nobody:listens', 'x')).toBe(0);
  expect(await subscriber.read(2)).toEqual([
    ['smessage', a, 'to a'],
    ['smessage', `{${b}}2`, 'to b'],
  ]);
  // PUBSUB's sharded views cover every master.
  expect(((await publisher.command('PUBSUB', 'SHARDCHANNELS')) as string[]).sort()).toEqual([a, `{${b}}1`, `{${b}}2`, c].sort());
  expect(await publisher.command('PUBSUB', 'SHARDNUMSUB', a, c, 'nobody:listens')).toEqual([a, 1, c, 1, 'nobody:listens', 0]);
  // One tunnel per master the client has channels on, whatever their number.
  for (const { address } of await masters()) expect(await pubsubClients(address)).toBe(1);

  // With channels: one confirmation each, subscribed or not, tunnel or not.
  subscriber.send('SUNSUBSCRIBE', `{${b}}1`, `{${b}}2`, `{${b}}3`);
  expect(await subscriber.read(3)).toEqual([
    ['sunsubscribe', `{${b}}1`, 3],
    ['sunsubscribe', `{${b}}2`, 2],
    ['sunsubscribe', `{${b}}3`, 2],
  ]);
  expect(await subscriber.command('SUNSUBSCRIBE', `{${b}}9`)).toEqual(['sunsubscribe', `{${b}}9`, 2]);
  // The tunnel to b's master had no channel left: closed.
  const bMaster = (await masters())[1].address;
  await eventually(async () => (await pubsubClients(bMaster)) === 0, "the tunnel to b's master to close");

  // Without: every channel, counting down to 0, then "none".
  subscriber.send('SUNSUBSCRIBE');
  const replies = (await subscriber.read(2)) as [string, string, number][];
  expect(replies.map((reply) => reply[1]).sort()).toEqual([a, c].sort());
  expect(replies.map((reply) => reply[2])).toEqual([1, 0]);
  expect(await subscriber.command('SUNSUBSCRIBE')).toEqual(['sunsubscribe', null, 0]);
  expect(await subscriber.command('GET', 'sh:after')).toBe(null);
  for (const { address } of await masters()) await eventually(async () => (await pubsubClients(address)) === 0, `no tunnel left on ${address}`);
});

it('refuses channels in different slots with CROSSSLOT, and bad arities with Redis\'s error', async () => {
  const raw = await client();
  const crossSlot = "CROSSSLOT Keys in request don't hash to the same slot";
  expect(String(await raw.command('SSUBSCRIBE', 'x:a', 'x:b'))).toContain(crossSlot);
  expect(String(await raw.command('SUNSUBSCRIBE', 'x:a', 'x:b'))).toContain(crossSlot);
  expect(String(await raw.command('SSUBSCRIBE'))).toContain("wrong number of arguments for 'ssubscribe' command");
  expect(String(await raw.command('SPUBLISH', 'x:a'))).toContain("wrong number of arguments for 'spublish' command");
  // None of that subscribed it.
  expect(await raw.command('GET', 'x:a')).toBe(null);
});

it('holds a RESP2 client in subscribed mode until its last channel of either kind is gone, replies in order', async () => {
  const [a, b] = await Promise.all([channelOn(0, 'mix'), channelOn(2, 'mix')]);
  const raw = await client();
  const frame = (...args: string[]) => `*${args.length}\r\n${args.map((arg) => `$${arg.length}\r\n${arg}\r\n`).join('')}`;
  raw.write(frame('GET', 'mix:k') + frame('SUBSCRIBE', 'mix:plain') + frame('SSUBSCRIBE', a) + frame('SSUBSCRIBE', b) + frame('PSUBSCRIBE', 'mix:*') + frame('GET', 'mix:k') + frame('PING', 'hi'));
  const replies = await raw.read(7);
  expect(replies.slice(0, 5)).toEqual([null, ['subscribe', 'mix:plain', 1], ['ssubscribe', a, 1], ['ssubscribe', b, 2], ['psubscribe', 'mix:*', 2]]);
  expect(String(replies[5])).toContain("Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
  expect(replies[6]).toEqual(['pong', 'hi']);
  expect(String(await raw.command('SPUBLISH', a, 'x'))).toContain("Can't execute 'spublish'");
  // Redis counts plain and sharded subscriptions apart: 0 plain left, still subscribed.
  raw.send('UNSUBSCRIBE');
  raw.send('PUNSUBSCRIBE');
  expect(await raw.read(2)).toEqual([['unsubscribe', 'mix:plain', 1], ['punsubscribe', 'mix:*', 0]]);
  expect(await raw.command('PING')).toEqual(['pong', '']);
  expect(await raw.command('SUNSUBSCRIBE', a)).toEqual(['sunsubscribe', a, 1]);
  expect(String(await raw.command('GET', 'mix:k'))).toContain("Can't execute 'get'");
  expect(await raw.command('SUNSUBSCRIBE', b)).toEqual(['sunsubscribe', b, 0]);
  expect(await raw.command('PING')).toBe('PONG');
  expect(await raw.command('GET', 'mix:k')).toBe(null);
  // A command pipelined behind the unsubscribes of all is judged once they have run, as in Redis.
  raw.write(frame('SUBSCRIBE', 'mix:plain') + frame('SSUBSCRIBE', a) + frame('PSUBSCRIBE', 'mix:*') + frame('GET', 'mix:k'));
  raw.write(frame('SUNSUBSCRIBE') + frame('GET', 'mix:k') + frame('UNSUBSCRIBE') + frame('PUNSUBSCRIBE') + frame('GET', 'mix:k'));
  const pipelined = await raw.read(9);
  expect(pipelined.slice(0, 3)).toEqual([['subscribe', 'mix:plain', 1], ['ssubscribe', a, 1], ['psubscribe', 'mix:*', 2]]);
  expect(String(pipelined[3])).toContain("Can't execute 'get'");
  expect(pipelined[4]).toEqual(['sunsubscribe', a, 0]);
  expect(String(pipelined[5])).toContain("Can't execute 'get'");
  expect(pipelined.slice(6)).toEqual([['unsubscribe', 'mix:plain', 1], ['punsubscribe', 'mix:*', 0], null]);
});

it('sends confirmations under CLIENT REPLY OFF, as Redis does, and silences the rest', async () => {
  const channel = await channelOn(1, 'off');
  const raw = await client();
  raw.send('CLIENT', 'REPLY', 'OFF');
  raw.send('SSUBSCRIBE', channel);
  raw.send('PING');
  raw.send('SUNSUBSCRIBE');
  raw.send('GET', 'off:k');
  raw.send('CLIENT', 'REPLY', 'ON');
  expect(await raw.read(3)).toEqual([['ssubscribe', channel, 1], ['sunsubscribe', channel, 0], 'OK']);
});

it('pushes smessage to a RESP3 client, which may run other commands meanwhile, confirmations in order', async () => {
  const [a, b] = await Promise.all([channelOn(1, 'r3'), channelOn(2, 'r3')]);
  const raw = await client(true);
  await raw.command('SET', 'r3:k', 'v');
  const frame = (...args: string[]) => `*${args.length}\r\n${args.map((arg) => `$${arg.length}\r\n${arg}\r\n`).join('')}`;
  for (let round = 0; round < 3; round++) {
    raw.write(frame('SSUBSCRIBE', a) + frame('GET', 'r3:k') + frame('SSUBSCRIBE', b) + frame('GET', 'r3:k'));
    expect(await raw.read(4)).toEqual([{ push: ['ssubscribe', a, 1] }, 'v', { push: ['ssubscribe', b, 2] }, 'v']);
    const publisher = await client();
    await publisher.command('SPUBLISH', b, `m${round}`);
    expect(await raw.read(1)).toEqual([{ push: ['smessage', b, `m${round}`] }]);
    raw.write(frame('SUNSUBSCRIBE') + frame('GET', 'r3:k'));
    const replies = await raw.read(3);
    expect(replies.map((reply) => (reply as { push: unknown[] }).push?.[2] ?? reply)).toEqual([1, 0, 'v']);
  }
  expect(await raw.command('SUNSUBSCRIBE')).toEqual({ push: ['sunsubscribe', null, 0] });
  // Refused while subscribed, HELLO 2 may follow an SUNSUBSCRIBE of all at once; the old tunnels
  // close once they have confirmed it, and later subscriptions get RESP2 ones.
  await raw.command('SSUBSCRIBE', a);
  expect(String(await raw.command('HELLO', '2'))).toMatch(/switching protocol while subscribed/);
  raw.write(frame('SUNSUBSCRIBE') + frame('HELLO', '2') + frame('GET', 'r3:k') + frame('SSUBSCRIBE', b));
  const replies = await raw.read(4);
  expect(replies[0]).toEqual({ push: ['sunsubscribe', a, 0] });
  expect((replies[1] as unknown[]).slice(0, 2)).toEqual(['server', 'redis']);
  expect(replies.slice(2)).toEqual(['v', ['ssubscribe', b, 1]]);
});

it('forwards the sunsubscribe of a slot that moved, and subscribes again at its new master after the MOVED', async () => {
  const [moving, staying, elsewhere] = await Promise.all([channelOn(0, 'mv'), channelOn(0, 'mvstay'), channelOn(1, 'mv')]);
  const slot = calculateSlot(moving);
  const [source, target] = (await masters()).map((master) => master.address);
  const subscriber = await client();
  for (const channel of [moving, staying, elsewhere]) subscriber.send('SSUBSCRIBE', channel);
  expect((await subscriber.read(3)).map((reply) => (reply as unknown[])[2])).toEqual([1, 2, 3]);
  await moveSlot(slot, source, target);
  try {
    // What Redis tells a subscriber of a slot that left its node: subscribe again.
    expect(await subscriber.read(1)).toEqual([['sunsubscribe', moving, 2]]);
    // At the new owner: the sunsubscribe had slotgate refresh its map, or the old owner's MOVED is followed.
    expect(await subscriber.command('SSUBSCRIBE', moving)).toEqual(['ssubscribe', moving, 3]);
    const publisher = await client();
    expect(await publisher.command('SPUBLISH', moving, 'after the move')).toBe(1);
    expect(await subscriber.read(1)).toEqual([['smessage', moving, 'after the move']]);
    // Still one tunnel to the target master, now holding two of the client's channels.
    expect(await pubsubClients(target)).toBe(1);
    subscriber.send('SUNSUBSCRIBE');
    expect((await subscriber.read(3)).map((reply) => (reply as unknown[])[2])).toEqual([2, 1, 0]);
    expect(await subscriber.command('GET', 'mv:k')).toBe(null);
  } finally {
    await moveSlot(slot, target, source);
  }
  // Moved back with no subscriber to tell slotgate: its map is stale, and the MOVED is followed.
  const movedBefore = setup.proxy.stats().redirectsMoved;
  const again = await client();
  again.send('SSUBSCRIBE', moving);
  expect(await again.read(1)).toEqual([['ssubscribe', moving, 1]]);
  expect(setup.proxy.stats().redirectsMoved).toBe(movedBefore + 1);
  expect(await nodeCommand(source, 'PUBSUB', 'SHARDNUMSUB', moving)).toEqual([moving, 1]);
  // The last channel on that master leaves with its slot, and so does the tunnel's reason to be.
  await moveSlot(slot, source, target).then(() => moveSlot(slot, target, source));
  expect(await again.read(1)).toEqual([['sunsubscribe', moving, 0]]);
  expect(await again.command('PING')).toBe('PONG');
  await eventually(async () => (await pubsubClients(source)) === 0 && (await pubsubClients(target)) === 0, 'the tunnels to close');
});

it('closes the client when a tunnel holding its sharded channels is lost, as a plain subscriber\'s', async () => {
  const [a, b] = await Promise.all([channelOn(0, 'lost'), channelOn(1, 'lost')]);
  const subscriber = await client();
  subscriber.send('SSUBSCRIBE', a);
  subscriber.send('SSUBSCRIBE', b);
  await subscriber.read(2);
  await nodeCommand((await masters())[1].address, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
  await subscriber.closed();
  expect(await (await client()).command('PING')).toBe('PONG');
});

it('serves ioredis as a sharded subscriber', async () => {
  const [a, b] = await Promise.all([channelOn(0, 'io'), channelOn(2, 'io')]);
  const subscriber = new Redis({ host: '127.0.0.1', port: setup.proxy.port });
  const publisher = new Redis({ host: '127.0.0.1', port: setup.proxy.port });
  open.push({ close: () => subscriber.disconnect() }, { close: () => publisher.disconnect() });
  expect(await subscriber.ssubscribe(a)).toBe(1);
  expect(await subscriber.ssubscribe(b)).toBe(2);
  const received: string[] = [];
  subscriber.on('smessage', (channel: string, message: string) => received.push(`${channel} ${message}`));
  await publisher.spublish(a, 'one');
  await publisher.spublish(b, 'two');
  await eventually(async () => received.length === 2, 'two messages');
  expect(received).toEqual([`${a} one`, `${b} two`]);
  // ioredis resolves an unsubscribe of all once the count reaches 0: the total, not a master's.
  expect(await subscriber.sunsubscribe()).toBe(0);
  expect(await subscriber.get('io:k')).toBe(null);
});

it('serves redis-cli as a sharded subscriber', async () => {
  const channel = await channelOn(1, 'cli');
  const cli = spawn('redis-cli', ['-p', String(setup.proxy.port), 'SSUBSCRIBE', channel], { stdio: ['ignore', 'pipe', 'pipe'] });
  open.push({ close: () => cli.kill() });
  let output = '';
  cli.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await eventually(async () => output.includes(channel), 'the confirmation');
  const publisher = await client();
  await publisher.command('SPUBLISH', channel, 'hello cli');
  await eventually(async () => output.includes('hello cli'), 'the message');
  expect(output.split('\n').filter((line) => line !== '')).toEqual(['ssubscribe', channel, '1', 'smessage', channel, 'hello cli']);
});

// Last: it changes which nodes are masters.
it('forwards the sunsubscribe of a master demoted by a failover, and follows the channel to the promoted one', async () => {
  // After the slot moves of earlier tests, wait until the first master's replica is listed and in
  // sync: a manual failover is refused otherwise.
  let first = (await clusterSlots(setup.cluster.seeds[0]))[0];
  await eventually(async () => {
    first = (await clusterSlots(setup.cluster.seeds[0]))[0];
    return first.replicas.length > 0 && infoField(String(await nodeCommand(first.replicas[0], 'INFO', 'replication')), 'master_link_status') === 'up';
  }, 'a replica in sync to fail over to', 10_000);
  const [demoted, promoted] = [first.master, first.replicas[0]];
  const channel = await channelOn(0, 'fo');
  const subscriber = await client();
  expect(await subscriber.command('SSUBSCRIBE', channel)).toEqual(['ssubscribe', channel, 1]);
  await nodeCommand(promoted, 'CLUSTER', 'FAILOVER');
  expect(await subscriber.read(1, 10_000)).toEqual([['sunsubscribe', channel, 0]]);
  await eventually(async () => (await clusterSlots(promoted))[0].master === promoted, 'the replica to take over', 10_000);
  // The sunsubscribe made slotgate refresh its map, but the client may be quicker: then the map
  // still names the demoted master, now a replica, which serves its new master's channels (Redis
  // lets replicas take SSUBSCRIBE), and the client subscribes again there.
  expect(await subscriber.command('SSUBSCRIBE', channel)).toEqual(['ssubscribe', channel, 1]);
  const publisher = await client();
  await publisher.command('SPUBLISH', channel, 'after failover');
  expect(await subscriber.read(1)).toEqual([['smessage', channel, 'after failover']]);
  // SUNSUBSCRIBE reaches the channel wherever it is held, whatever slotgate's map says by now.
  expect(await publisher.command('GET', channel)).toBe(null);
  expect(await subscriber.command('SUNSUBSCRIBE', channel)).toEqual(['sunsubscribe', channel, 0]);
  for (const node of [demoted, promoted]) expect(await nodeCommand(node, 'PUBSUB', 'SHARDNUMSUB', channel)).toEqual([channel, 0]);
  expect(await subscriber.command('PING')).toBe('PONG');
  expect(await subscriber.command('SSUBSCRIBE', channel)).toEqual(['ssubscribe', channel, 1]);
  // On the promoted master, or on the demoted one (now its replica, which serves the shard's
  // channels too) if a refresh meanwhile took a map some nodes had not yet updated: held once.
  const held = await Promise.all([demoted, promoted].map(async (node) => ((await nodeCommand(node, 'PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]));
  expect(held[0] + held[1]).toBe(1);
  await publisher.command('SPUBLISH', channel, 'once more');
  expect(await subscriber.read(1)).toEqual([['smessage', channel, 'once more']]);
});
