import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.ts';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';

// One shared connection per node, so a command blocking on it would stall everyone at once.
const setup = clusterWithProxy({ connectionsPerNode: 1 });

/** Clients blocked on the masters, from their own INFO. */
async function blockedClients(): Promise<number> {
  let total = 0;
  for (const node of setup.cluster.nodes.slice(0, 3)) {
    const direct = new Redis({ host: node.host, port: node.port });
    total += Number(/blocked_clients:(\d+)/.exec(await direct.info('clients'))?.[1] ?? 0);
    direct.disconnect();
  }
  return total;
}

it('BLPOP waits for a push without holding up other clients', async () => {
  const waiter = await RawClient.open(setup.proxy.port);
  const other = await RawClient.open(setup.proxy.port);
  waiter.send('BLPOP', 'queue:jobs', '0');
  // Everyone else goes on as usual, on the shared connections, while the BLPOP waits.
  for (let i = 0; i < 20; i++) expect(await other.command('SET', `busy:${i}`, 'x')).toBe('OK');
  expect(await other.command('LPUSH', 'queue:jobs', 'job-1')).toBe(1);
  expect(await waiter.read(1)).toEqual([['queue:jobs', 'job-1']]);
  waiter.close();
  other.close();
});

it('times out like Redis, and keeps the client\'s later commands behind it', async () => {
  const client = await RawClient.open(setup.proxy.port);
  const started = Date.now();
  client.write('*3\r\n$5\r\nBRPOP\r\n$11\r\nqueue:empty\r\n$3\r\n0.5\r\n*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\nPING\r\n');
  expect(await client.read(3)).toEqual([null, null, 'PONG']);
  expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  client.close();
});

it('serves XREAD BLOCK and keys of one slot only, like Redis Cluster', async () => {
  const reader = await RawClient.open(setup.proxy.port);
  const writer = await RawClient.open(setup.proxy.port);
  reader.send('XREAD', 'BLOCK', '0', 'STREAMS', 'stream:a', '$');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const id = await writer.command('XADD', 'stream:a', '*', 'field', 'value');
  expect(await reader.read(1)).toEqual([[['stream:a', [[id, ['field', 'value']]]]]]);
  expect(String(await reader.command('BLPOP', 'list:one', 'list:two', '1'))).toMatch(/CROSSSLOT/);
  reader.close();
  writer.close();
});

it('unblocks the command on the node when the client goes away', async () => {
  const client = await RawClient.open(setup.proxy.port);
  client.send('BLPOP', 'queue:abandoned', '0');
  const deadline = Date.now() + 3000;
  while ((await blockedClients()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await blockedClients()).toBe(1);
  client.close();
  while ((await blockedClients()) > 0 && Date.now() < deadline + 3000) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await blockedClients()).toBe(0);
});
