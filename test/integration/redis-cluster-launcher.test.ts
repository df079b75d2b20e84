import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisClusterHandle, startRedisCluster, startRedisServer } from '../helpers/redis-cluster.ts';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function call(port: number, ...command: string[]): Promise<unknown> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(command[0], ...command.slice(1));
  } finally {
    client.disconnect();
  }
}

async function role(port: number): Promise<string | undefined> {
  const info = String(await call(port, 'INFO', 'replication'));
  return /^role:(\w+)/m.exec(info)?.[1];
}

describe('startRedisCluster', () => {
  let cluster: RedisClusterHandle | undefined;
  afterAll(() => cluster?.stop());

  it('starts 3 masters and 3 synced replicas covering all 16384 slots', async () => {
    cluster = await startRedisCluster();
    const { nodes, seeds } = cluster;
    expect(nodes).toHaveLength(6);
    expect(seeds).toEqual(nodes.map((node) => `127.0.0.1:${node.port}`));
    expect(existsSync(cluster.dir)).toBe(true);

    const roles = await Promise.all(nodes.map((node) => role(node.port)));
    expect(roles).toEqual(['master', 'master', 'master', 'slave', 'slave', 'slave']);

    const slots = (await call(nodes[0].port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number], ...unknown[]][];
    const ranges = slots.map(([start, end]) => [start, end]).sort((a, b) => a[0] - b[0]);
    let next = 0;
    for (const [start, end] of ranges) {
      expect(start).toBe(next);
      next = end + 1;
    }
    expect(next).toBe(16384);
    const masterPorts = new Set(slots.map((entry) => Number(entry[2][1])));
    expect(masterPorts).toEqual(new Set(nodes.slice(0, 3).map((node) => node.port)));
    for (const entry of slots) expect(entry.length - 3).toBe(1); // one replica per range
  });

  it('restarts a killed node with its old identity', async () => {
    if (!cluster) throw new Error('cluster did not start');
    const replica = cluster.nodes[5];
    const id = await call(replica.port, 'CLUSTER', 'MYID');
    await cluster.killNode(replica.port);
    expect(replica.process.signalCode).toBe('SIGKILL');
    await expect(cluster.startNode(replica.port)).resolves.toBeUndefined();
    expect(await call(replica.port, 'CLUSTER', 'MYID')).toBe(id);
    expect(await role(replica.port)).toBe('slave');
    await expect(cluster.startNode(replica.port)).rejects.toThrow(/still running/);
  });

  it('stop() kills every node, frees the ports and removes the dir, and is idempotent', async () => {
    if (!cluster) throw new Error('cluster did not start');
    const { nodes, dir } = cluster;
    await cluster.stop();
    await cluster.stop();
    for (const node of nodes) {
      expect(node.process.exitCode !== null || node.process.signalCode !== null).toBe(true);
      expect(await canBind(node.port)).toBe(true);
      expect(await canBind(node.port + 10000)).toBe(true);
    }
    expect(existsSync(dir)).toBe(false);
  });
});

describe('startRedisServer', () => {
  it('starts a plain Redis that answers and refuses cluster commands, then stops', async () => {
    const server = await startRedisServer();
    try {
      expect(await call(server.port, 'SET', 'k', 'v')).toBe('OK');
      expect(await call(server.port, 'GET', 'k')).toBe('v');
      await expect(call(server.port, 'CLUSTER', 'SLOTS')).rejects.toThrow(/cluster support disabled/);
    } finally {
      await server.stop();
    }
    expect(await canBind(server.port)).toBe(true);
    expect(existsSync(server.dir)).toBe(false);
  });
});
