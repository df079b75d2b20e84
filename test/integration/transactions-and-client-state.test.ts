import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProxy } from '../../src/server/start-proxy.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';
import { keepaliveTimerSeconds } from '../helpers/tcp-keepalive.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';

const setup = clusterWithProxy();

describe('MULTI / EXEC', () => {
  it('runs a transaction whose keys share a slot, atomically, and answers like Redis', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    raw.write('MULTI\r\nSET {tx}a 1\r\nINCR {tx}a\r\nGET {tx}a\r\nPING\r\nEXEC\r\n');
    expect(await raw.read(6)).toEqual(['OK', 'QUEUED', 'QUEUED', 'QUEUED', 'QUEUED', ['OK', 2, '2', 'PONG']]);
    raw.close();
  });

  it('refuses keys of another slot at queue time and aborts at EXEC, running nothing', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    raw.write('MULTI\r\nSET tx:one 1\r\nSET tx:two 2\r\nEXEC\r\nEXISTS tx:one\r\n');
    const [ok, queued, crossslot, aborted, exists] = await raw.read(5);
    expect([ok, queued]).toEqual(['OK', 'QUEUED']);
    expect(String(crossslot)).toMatch(/CROSSSLOT/);
    expect(String(aborted)).toMatch(/EXECABORT/);
    expect(exists).toBe(0);
    raw.close();
  });

  it('answers the MULTI/EXEC/DISCARD errors Redis gives', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    expect(String(await raw.command('EXEC'))).toMatch(/ERR EXEC without MULTI/);
    expect(String(await raw.command('DISCARD'))).toMatch(/ERR DISCARD without MULTI/);
    expect(await raw.command('MULTI')).toBe('OK');
    expect(String(await raw.command('MULTI'))).toMatch(/ERR MULTI calls can not be nested/);
    expect(await raw.command('SET', '{tx}d', 'x')).toBe('QUEUED');
    expect(await raw.command('DISCARD')).toBe('OK');
    expect(await raw.command('EXISTS', '{tx}d')).toBe(0);
    expect(await raw.command('MULTI')).toBe('OK');
    expect(await raw.command('EXEC')).toEqual([]);
    expect(await raw.command('UNWATCH')).toBe('OK');
    raw.close();
  });

  it('keeps other clients\' commands out of a transaction on a shared connection', async () => {
    const clients = Array.from({ length: 8 }, () => new Redis({ host: '127.0.0.1', port: setup.proxy.port }));
    await clients[0].set('{shared}counter', 0);
    const rounds = 50;
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < rounds; i++) {
          if (c % 2 === 0) {
            const result = await client.multi().incr('{shared}counter').incr('{shared}counter').get('{shared}counter').exec();
            // Both INCRs ran back to back: the value read is even.
            expect(Number(result?.[2][1]) % 2).toBe(0);
          } else {
            await client.get('{shared}counter');
          }
        }
      }),
    );
    expect(await clients[0].get('{shared}counter')).toBe(String(4 * rounds * 2));
    for (const client of clients) client.disconnect();
  });
});

describe("a client's pipeline keeps its order when a command takes another connection", () => {
  it('across HELLO switches: each GET sees the SET sent just before it', async () => {
    const raw = await RawClient.open(setup.proxy.port, { resp3: true });
    try {
      let pipeline = '';
      for (let i = 0; i < 20; i++) pipeline += `HELLO 3\r\nSET order:hello ${i}\r\nHELLO 2\r\nGET order:hello\r\n`;
      raw.write(pipeline);
      const replies = await raw.read(80);
      const gets = replies.filter((_, index) => index % 4 === 3);
      expect(gets).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    } finally {
      raw.close();
    }
  });

  it('WATCH after the client\'s own write of the key: EXEC runs', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    try {
      let pipeline = '';
      for (let i = 0; i < 20; i++) pipeline += `SET order:watch ${i}\r\nWATCH order:watch\r\nMULTI\r\nSET order:watch done\r\nEXEC\r\n`;
      raw.write(pipeline);
      const replies = await raw.read(100);
      const execs = replies.filter((_, index) => index % 5 === 4);
      expect(execs).toEqual(Array.from({ length: 20 }, () => ['OK']));
    } finally {
      raw.close();
    }
  });

  it('a blocking command after the client\'s own DEL of the list: nothing left to pop', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    try {
      let pipeline = '';
      for (let i = 0; i < 10; i++) pipeline += `RPUSH order:list ${i}\r\nDEL order:list\r\nBLPOP order:list 0.01\r\n`;
      raw.write(pipeline);
      const replies = await raw.read(30);
      const pops = replies.filter((_, index) => index % 3 === 2);
      expect(pops).toEqual(Array.from({ length: 10 }, () => null));
    } finally {
      raw.close();
    }
  });
});

