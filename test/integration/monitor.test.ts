import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.ts';
import { clusterWithProxy } from '../helpers/cluster-with-proxy.ts';

const workDir = mkdtempSync(join(tmpdir(), 'slotgate-monitor-'));
const unixSocket = join(workDir, 'slotgate.sock');
// A small output limit, so that a monitor that never reads reaches it within a few MB.
const setup = clusterWithProxy({ unixSocket, maxClientOutputBytes: 2 * 1024 * 1024 });
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const LINE = /^(\d{10})\.(\d{6}) \[0 ([^\]]+)\] (.*)$/;

/** A client in MONITOR mode (its +OK read). */
async function monitor(): Promise<RawClient> {
  const client = await RawClient.open(setup.proxy.port);
  expect(await client.command('MONITOR')).toBe('OK');
  return client;
}

/** The next `count` lines a monitor gets, each split into its client and its arguments. */
async function lines(client: RawClient, count: number): Promise<{ client: string; args: string; seconds: number }[]> {
  return (await client.read(count)).map((reply) => {
    const match = LINE.exec(String(reply));
    if (match === null) throw new Error(`not a MONITOR line: ${String(reply)}`);
    return { seconds: Number(match[1]), client: match[3], args: match[4] };
  });
}

function addressOf(client: RawClient): string {
  return `127.0.0.1:${client.socket.localPort}`;
}

