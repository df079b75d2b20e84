import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningProxy } from '../../src/server/start-proxy.ts';
import { nodeCommand, ownerOfSlot } from '../helpers/cluster-admin.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startTestProxy } from '../helpers/test-proxy.ts';

/**
 * A master that stops answering without closing anything (SIGSTOP: like a host cut off by a network
 * that drops packets), in a cluster that will not fail it over: no replicas, and a node timeout
 * longer than the test. Without replyTimeoutMs, what was sent to it would wait for ever.
 */
let cluster: RedisClusterHandle;
let proxy: RunningProxy;
let frozenPid = 0;

const REPLY_TIMEOUT_MS = 400;
const RETRY_BUDGET_MS = 1200;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0, nodeTimeoutMs: 60_000 });
  // One connection per node: the trickle of requests below shares the frozen master's connection.
  proxy = await startTestProxy(cluster.seeds, { replyTimeoutMs: REPLY_TIMEOUT_MS, retryBudgetMs: RETRY_BUDGET_MS, connectionsPerNode: 1 });
});

afterAll(async () => {
  if (frozenPid !== 0) process.kill(frozenPid, 'SIGCONT');
  await proxy?.close();
  await cluster?.stop();
});

/** A key whose master is `port`, or another one's when `other`. */
async function keyServedBy(port: number, other: boolean): Promise<string> {
  for (let i = 0; ; i++) {
    const key = `reply-timeout:${i}`;
    const owner = await ownerOfSlot(cluster.seeds[0], calculateSlot(key));
    if ((owner?.master.endsWith(`:${port}`) ?? false) !== other) return key;
  }
}

async function timed<T>(work: Promise<T>): Promise<{ ms: number; value?: T; error?: string }> {
  const started = Date.now();
  try {
    const value = await work;
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error: (error as Error).message };
  }
}

it('gives up on a master that stops answering, and leaves the others and blocking commands alone', async () => {
  const victim = cluster.nodes[0];
  const [frozenKey, liveKey] = [await keyServedBy(victim.port, false), await keyServedBy(victim.port, true)];
  const client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
  const blocker = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
  const bystander = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
  const trickler = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0 });
  try {
    await client.set(frozenKey, 'before');
    await client.set(liveKey, 'live');
    // Connected before the freeze: ioredis's ready check is an INFO, which needs every master.
    await Promise.all([blocker.ping(), bystander.ping(), trickler.ping()]);

    frozenPid = victim.process.pid as number;
    process.kill(frozenPid, 'SIGSTOP');
    // Requests keep coming to the frozen master meanwhile: its kernel still takes them, which must
    // not pass for the node answering.
    let trickling = true;
    const trickle = (async () => {
      while (trickling) {
        trickler.get(frozenKey).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const [write, read, other, blocked, info] = await Promise.all([
      timed(client.set(frozenKey, 'during')),
      timed(client.get(frozenKey)),
      timed(bystander.get(liveKey)),
      // Longer than the reply timeout, on a connection of its own: not timed.
      timed(blocker.blpop(`{${liveKey}}:list`, 1.5)),
      // What ioredis's ready check asks of a new connection: answered from the masters that can.
      timed(bystander.info()),
    ]);
    trickling = false;
    await trickle;
    console.log(`[reply-timeout] write ${JSON.stringify(write)}; read ${JSON.stringify(read)}; blocked ${blocked.ms} ms`);

    // The write was sent before the node froze: it may or may not have been applied, and the client is told so.
    expect(write.error).toMatch(/may or may not have been applied/);
    expect(write.ms).toBeLessThan(REPLY_TIMEOUT_MS * 3 + 1000);
    // The read is retried, and fails once the budget is spent: the node is still silent.
    expect(read.error).toMatch(/slotgate/);
    expect(read.ms).toBeLessThan(RETRY_BUDGET_MS + REPLY_TIMEOUT_MS * 3 + 1000);
    expect(other.value).toBe('live');
    expect(blocked).toMatchObject({ value: null });
    expect(blocked.ms).toBeGreaterThanOrEqual(1400);
    expect(info.value).toMatch(/info_masters_missing:1/);
    expect(info.ms).toBeLessThan(REPLY_TIMEOUT_MS * 3 + 1000);

    process.kill(frozenPid, 'SIGCONT');
    frozenPid = 0;
    // Back: served again. The SET in doubt may have run when the node woke up.
    const after = await client.get(frozenKey);
    expect(['before', 'during']).toContain(after);
  } finally {
    client.disconnect();
    blocker.disconnect();
    bystander.disconnect();
    trickler.disconnect();
  }
});

it('delivers a message that came while a RESET silenced by CLIENT REPLY SKIP waited behind a slow reply', async () => {
  const subscriber = await RawClient.open(proxy.port, { resp3: true });
  try {
    expect(await subscriber.command('HELLO', '3')).toBeInstanceOf(Map);
    subscriber.send('SUBSCRIBE', 'skip:news');
    expect(await subscriber.read(1)).toEqual([{ push: ['subscribe', 'skip:news', 1] }]);
    // The master the subscriber's tunnel is on, and another one to freeze under its GET.
    let tunnelNode = cluster.nodes[0];
    for (const node of cluster.nodes) {
      if (String(await nodeCommand(`${node.host}:${node.port}`, 'CLIENT', 'LIST', 'TYPE', 'pubsub')).trim() !== '') tunnelNode = node;
    }
    const victim = cluster.nodes.find((node) => node !== tunnelNode) as (typeof cluster.nodes)[number];
    const slowKey = await keyServedBy(victim.port, false);
    frozenPid = victim.process.pid as number;
    process.kill(frozenPid, 'SIGSTOP');
    try {
      // RESET waits for the GET's reply, owed while the node is frozen.
      subscriber.write(`*2\r\n$3\r\nGET\r\n$${slowKey.length}\r\n${slowKey}\r\n*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n*1\r\n$5\r\nRESET\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await nodeCommand(`${tunnelNode.host}:${tunnelNode.port}`, 'PUBLISH', 'skip:news', 'before reset');
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      process.kill(frozenPid, 'SIGCONT');
      frozenPid = 0;
    }
    // The GET is answered once the node wakes (the first test may have left the key set).
    const [get, message] = await subscriber.read(2, 10_000);
    expect([null, 'before', 'during']).toContain(get);
    // As one Redis: the message came before RESET ran, which a SKIP for RESET does not silence.
    expect(message).toEqual({ push: ['message', 'skip:news', 'before reset'] });
    expect(await subscriber.command('PING')).toBe('PONG');
  } finally {
    subscriber.close();
  }
});