describe('per-client state slotgate keeps', () => {
  it('CLIENT REPLY OFF and SKIP silence replies, ON brings them back', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    raw.write('CLIENT REPLY SKIP\r\nSET reply:a 1\r\nGET reply:a\r\nCLIENT REPLY OFF\r\nSET reply:b 2\r\nPING\r\nCLIENT REPLY ON\r\nGET reply:b\r\n');
    expect(await raw.read(3)).toEqual(['1', 'OK', '2']);
    raw.close();
  });

  it('RESET turns CLIENT REPLY back on and is answered, also behind a silenced reply still owed', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    raw.write('CLIENT REPLY OFF\r\nGET reply:c\r\nRESET\r\nPING\r\nCLIENT REPLY OFF\r\nRESET\r\nPING\r\n');
    expect(await raw.read(4)).toEqual(['RESET', 'PONG', 'RESET', 'PONG']);
    // A SKIP that applies to RESET itself silences it, as in Redis, held or not.
    raw.write('SET reply:d 1\r\nCLIENT REPLY SKIP\r\nRESET\r\nPING\r\nCLIENT REPLY SKIP\r\nRESET\r\nECHO last\r\n');
    expect(await raw.read(3)).toEqual(['OK', 'PONG', 'last']);
    raw.close();
  });

  it('CLIENT LIST and CLIENT INFO describe the clients of slotgate', async () => {
    const a = await RawClient.open(setup.proxy.port);
    const b = await RawClient.open(setup.proxy.port);
    expect(await a.command('CLIENT', 'SETNAME', 'client-a')).toBe('OK');
    const id = (await b.command('CLIENT', 'ID')) as number;
    const list = String(await b.command('CLIENT', 'LIST'));
    expect(list).toMatch(/name=client-a /);
    expect(list).toMatch(new RegExp(`id=${id} `));
    // idle=0 right after a read, never -1 (the idle time and the read stamp use one clock).
    expect(String(await a.command('CLIENT', 'INFO'))).toMatch(/^id=\d+ addr=127\.0\.0\.1:\d+ .*name=client-a age=\d+ idle=0 .*cmd=client\|info/);
    expect(String(await b.command('CLIENT', 'LIST', 'ID', String(id)))).not.toMatch(/client-a/);
    expect(await b.command('CLIENT', 'NO-EVICT', 'on')).toBe('OK');
    a.close();
    b.close();
  });

  it('CLIENT KILL closes the clients its filters all match and counts them, as Redis does', async () => {
    const killer = await RawClient.open(setup.proxy.port);
    const victim = await RawClient.open(setup.proxy.port);
    const subscriber = await RawClient.open(setup.proxy.port);
    const victimAddr = /addr=(\S+)/.exec(String(await victim.command('CLIENT', 'INFO')))?.[1] as string;
    const victimId = String(await victim.command('CLIENT', 'ID'));
    expect(await subscriber.command('SUBSCRIBE', 'kill:news')).toEqual(['subscribe', 'kill:news', 1]);

    expect(await killer.command('CLIENT', 'KILL', 'ID', victimId, 'ADDR', '127.0.0.1:1')).toBe(0);
    expect(await killer.command('CLIENT', 'KILL', 'TYPE', 'pubsub', 'USER', 'default')).toBe(1);
    await subscriber.closed();
    expect(await killer.command('CLIENT', 'KILL', 'ID', victimId, 'ADDR', victimAddr)).toBe(1);
    await victim.closed();
    expect(String(await killer.command('CLIENT', 'KILL', victimAddr))).toMatch(/^ReplyError: ERR No such client$/);
    expect(String(await killer.command('CLIENT', 'KILL', 'MAXAGE', '0'))).toMatch(/ERR maxage should be greater than 0/);
    killer.close();
  });

  it('CLIENT KILL of the sender itself answers, then closes, reading nothing more', async () => {
    const raw = await RawClient.open(setup.proxy.port);
    const id = String(await raw.command('CLIENT', 'ID'));
    raw.write(`CLIENT KILL ID ${id}\r\nCLIENT KILL ID ${id} SKIPME no\r\nPING\r\n`);
    expect(await raw.read(2)).toEqual([0, 1]);
    await raw.closed();
    await expect(raw.read(1)).rejects.toThrow(/closed after 0 of 1/);
    const other = await RawClient.open(setup.proxy.port);
    const addr = /addr=(\S+)/.exec(String(await other.command('CLIENT', 'INFO')))?.[1] as string;
    // The old form may kill its sender: +OK, then the connection closes.
    expect(await other.command('CLIENT', 'KILL', addr)).toBe('OK');
    await other.closed();
  });
});