describe('MONITOR', () => {
  it("shows another client's commands with its address, as Redis does", async () => {
    const watcher = await monitor();
    const app = await RawClient.open(setup.proxy.port);
    expect(await app.command('SET', 'mon:a', 'x "y"\n')).toBe('OK');
    expect(await app.command('GET', 'mon:a')).toBe('x "y"\n');
    expect(await app.command('MGET', 'mon:a', 'mon:b', 'mon:c')).toEqual(['x "y"\n', null, null]);
    expect(String(await app.command('AUTH', 'secret'))).toMatch(/without any password configured/);
    const seen = await lines(watcher, 4);
    expect(seen.map((line) => line.client)).toEqual(Array(4).fill(addressOf(app)));
    expect(seen.map((line) => line.args)).toEqual([
      '"SET" "mon:a" "x \\"y\\"\\n"',
      '"GET" "mon:a"',
      '"MGET" "mon:a" "mon:b" "mon:c"',
      '"AUTH" "(redacted)"',
    ]);
    expect(Math.abs(seen[0].seconds - Date.now() / 1000)).toBeLessThan(5);
    app.close();
    watcher.close();
  });

  it('shows pipelined requests in the order sent, leaving out refused, admin and QUIT', async () => {
    const watcher = await monitor();
    const app = await RawClient.open(setup.proxy.port);
    let pipeline = '';
    for (let i = 0; i < 200; i++) pipeline += `SET mon:p:${i} ${i}\r\nNOSUCHCOMMAND\r\nCLIENT LIST\r\nWAIT 0 0\r\nGET mon:p:${i}\r\n`;
    app.write(pipeline);
    await app.read(1000);
    app.write('MULTI\r\nSET {mon}t 1\r\nINCR {mon}t\r\nEXEC\r\nMULTI\r\nSET {mon}t 5\r\nDISCARD\r\nQUIT\r\n');
    await app.read(8);
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) expected.push(`"SET" "mon:p:${i}" "${i}"`, `"GET" "mon:p:${i}"`);
    // As Redis: a transaction's commands when it runs, just ahead of EXEC; a discarded one's never.
    expected.push('"MULTI"', '"SET" "{mon}t" "1"', '"INCR" "{mon}t"', '"EXEC"', '"MULTI"', '"DISCARD"');
    expect((await lines(watcher, expected.length)).map((line) => line.args)).toEqual(expected);
    // Nothing more: QUIT is not shown.
    expect(await watcher.command('PING')).toBe('PONG');
    expect((await lines(watcher, 1))[0].args).toBe('"PING"');
    watcher.close();
  });

  it('shows a Unix-socket client as unix:<path>', async () => {
    const watcher = await monitor();
    const app = await RawClient.open(unixSocket);
    expect(await app.command('ECHO', 'hi')).toBe('hi');
    expect(await lines(watcher, 1)).toMatchObject([{ client: `unix:${unixSocket}`, args: '"ECHO" "hi"' }]);
    app.close();
    watcher.close();
  });

  it('lets a monitor send only what Redis lets one, and RESET ends monitor mode', async () => {
    const watcher = await monitor();
    for (const args of [['GET', 'mon:a'], ['SET', 'mon:a', '1'], ['INCR', 'mon:n']]) {
      const reply = await watcher.command(...args);
      expect((reply as Error).message, String(reply)).toBe("ERR Replica can't interact with the keyspace");
    }
    expect(await watcher.command('PING')).toBe('PONG');
    expect((await lines(watcher, 1))[0].args).toBe('"PING"');
    expect(String(await watcher.command('CLIENT', 'LIST'))).toMatch(/flags=O /);
    expect(await watcher.command('RESET')).toBe('RESET');
    expect(await watcher.command('GET', 'mon:a')).toBe('x "y"\n');
    const app = await RawClient.open(setup.proxy.port);
    expect(await app.command('PING')).toBe('PONG');
    // No line for the app's PING: the next reply is SET's own.
    expect(await watcher.command('SET', 'mon:after', '1')).toBe('OK');
    app.close();
    watcher.close();
  });

  it('sends a monitor its lines ahead of a RESET pipelined behind a reply owed, and none of the RESET itself', async () => {
    const watcher = await monitor();
    const other = await monitor();
    try {
      watcher.write('INFO server\r\nRESET\r\nPING\r\n');
      const [info, line, reset, pong] = await watcher.read(4);
      expect(String(info)).toMatch(/redis_version/);
      expect(String(line)).toMatch(/"INFO" "server"$/);
      expect([reset, pong]).toEqual(['RESET', 'PONG']);
      // Another monitor sees the RESET once it ran, and the PING that followed.
      const seen = await lines(other, 3);
      expect(seen.map((entry) => entry.args)).toEqual(['"INFO" "server"', '"RESET"', '"PING"']);
    } finally {
      watcher.close();
      other.close();
    }
  });

  it('closes a monitor that does not read once its output passes maxClientOutputBytes, while other clients carry on', async () => {
    const watcher = await monitor();
    watcher.socket.pause();
    const app = await RawClient.open(setup.proxy.port);
    const value = 'v'.repeat(64 * 1024);
    // 64 KB lines, up to 32 MB in all: past the 2 MB limit and what the kernel buffers on loopback.
    let closed = false;
    for (let round = 0; round < 16 && !closed; round++) {
      for (let i = 0; i < 32; i++) app.send('SET', `mon:big:${i}`, value);
      expect(await app.read(32)).toEqual(Array(32).fill('OK'));
      closed = !String(await app.command('CLIENT', 'LIST')).includes(`addr=${addressOf(watcher)} `);
    }
    expect(closed).toBe(true);
    expect(await app.command('GET', 'mon:a')).toBe('x "y"\n');
    app.close();
    watcher.close();
  });
});

describe('RESET', () => {
  it("puts a connection back as new: no transaction, name, RESP3 or subscription", async () => {
    const client = await RawClient.open(setup.proxy.port, { resp3: true });
    expect(await client.command('CLIENT', 'SETNAME', 'before')).toBe('OK');
    expect(await client.command('HELLO', '3')).toBeTruthy();
    expect(await client.command('MULTI')).toBe('OK');
    expect(await client.command('SET', 'reset:k', '1')).toBe('QUEUED');
    expect(await client.command('RESET')).toBe('RESET');
    expect(((await client.command('EXEC')) as Error).message).toBe('ERR EXEC without MULTI');
    expect(await client.command('EXISTS', 'reset:k')).toBe(0);
    expect(await client.rawCommand('CLIENT', 'GETNAME')).toEqual(Buffer.from('$-1\r\n'));
    // Subscribed in RESP2, where only a few commands are allowed: RESET leaves that mode too.
    expect(await client.command('SUBSCRIBE', 'reset:channel')).toEqual(['subscribe', 'reset:channel', 1]);
    expect(((await client.command('GET', 'reset:k')) as Error).message).toMatch(/^ERR Can't execute 'get'/);
    expect(await client.command('RESET')).toBe('RESET');
    expect(await client.command('GET', 'reset:k')).toBe(null);
    client.close();
  });
});
