/**
 * Throwaway Redis Clusters (and plain servers) built from the redis-server on PATH, for integration
 * tests, the demo and the benchmark. Every node gets its own subdirectory of one mkdtemp dir and
 * free ports chosen at random, so parallel test files never collide; stop() removes it all.
 *
 *   const cluster = await startRedisCluster();          // 3 masters + 3 replicas, ready to use
 *   try { ...cluster.seeds... } finally { await cluster.stop(); }
 *
 * With `tls` every node speaks TLS only (port 0, tls-port, tls-cluster and tls-replication yes),
 * and the launcher's own connections and redis-cli use TLS too.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import type { ConnectionOptions } from 'node:tls';
import { accessSync, closeSync, constants, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

export interface ClusterNode {
  host: string;
  port: number;
  /** The running redis-server; replaced by startNode() after a restart. */
  process: ChildProcess;
  /** This node's own directory: redis.conf, nodes.conf and redis.log. */
  dir: string;
}

export interface RedisClusterHandle {
  /** All nodes, masters first (by port), then replicas (by port), as the cluster was created. */
  nodes: ClusterNode[];
  /** "127.0.0.1:port" for every node, in the order of `nodes`. */
  seeds: string[];
  /** Temp dir holding one subdirectory per node. */
  dir: string;
  /** Kills every node, waits for them to exit and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Kills one node (SIGKILL by default) and waits until it has exited. */
  killNode(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Restarts a node that was killed, with its old dir and nodes.conf; resolves once it answers PING. */
  startNode(port: number): Promise<void>;
  /** The TLS files the nodes use, when started with `tls`. */
  tls?: RedisClusterTls;
}

/** PEM files for a TLS-only cluster (see tls-certs.ts). */
export interface RedisClusterTls {
  caFile: string;
  /** Each node's certificate and key, also what the launcher and redis-cli present as clients. */
  certFile: string;
  keyFile: string;
  /** Nodes require a client certificate signed by the CA (tls-auth-clients yes). Default false. */
  authClients?: boolean;
}

export interface RedisClusterOptions {
  /** Masters; redis-cli --cluster create needs at least 3. Default 3. */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicasPerMaster?: number;
  /** cluster-node-timeout: how soon a silent node counts as failed. Default 2000. */
  nodeTimeoutMs?: number;
  /** Extra redis.conf lines, appended last so they override ours. */
  extraConfig?: string[];
  /** Give up (with the nodes' log tails) if the cluster is not ready by then. Default 30000. */
  startTimeoutMs?: number;
  /**
   * requirepass (and masterauth, so replicas can sync) on every node; redis-cli gets it through
   * REDISCLI_AUTH, and the launcher's own connections use it. Default none.
   */
  password?: string;
  /** Run every node TLS only, with these files. Default: plain TCP. */
  tls?: RedisClusterTls;
}

export interface RedisServerOptions {
  extraConfig?: string[];
  startTimeoutMs?: number;
}

export interface RedisServerHandle {
  host: string;
  port: number;
  process: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const TOTAL_SLOTS = 16384;
/** Redis's cluster bus listens on port + 10000. */
const BUS_OFFSET = 10000;
/** Node ports 20000-22767 and bus ports 30000-32767 both sit below Linux's ephemeral range (32768+),
 * so the kernel never hands them out for outgoing connections while we are using them. */
const PORT_MIN = 20000;
const PORT_MAX = 22767;
const LOG_FILE = 'redis.log';

const execFileAsync = promisify(execFile);

/** Names among redis-server, redis-cli and redis-benchmark that are not on PATH. */
export function missingRedisTools(): string[] {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return ['redis-server', 'redis-cli', 'redis-benchmark'].filter(
    (tool) =>
      !dirs.some((dir) => {
        try {
          accessSync(join(dir, tool), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
}

function requireRedisTools(): void {
  const missing = missingRedisTools().filter((tool) => tool !== 'redis-benchmark');
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(' and ')} not found on PATH; install them with: ` +
        'apt-get update && apt-get install -y redis-server redis-tools',
    );
  }
}

// ---- cleanup if the test process goes away without calling stop() ----

const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();

function killEverything(): void {
  for (const child of liveProcesses) child.kill('SIGKILL');
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a dying node may still be writing into it; nothing more an exit hook can do
    }
  }
}

process.on('exit', killEverything);
// A signal's default action skips 'exit' hooks. When nobody else handles the signal (a test worker
// being terminated), clean up and re-raise it so the process still dies of it. When someone else
// does (the demo's graceful shutdown), leave it to them: they stop the proxy before the cluster.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = (): void => {
    if (process.listenerCount(signal) > 1) return;
    killEverything();
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

// ---- ports ----

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: HOST, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports (and, with a bus, each port + 10000) from a random base. */
export async function pickPorts(count: number, withBus: boolean): Promise<number[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    let free = true;
    for (const port of ports) {
      if (!(await canBind(port)) || (withBus && !(await canBind(port + BUS_OFFSET)))) {
        free = false;
        break;
      }
    }
    if (free) return ports;
  }
  throw new Error(`no ${count} free consecutive ports found in ${PORT_MIN}-${PORT_MAX}`);
}

// ---- processes ----

/** A node's redis.conf: ours for every node, plus `lines` (the cluster settings, extra config). */
export function configText(port: number, dir: string, lines: string[]): string {
  return [
    `port ${port}`,
    `bind ${HOST}`,
    'protected-mode no',
    'daemonize no',
    `dir "${dir}"`,
    // Everything, including startup errors, goes to stdout, which we send to redis.log.
    'logfile ""',
    'appendonly no',
    'save ""',
    // Redis 7 waits 5 s for more replicas before a diskless full sync; nobody else is coming.
    'repl-diskless-sync-delay 0',
    // CLUSTER SLOTS hides replicas whose replication offset is still 0, and on an idle master only
    // its pings to replicas (every 10 s by default) move the offset: ping every second instead.
    'repl-ping-replica-period 1',
    ...lines,
  ].join('\n') + '\n';
}

function spawnRedis(dir: string): ChildProcess {
  const log = openSync(join(dir, LOG_FILE), 'a');
  const child = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: ['ignore', log, log] });
  closeSync(log);
  liveProcesses.add(child);
  child.once('exit', () => liveProcesses.delete(child));
  // Spawn failures (ENOENT...) also show up as an early exit, which waitForPing reports.
  child.on('error', () => {});
  return child;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function waitForExit(child: ChildProcess): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The last lines of a node's log, for error messages. */
export function logTail(dir: string, lines = 12): string {
  try {
    return readFileSync(join(dir, LOG_FILE), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function logTails(nodes: { port: number; dir: string }[]): string {
  return nodes.map((node) => `--- ${HOST}:${node.port} (${join(node.dir, LOG_FILE)}) ---\n${logTail(node.dir)}`).join('\n');
}

/** The redis.conf lines that make a node TLS only on `port`. */
function tlsConfig(port: number, tls: RedisClusterTls): string[] {
  return [
    'port 0',
    `tls-port ${port}`,
    'tls-cluster yes',
    'tls-replication yes',
    `tls-cert-file "${tls.certFile}"`,
    `tls-key-file "${tls.keyFile}"`,
    `tls-ca-cert-file "${tls.caFile}"`,
    `tls-auth-clients ${tls.authClients === true ? 'yes' : 'no'}`,
  ];
}

/** What the launcher's own connections need to reach TLS nodes. */
function clientTls(tls: RedisClusterTls | undefined): ConnectionOptions | undefined {
  if (tls === undefined) return undefined;
  return { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
}

/** redis-cli's flags for TLS nodes; none for plain ones. */
export function redisCliTlsArgs(tls: RedisClusterTls | undefined): string[] {
  return tls === undefined ? [] : ['--tls', '--cacert', tls.caFile, '--cert', tls.certFile, '--key', tls.keyFile];
}

/** How the launcher's own connections reach the nodes: their password, TLS. */
interface NodeAccess {
  password?: string;
  tls?: ConnectionOptions;
}

/** Runs commands on one node over a fresh connection; throws if it cannot connect. */
async function query(port: number, commands: string[][], access: NodeAccess = {}): Promise<unknown[]> {
  const client = new Redis({
    host: HOST,
    port,
    password: access.password,
    ...(access.tls === undefined ? {} : { tls: access.tls }),
    lazyConnect: true,
    connectTimeout: 1000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // connect failures reach us through connect()'s rejection
  try {
    await client.connect();
    const replies: unknown[] = [];
    for (const [name, ...args] of commands) replies.push(await client.call(name, ...args));
    return replies;
  } finally {
    client.disconnect();
  }
}

/** A node's startup failed because another process took its port between our check and its bind. */
class PortTakenError extends Error {}

async function waitForPing(port: number, child: ChildProcess, dir: string, deadline: number, access: NodeAccess = {}): Promise<void> {
  for (;;) {
    if (hasExited(child)) {
      const tail = logTail(dir);
      const message = `redis-server on port ${port} exited during startup:\n${tail}`;
      throw tail.includes('Address already in use') ? new PortTakenError(message) : new Error(message);
    }
    try {
      const [reply] = await query(port, [['PING']], access);
      if (reply === 'PONG') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING in time:\n${logTail(dir)}`);
    await sleep(25);
  }
}

// ---- readiness of the whole cluster ----

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(info)?.[1];
}

/** CLUSTER SLOTS reduced to "start-end master replicas..." lines, sorted, so two nodes' views compare as strings. */
function slotMapKey(reply: unknown): { key: string; covered: number; replicaCounts: number[] } {
  const ranges = (reply as unknown[][]).map((entry) => {
    const [start, end, master, ...replicas] = entry as [number, number, unknown[], ...unknown[][]];
    return { start, end, master: Number(master[1]), replicas: replicas.map((r) => Number(r[1])).sort((a, b) => a - b) };
  });
  ranges.sort((a, b) => a.start - b.start);
  return {
    key: ranges.map((r) => `${r.start}-${r.end} ${r.master} ${r.replicas.join(',')}`).join('\n'),
    covered: ranges.reduce((sum, r) => sum + r.end - r.start + 1, 0),
    replicaCounts: ranges.map((r) => r.replicas.length),
  };
}

/** What still keeps the cluster from being ready; empty when it is. */
async function clusterProblems(ports: number[], replicasPerMaster: number, access: NodeAccess = {}): Promise<string[]> {
  const problems: string[] = [];
  const slotKeys = new Set<string>();
  for (const port of ports) {
    let replies: unknown[];
    try {
      replies = await query(port, [['CLUSTER', 'INFO'], ['CLUSTER', 'SLOTS'], ['INFO', 'replication']], access);
    } catch (error) {
      problems.push(`${port}: ${(error as Error).message}`);
      continue;
    }
    const [clusterInfo, slots, replication] = replies as [string, unknown, string];
    const state = field(clusterInfo, 'cluster_state');
    if (state !== 'ok') problems.push(`${port}: cluster_state:${state}`);
    const known = Number(field(clusterInfo, 'cluster_known_nodes'));
    if (known !== ports.length) problems.push(`${port}: knows ${known} of ${ports.length} nodes`);
    const map = slotMapKey(slots);
    slotKeys.add(map.key);
    if (map.covered !== TOTAL_SLOTS) problems.push(`${port}: slot map covers ${map.covered} of ${TOTAL_SLOTS} slots`);
    if (map.replicaCounts.some((count) => count !== replicasPerMaster)) {
      problems.push(`${port}: slot map lists ${map.replicaCounts.join('/')} replicas per range`);
    }
    if (field(replication, 'role') === 'slave') {
      const link = field(replication, 'master_link_status');
      const syncing = field(replication, 'master_sync_in_progress');
      if (link !== 'up' || syncing !== '0') problems.push(`${port}: replica link ${link}, sync in progress ${syncing}`);
    }
  }
  if (slotKeys.size > 1) problems.push(`nodes disagree on the slot map (${slotKeys.size} versions)`);
  return problems;
}

async function waitForCluster(nodes: ClusterNode[], replicasPerMaster: number, deadline: number, access: NodeAccess = {}): Promise<void> {
  const ports = nodes.map((node) => node.port);
  for (;;) {
    const problems = await clusterProblems(ports, replicasPerMaster, access);
    if (problems.length === 0) return;
    const dead = nodes.find((node) => hasExited(node.process));
    if (dead || Date.now() > deadline) {
      const why = dead ? `node ${dead.port} exited` : 'timed out';
      throw new Error(`Redis Cluster not ready (${why}):\n${problems.join('\n')}\n${logTails(nodes)}`);
    }
    await sleep(100);
  }
}

// ---- public API ----

async function stopAll(children: ChildProcess[], dir: string): Promise<void> {
  for (const child of children) if (!hasExited(child)) child.kill('SIGKILL');
  await Promise.all(children.map(waitForExit));
  await rm(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

async function makeNodeDir(root: string, port: number, lines: string[]): Promise<string> {
  const dir = join(root, String(port));
  await mkdir(dir);
  await writeFile(join(dir, 'redis.conf'), configText(port, dir, lines));
  return dir;
}

/** The lines that make a node a cluster node. */
export function clusterConfig(nodeTimeoutMs: number, extraConfig: string[]): string[] {
  return ['cluster-enabled yes', 'cluster-config-file nodes.conf', `cluster-node-timeout ${nodeTimeoutMs}`, ...extraConfig];
}

type ResolvedClusterOptions = Required<Omit<RedisClusterOptions, 'tls' | 'password'>> & Pick<RedisClusterOptions, 'tls' | 'password'>;

async function launchCluster(options: ResolvedClusterOptions, root: string): Promise<RedisClusterHandle> {
  const { masters, replicasPerMaster, nodeTimeoutMs, extraConfig, startTimeoutMs, password } = options;
  const access: NodeAccess = { password, tls: clientTls(options.tls) };
  const deadline = Date.now() + startTimeoutMs;
  const ports = await pickPorts(masters * (1 + replicasPerMaster), true);
  // Before extraConfig, which may still override them.
  const authLines = password === undefined ? [] : [`requirepass "${password}"`, `masterauth "${password}"`];
  const clusterLines = clusterConfig(nodeTimeoutMs, [...authLines, ...extraConfig]);
  const nodes: ClusterNode[] = [];
  try {
    for (const port of ports) {
      const dir = await makeNodeDir(root, port, options.tls === undefined ? clusterLines : [...tlsConfig(port, options.tls), ...clusterLines]);
      nodes.push({ host: HOST, port, process: spawnRedis(dir), dir });
    }
    for (const node of nodes) await waitForPing(node.port, node.process, node.dir, deadline, access);

    const addresses = ports.map((port) => `${HOST}:${port}`);
    try {
      await execFileAsync(
        'redis-cli',
        [...redisCliTlsArgs(options.tls), '--cluster', 'create', ...addresses, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
        {
          timeout: Math.max(1000, deadline - Date.now()),
          maxBuffer: 16 * 1024 * 1024,
          // REDISCLI_AUTH rather than -a: no "using a password on the command line" warning.
          env: password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: password },
        },
      );
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`redis-cli --cluster create failed: ${(error as Error).message}\n${stdout}${stderr}\n${logTails(nodes)}`);
    }
    await waitForCluster(nodes, replicasPerMaster, deadline, access);

    // redis-cli picks the masters itself; list them first so nodes[0] is always a master.
    const roles = new Map<number, string>();
    for (const node of nodes) {
      const [replication] = (await query(node.port, [['INFO', 'replication']], access)) as [string];
      roles.set(node.port, field(replication, 'role') ?? '');
    }
    const isReplica = (node: ClusterNode): number => Number(roles.get(node.port) !== 'master');
    nodes.sort((a, b) => isReplica(a) - isReplica(b) || a.port - b.port);
  } catch (error) {
    await stopAll(
      nodes.map((node) => node.process),
      root,
    );
    throw error;
  }


  let stopping: Promise<void> | undefined;
  const findNode = (port: number): ClusterNode => {
    const node = nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no node on port ${port} in this cluster`);
    return node;
  };
  return {
    nodes,
    seeds: nodes.map((node) => `${node.host}:${node.port}`),
    dir: root,
    tls: options.tls,
    stop() {
      stopping ??= stopAll(
        nodes.map((node) => node.process),
        root,
      );
      return stopping;
    },
    async killNode(port, signal = 'SIGKILL') {
      const node = findNode(port);
      if (!hasExited(node.process)) node.process.kill(signal);
      await waitForExit(node.process);
    },
    async startNode(port) {
      const node = findNode(port);
      if (stopping) throw new Error('cluster already stopped');
      if (!hasExited(node.process)) throw new Error(`node ${port} is still running`);
      node.process = spawnRedis(node.dir);
      await waitForPing(port, node.process, node.dir, Date.now() + startTimeoutMs, access);
    },
  };
}

/**
 * Starts a Redis Cluster and resolves once every node reports cluster_state:ok, all nodes return the
 * same CLUSTER SLOTS covering all 16384 slots, and every replica has finished its initial sync.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  requireRedisTools();
  const resolved: ResolvedClusterOptions = {
    masters: options.masters ?? 3,
    replicasPerMaster: options.replicasPerMaster ?? 1,
    nodeTimeoutMs: options.nodeTimeoutMs ?? 2000,
    extraConfig: options.extraConfig ?? [],
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    password: options.password,
    tls: options.tls,
  };
  if (resolved.masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');
  // Another process can take a port between our bind check and redis-server's own bind; pick again.
  for (let attempt = 1; ; attempt++) {
    const root = await mkdtemp(join(tmpdir(), 'slotgate-cluster-'));
    liveDirs.add(root);
    try {
      return await launchCluster(resolved, root);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
    }
  }
}

/** Starts a plain (non-cluster) redis-server, for tests that compare slotgate with a single Redis. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  requireRedisTools();
  for (let attempt = 1; ; attempt++) {
    const root = await mkdtemp(join(tmpdir(), 'slotgate-redis-'));
    liveDirs.add(root);
    const [port] = await pickPorts(1, false);
    const dir = await makeNodeDir(root, port, options.extraConfig ?? []);
    const child = spawnRedis(dir);
    try {
      await waitForPing(port, child, dir, Date.now() + (options.startTimeoutMs ?? 30_000));
    } catch (error) {
      await stopAll([child], root);
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
      continue;
    }
    let stopping: Promise<void> | undefined;
    return {
      host: HOST,
      port,
      process: child,
      dir: root,
      stop() {
        stopping ??= stopAll([child], root);
        return stopping;
      },
    };
  }
}
