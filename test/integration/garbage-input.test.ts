import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { respLikeGarbage, seededRandom } from '../helpers/random-bytes.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';

const setup = clusterWithProxy({ protoMaxBulkLen: 64 * 1024 });

/** One connection that writes random RESP-like bytes for `ms`, reading whatever comes back. */
function garbageClient(seed: number, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const next = seededRandom(seed);
    const socket = connect({ host: '127.0.0.1', port: setup.proxy.port });
    const deadline = Date.now() + ms;
    const finish = (): void => {
      socket.destroy();
      resolve();
    };
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', () => {});
    socket.on('connect', function write(): void {
      if (Date.now() > deadline || socket.destroyed) return finish();
      // Valid commands now and then, so garbage lands between real requests too.
      const valid = next() < 0.3 ? `*2\r\n$3\r\nGET\r\n$${3}\r\nk${Math.floor(next() * 90 + 10)}\r\n` : '';
      socket.write(Buffer.concat([Buffer.from(valid), respLikeGarbage(next, 1 + Math.floor(next() * 300))]));
      setTimeout(write, 2);
    });
  });
}

it('survives random bytes from many clients at once and keeps serving the others', async () => {
  const good = await RawClient.open(setup.proxy.port);
  const storm = Promise.all(Array.from({ length: 20 }, (_, i) => garbageClient(1000 + i, 3000)));
  // A well-behaved client keeps working during the storm.
  for (let i = 0; i < 50; i++) {
    expect(await good.command('SET', `calm:${i}`, String(i))).toBe('OK');
    expect(await good.command('GET', `calm:${i}`)).toBe(String(i));
  }
  await storm;
  expect(await good.command('PING')).toBe('PONG');
  good.close();
  // Every garbage connection was closed (by a protocol error) or ended by the client.
  const deadline = Date.now() + 5000;
  while (setup.proxy.stats().clients > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(setup.proxy.stats().clients).toBe(0);
});

/**
 * Commands left out of the sweep below, each for what it would do to the test rather than to
 * slotgate: they block or change the connection's mode, so "one reply per request" stops holding.
 */
const NOT_SWEPT = new Set([
  'subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', // subscribed mode
  'monitor', 'quit', 'reset', 'hello', // the connection's mode or life
  'client|kill', 'client|reply', 'client|pause', // could close or silence this very client
  'migrate', // a random host and port: the node would wait out the timeout
  'lolwut', // random sizes: seconds of a node's CPU drawing art
]);

/** Arguments from a small vocabulary of what parsers trip on: keys, tags, numbers at the edges, keywords, empties. */
const WORDS = ['k', '{t}a', '{t}b', 'key:1', '0', '1', '-1', '2', '100', '9999999999999999999', '-9223372036854775808', '1.5', 'nan', 'inf', '', 'x'.repeat(300), 'COUNT', 'MATCH', '*', 'TYPE', 'LIMIT', 'WITHSCORES', 'EX', 'PX', 'NX', 'XX', 'GET', 'BY', 'STORE', 'ASC', 'ID', 'ADDR', 'STREAMS', '$', '>', 'FIELDS', 'NUMKEYS'];

it.each([2, 3])('answers every command in the cluster\'s table, with random arguments, with one reply each, and stays up (RESP%i)', async (protocol) => {
  const client = await RawClient.open(setup.proxy.port, { resp3: protocol === 3 });
  // Read in RESP2, where flags are an array, before switching.
  const table = (await client.command('COMMAND')) as unknown[][];
  if (protocol === 3) await client.command('HELLO', '3');
  const commands: { args: string[]; arity: number }[] = [];
  for (const entry of table) {
    const flags = entry[2] as string[];
    if (flags.includes('blocking')) continue; // BLPOP 0 and the like would wait for ever, as in Redis
    const subcommands = (entry[9] as unknown[][] | undefined) ?? [];
    if (subcommands.length === 0) commands.push({ args: [String(entry[0])], arity: Number(entry[1]) });
    for (const sub of subcommands) commands.push({ args: String(sub[0]).split('|'), arity: Number(sub[1]) });
  }
  const swept = commands.filter((command) => !NOT_SWEPT.has(command.args.join('|').toLowerCase()));
  expect(swept.length).toBeGreaterThan(300);

  const next = seededRandom(42);
  let sent = 0;
  for (let round = 0; round < 3; round++) {
    for (const { args, arity } of swept) {
      // The arity (a fixed count, or at least |arity|), and now and then one off: refused, not a crash.
      let wanted = arity > 0 ? arity : -arity + Math.floor(next() * 5);
      if (next() < 0.1) wanted += next() < 0.5 ? -1 : 1;
      const request = [...args];
      while (request.length < wanted) request.push(WORDS[Math.floor(next() * WORDS.length)]);
      client.send(...request);
      sent++;
      // In batches, so that a request that never gets its reply is found near where it was sent.
      if (sent % 50 === 0) expect(await client.read(50, 20_000)).toHaveLength(50);
    }
  }
  expect(await client.read(sent % 50, 20_000)).toHaveLength(sent % 50);
  // A MULTI sent at random may still be open; then the connection is as good as new.
  await client.command('DISCARD');
  expect(await client.command('PING')).toBe('PONG');
  client.close();
});
