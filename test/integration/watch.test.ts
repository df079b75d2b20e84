import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.ts';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';

const setup = clusterWithProxy();

function proxyClient(): Redis {
  return new Redis({ host: '127.0.0.1', port: setup.proxy.port });
}

describe('WATCH', () => {
  it('runs the transaction when the watched key is untouched', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    raw.write('SET {w}a 1\r\nWATCH {w}a\r\nGET {w}a\r\nMULTI\r\nINCR {w}a\r\nEXEC\r\n');
    expect(await raw.read(6)).toEqual(['OK', 'OK', '1', 'OK', 'QUEUED', [2]]);
    raw.close();
  });

  it('answers EXEC with a null array when another client changed the key', async () => {
    const watcher = await RawClient.open(setup.proxy.port);
    const other = await RawClient.open(setup.proxy.port);
    expect(await watcher.command('SET', '{w}b', '1')).toBe('OK');
    expect(await watcher.command('WATCH', '{w}b')).toBe('OK');
    expect(await watcher.command('GET', '{w}b')).toBe('1');
    expect(await other.command('SET', '{w}b', 'changed')).toBe('OK');
    watcher.write('MULTI\r\nSET {w}b mine\r\nEXEC\r\nGET {w}b\r\n');
    expect(await watcher.read(4)).toEqual(['OK', 'QUEUED', null, 'changed']);
    expect(watcher.received.map(String).join('')).toContain('*-1\r\n');
    // EXEC ended the watch: the next transaction runs.
    expect(await other.command('SET', '{w}b', 'again')).toBe('OK');
    watcher.write('MULTI\r\nSET {w}b mine\r\nEXEC\r\n');
    expect(await watcher.read(3)).toEqual(['OK', 'QUEUED', ['OK']]);
    watcher.close();
    other.close();
  });

  it('forgets the watch after UNWATCH and after DISCARD', async () => {
    const watcher = await RawClient.open(setup.proxy.port);
    const other = await RawClient.open(setup.proxy.port);
    expect(await watcher.command('WATCH', '{w}c')).toBe('OK');
    expect(await watcher.command('UNWATCH')).toBe('OK');
    expect(await other.command('SET', '{w}c', 'x')).toBe('OK');
    watcher.write('MULTI\r\nSET {w}c mine\r\nEXEC\r\n');
    expect(await watcher.read(3)).toEqual(['OK', 'QUEUED', ['OK']]);

    expect(await watcher.command('WATCH', '{w}c')).toBe('OK');
    watcher.write('MULTI\r\nSET {w}c mine\r\nDISCARD\r\n');
    expect(await watcher.read(3)).toEqual(['OK', 'QUEUED', 'OK']);
    expect(await other.command('SET', '{w}c', 'y')).toBe('OK');
    watcher.write('MULTI\r\nSET {w}c after-discard\r\nEXEC\r\nGET {w}c\r\n');
    expect(await watcher.read(4)).toEqual(['OK', 'QUEUED', ['OK'], 'after-discard']);
    // With no watch in force, UNWATCH is just OK.
    expect(await watcher.command('UNWATCH')).toBe('OK');
    watcher.close();
    other.close();
  });

  it('keeps every WATCH and the transaction in one slot', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    expect(String(await raw.command('WATCH', 'w:one', 'w:two'))).toMatch(/CROSSSLOT Keys in request don't hash to the same slot/);
    expect(await raw.command('WATCH', '{w}d')).toBe('OK');
    expect(await raw.command('WATCH', '{w}e')).toBe('OK');
    expect(String(await raw.command('WATCH', '{other}d'))).toMatch(/CROSSSLOT/);
    raw.write('MULTI\r\nSET {other}d 1\r\nEXEC\r\nEXISTS {other}d\r\n');
    const [ok, crossslot, aborted, exists] = await raw.read(4);
    expect(ok).toBe('OK');
    expect(String(crossslot)).toMatch(/CROSSSLOT/);
    expect(String(aborted)).toMatch(/EXECABORT/);
    expect(exists).toBe(0);
    // The aborted EXEC ended the watch: another slot is fine now.
    expect(await raw.command('WATCH', '{other}d')).toBe('OK');
    expect(await raw.command('UNWATCH')).toBe('OK');
    raw.close();
  });

  it('refuses WATCH inside MULTI as Redis does, leaving the transaction standing', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    raw.write('MULTI\r\nWATCH {w}f\r\nSET {w}f 1\r\nUNWATCH\r\nEXEC\r\n');
    const [ok, refused, queued, queuedUnwatch, result] = await raw.read(5);
    expect(ok).toBe('OK');
    expect((refused as Error).message).toBe('ERR WATCH inside MULTI is not allowed');
    expect([queued, queuedUnwatch, result]).toEqual(['QUEUED', 'QUEUED', ['OK', 'OK']]);
    raw.close();
  });

  it('answers an empty watched transaction with nil when the key changed', async () => {
    const watcher = await RawClient.open(setup.proxy.port);
    const other = await RawClient.open(setup.proxy.port);
    expect(await watcher.command('WATCH', '{w}g')).toBe('OK');
    expect(await other.command('SET', '{w}g', '1')).toBe('OK');
    watcher.write('MULTI\r\nEXEC\r\n');
    expect(await watcher.read(2)).toEqual(['OK', null]);
    watcher.close();
    other.close();
  });

  it('fails EXEC when the connection holding the watch was lost', async () => {
    const watcher = await RawClient.open(setup.proxy.port);
    expect(await watcher.command('WATCH', '{w}h')).toBe('OK');
    // Find slotgate's connection that sent the WATCH on the key's master, and kill it.
    let killed = 0;
    for (const node of setup.cluster.nodes.slice(0, 3)) {
      const direct = new Redis({ host: node.host, port: node.port });
      const list = await direct.client('LIST');
      for (const line of String(list).split('\n')) {
        const id = /^id=(\d+) .* cmd=watch/.exec(line)?.[1];
        if (id !== undefined) killed += Number(await direct.client('KILL', 'ID', id));
      }
      direct.disconnect();
    }
    expect(killed).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    watcher.write('MULTI\r\nSET {w}h 1\r\nEXEC\r\nEXISTS {w}h\r\n');
    const [ok, queued, failed, exists] = await watcher.read(4);
    expect([ok, queued]).toEqual(['OK', 'QUEUED']);
    expect((failed as Error).message).toBe('ERR slotgate: the connection holding WATCH was lost; the transaction was not run');
    expect(exists).toBe(0);
    // The next WATCH starts afresh.
    expect(await watcher.command('WATCH', '{w}h')).toBe('OK');
    watcher.write('MULTI\r\nSET {w}h 2\r\nEXEC\r\n');
    expect(await watcher.read(3)).toEqual(['OK', 'QUEUED', ['OK']]);
    watcher.close();
  });

  it('fails EXEC after HELLO switched protocol, since the watch lived on a connection of the old one', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    expect(await raw.command('WATCH', '{w}hello')).toBe('OK');
    raw.write('HELLO 3\r\n');
    await raw.read(1);
    raw.write('HELLO 2\r\n');
    await raw.read(1);
    expect(await raw.command('MULTI')).toBe('OK');
    expect(await raw.command('SET', '{w}hello', 'x')).toBe('QUEUED');
    const failed = await raw.command('EXEC');
    expect((failed as Error).message).toBe('ERR slotgate: the connection holding WATCH was lost; the transaction was not run');
    expect(await raw.command('GET', '{w}hello')).toBe(null);
    raw.close();
  });

  it('follows MOVED when the watched slot moved, and runs EXEC where the watch is', async () => {
    const slot = calculateSlot('{moved}k');
    const nodes = setup.cluster.nodes.map((node) => new Redis({ host: node.host, port: node.port }));
    const ranges = (await nodes[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const [, , [sourceHost, sourcePort]] = ranges.find(([start, end]) => slot >= start && slot <= end)!;
    const [, , [targetHost, targetPort]] = ranges.find(([, , [, port]]) => port !== sourcePort)!;
    const byPort = (port: number) => nodes[setup.cluster.nodes.findIndex((node) => node.port === port)];
    const targetId = String(await byPort(targetPort).call('CLUSTER', 'MYID'));
    // The slot holds no key: it can move without MIGRATE. slotgate's map still names the source.
    await byPort(targetPort).call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
    await byPort(sourcePort).call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
    for (const node of nodes) await node.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId).catch(() => {});
    expect(`${sourceHost}:${sourcePort}`).not.toBe(`${targetHost}:${targetPort}`);

    const watcher = await RawClient.open(setup.proxy.port);
    const other = await RawClient.open(setup.proxy.port);
    expect(await watcher.command('WATCH', '{moved}k')).toBe('OK');
    expect(await other.command('SET', '{moved}k', 'theirs')).toBe('OK');
    watcher.write('MULTI\r\nSET {moved}k mine\r\nEXEC\r\n');
    expect(await watcher.read(3)).toEqual(['OK', 'QUEUED', null]);
    expect(await watcher.command('WATCH', '{moved}k')).toBe('OK');
    watcher.write('MULTI\r\nSET {moved}k mine\r\nEXEC\r\nGET {moved}k\r\n');
    expect(await watcher.read(4)).toEqual(['OK', 'QUEUED', ['OK'], 'mine']);
    watcher.close();
    other.close();
    for (const node of nodes) node.disconnect();
  });

  it('works with ioredis watch() and multi().exec()', async () => {
    const client = proxyClient();
    const other = proxyClient();
    await client.set('{io}k', 'start');
    expect(await client.watch('{io}k')).toBe('OK');
    expect(await client.get('{io}k')).toBe('start');
    expect(await client.multi().set('{io}k', 'mine').get('{io}k').exec()).toEqual([
      [null, 'OK'],
      [null, 'mine'],
    ]);
    await client.watch('{io}k');
    await other.set('{io}k', 'theirs');
    expect(await client.multi().set('{io}k', 'mine').exec()).toBeNull();
    expect(await client.get('{io}k')).toBe('theirs');
    client.disconnect();
    other.disconnect();
  });

  it('makes hand-rolled INCR with WATCH exact under contention', async () => {
    const clients = Array.from({ length: 10 }, proxyClient);
    await clients[0].set('{cas}counter', 0);
    const increments = 20;
    let retries = 0;
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < increments; i++) {
          for (;;) {
            await client.watch('{cas}counter');
            const value = Number(await client.get('{cas}counter'));
            const result = await client.multi().set('{cas}counter', String(value + 1)).exec();
            if (result !== null) break;
            retries++;
          }
        }
      }),
    );
    expect(await clients[0].get('{cas}counter')).toBe(String(clients.length * increments));
    // Contention did happen, so the watches were really checked.
    expect(retries).toBeGreaterThan(0);
    for (const client of clients) client.disconnect();
  }, 30_000);
});
