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
