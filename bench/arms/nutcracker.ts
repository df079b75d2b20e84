/**
 * Arm (d), the reference proxy: nutcracker (twemproxy) in front of three plain redis-servers, keys
 * spread by fnv1a_64 hashing on a ketama ring. It has no replicas and no cluster bus behind it, so
 * its backends do less work per request than the cluster's.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisServerHandle, startRedisServer } from '../../test/helpers/redis-cluster.ts';
import { type Arm, freePort, HOST, tailOf, terminate, waitForPing } from './arm.ts';

const SERVERS = 3;

export function nutcrackerConfig(port: number, servers: { port: number }[]): string {
  return [
    'slotgate_bench:',
    `  listen: ${HOST}:${port}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  redis: true',
    '  auto_eject_hosts: false',
    '  servers:',
    ...servers.map((server, i) => `    - ${HOST}:${server.port}:1 redis${i + 1}`),
    '',
  ].join('\n');
}

export async function startNutcrackerArm(): Promise<Arm> {
  const servers: RedisServerHandle[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'slotgate-nutcracker-'));
  const cleanup = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < SERVERS; i++) servers.push(await startRedisServer());
  } catch (error) {
    await cleanup();
    throw error;
  }

  const port = await freePort();
  const statsPort = await freePort();
  const configFile = join(dir, 'nutcracker.yml');
  const logFile = join(dir, 'nutcracker.log');
  await writeFile(configFile, nutcrackerConfig(port, servers));
  const args = ['-c', configFile, '-s', String(statsPort), '-a', HOST, '-o', logFile, '-p', join(dir, 'nutcracker.pid')];
  const child = spawn('nutcracker', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('error', (error) => (stderr += `${error.message}\n`));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null || child.pid === undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await terminate(child);
      process.removeListener('exit', killOnExit);
      await cleanup();
    })();
    return stopping;
  };

  const why = (): string => {
    let log = '';
    try {
      log = readFileSync(logFile, 'utf8');
    } catch {
      // not written yet
    }
    return `nutcracker ${args.join(' ')}: exit ${child.exitCode ?? child.signalCode}; ${tailOf(`${stderr}\n${log}`)}`;
  };
  try {
    await waitForPing(port, exited, why);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    name: 'nutcracker',
    target: ['-h', HOST, '-p', String(port)],
    targetPattern: `-h ${HOST} -p <nutcracker>`,
    clusterMode: false,
    proxyPids: () => (child.pid === undefined ? [] : [child.pid]),
    backendPids: () => servers.map((server) => server.process.pid as number),
    description: `nutcracker (twemproxy) in front of ${SERVERS} standalone redis-servers, no replicas; \`hash: fnv1a_64\`, \`distribution: ketama\`, \`redis: true\`, \`auto_eject_hosts: false\`, one connection per server (its default)`,
    stop,
  };
}