describe('idle clients', () => {
  // A second slotgate on the same cluster, with Redis's timeout and without TCP keepalive.
  let strict: RunningProxy;
  beforeAll(async () => {
    strict = await startTestProxy(setup.cluster.seeds, { timeout: 1, tcpKeepalive: 0 });
  });
  afterAll(() => strict?.close());

  it('timeout closes a client idle past it, in MULTI too, but not a busy, blocked or subscribed one', async () => {
    const [idle, inMulti, busy, blocked, subscriber] = await Promise.all(Array.from({ length: 5 }, () => RawClient.open(strict.port)));
    expect(await idle.command('PING')).toBe('PONG');
    expect(await inMulti.command('MULTI')).toBe('OK');
    blocked.send('BLPOP', 'idle:list', '0');
    expect(await subscriber.command('SUBSCRIBE', 'idle:news')).toEqual(['subscribe', 'idle:news', 1]);
    let pinging = true;
    const pings = (async () => {
      while (pinging) {
        expect(await busy.command('PING')).toBe('PONG');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();

    // A sweep a second, closing what has been idle more than 1 s: gone within about 2 s.
    await Promise.all([idle.closed(3000), inMulti.closed(3000)]);
    pinging = false;
    await pings;
    expect(await busy.command('PING')).toBe('PONG');
    expect(await subscriber.command('PING')).toEqual(['pong', '']);
    const pusher = await RawClient.open(setup.proxy.port);
    expect(await pusher.command('LPUSH', 'idle:list', 'x')).toBe(1);
    expect(await blocked.read(1)).toEqual([['idle:list', 'x']]);
    for (const client of [busy, blocked, subscriber, pusher]) client.close();
  });

  it('tcpKeepalive (default 300 s) turns TCP keepalive on for client connections; 0 leaves it off', async () => {
    const withKeepalive = await RawClient.open(setup.proxy.port);
    const without = await RawClient.open(strict.port);
    expect(await withKeepalive.command('PING')).toBe('PONG');
    expect(await without.command('PING')).toBe('PONG');
    const seconds = keepaliveTimerSeconds(setup.proxy.port, withKeepalive.socket.localPort as number);
    expect(seconds).toBeGreaterThan(290);
    expect(seconds).toBeLessThanOrEqual(300);
    expect(keepaliveTimerSeconds(strict.port, without.socket.localPort as number)).toBeNull();
    withKeepalive.close();
    without.close();
  });
});
