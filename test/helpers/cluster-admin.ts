/**
 * Cluster administration for resharding and failover tests, on top of the launcher
 * (redis-cluster.ts): an extra empty cluster node, and redis-cli --cluster add-node / rebalance /
 * reshard / del-node, each followed by a bounded wait until every node agrees again.
 *
 *   const node = await startEmptyNode();
 *   try {
 *     const id = await addMaster(cluster, node);
 *     await rebalance(await liveSeed(cluster.seeds), { useEmptyMasters: true });
 *   } finally { await node.stop(); }
 *
 * Every wait has a deadline and fails with what was still wrong; redis-cli runs under a timeout and
 * its output is part of the error.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { clusterConfig, configText, hasExited, logTail, pickPorts, waitForExit } from './redis-cluster.ts';

const HOST = '127.0.0.1';
const TOTAL_SLOTS = 16384;
const LOG_FILE = 'redis.log';

const execFileAsync = promisify(execFile);

/** A cluster-enabled redis-server started on its own, in no cluster yet. */
export interface ExtraNode {
  host: string;
  port: number;
  /** "127.0.0.1:port" */
  address: string;
  dir: string;
  process: ChildProcess;
  /** Kills it (SIGKILL), waits for the exit and removes its dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface ExtraNodeOptions {
  /** cluster-node-timeout, as the launcher's nodes have it. Default 2000. */
  nodeTimeoutMs?: number;
  extraConfig?: string[];
  startTimeoutMs?: number;
}

/** One range of CLUSTER SLOTS, with the master's node id (Redis 7 reports it). */
export interface SlotOwnership {
  start: number;
  end: number;
  /** "host:port" */
  master: string;
  masterId: string;
  replicas: string[];
}

// ---- cleanup if the test process goes away without stop() ----

const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();

process.on('exit', () => {
  for (const child of liveProcesses) child.kill('SIGKILL');
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // still being written by a dying node; nothing more an exit hook can do
    }
  }
});

// ---- talking to one node ----

/** Runs commands on `address` over a fresh connection that fails fast; returns their replies. */
export async function nodeCommands(address: string, commands: (string | number)[][], timeoutMs = 2000): Promise<unknown[]> {
  const [host, port] = splitHostPort(address);
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // reported through connect() or the command
  try {
    await client.connect();
    const replies: unknown[] = [];
    for (const [name, ...args] of commands) replies.push(await client.call(String(name), ...args));
    return replies;
  } finally {
    client.disconnect();
  }
}

/** One command on `address` over a fresh connection. */
export async function nodeCommand(address: string, ...args: (string | number)[]): Promise<unknown> {
  const [reply] = await nodeCommands(address, [args]);
  return reply;
}

export async function nodeId(address: string): Promise<string> {
  return String(await nodeCommand(address, 'CLUSTER', 'MYID'));
}

/** A field of an INFO or CLUSTER INFO text. */
export function infoField(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(text)?.[1];
}

/** CLUSTER SLOTS as `address` sees it, sorted by start slot. */
export async function clusterSlots(address: string): Promise<SlotOwnership[]> {
  const reply = (await nodeCommand(address, 'CLUSTER', 'SLOTS')) as unknown[][];
  return reply
    .map((entry) => {
      const [start, end, master, ...replicas] = entry as [number, number, unknown[], ...unknown[][]];
      return {
        start: Number(start),
        end: Number(end),
        master: `${String(master[0]) || HOST}:${Number(master[1])}`,
        masterId: String(master[2] ?? ''),
        replicas: replicas.map((replica) => `${String(replica[0]) || HOST}:${Number(replica[1])}`),
      };
    })
    .sort((a, b) => a.start - b.start);
}

/** How many slots the node `id` owns, as `address` sees it. */
export async function slotsOwnedBy(address: string, id: string): Promise<number> {
  return (await clusterSlots(address)).filter((range) => range.masterId === id).reduce((sum, range) => sum + range.end - range.start + 1, 0);
}

/** The master serving `slot`, as `address` sees it; undefined when nobody serves it. */
export async function ownerOfSlot(address: string, slot: number): Promise<SlotOwnership | undefined> {
  return (await clusterSlots(address)).find((range) => slot >= range.start && slot <= range.end);
}

/** ROLE of a node: 'master' or 'slave', and for a replica its master's port and link state. */
export async function nodeRole(address: string): Promise<{ role: string; masterPort?: number; linkState?: string }> {
  const reply = (await nodeCommand(address, 'ROLE')) as unknown[];
  const role = String(reply[0]);
  if (role !== 'slave') return { role };
  return { role, masterPort: Number(reply[2]), linkState: String(reply[3]) };
}

/**
 * The first of `addresses` that answers and is part of a working cluster (cluster_state:ok, knows
 * other nodes): a node to run redis-cli --cluster against. A node removed with del-node answers
 * too, but only for itself.
 */
export async function liveSeed(addresses: string[]): Promise<string> {
  for (const address of addresses) {
    try {
      const info = String(await nodeCommand(address, 'CLUSTER', 'INFO'));
      if (infoField(info, 'cluster_state') === 'ok' && Number(infoField(info, 'cluster_known_nodes')) > 1) return address;
    } catch {
      // try the next one
    }
  }
  throw new Error(`none of ${addresses.join(', ')} is a working cluster node`);
}

// ---- an extra node ----

/**
 * Where extra nodes keep their files: /dev/shm when there is one. Every CLUSTER SETSLOT fsyncs
 * nodes.conf, and a rebalance sends thousands of them; in memory they cost next to nothing.
 */
function nodeDirRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/**
 * Starts an empty cluster-enabled redis-server on a free port, configured like the launcher's
 * nodes, in its own temp dir. Resolves once it answers PING.
 */
export async function startEmptyNode(options: ExtraNodeOptions = {}): Promise<ExtraNode> {
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    const port = (await pickPorts(1, true))[0];
    const dir = await mkdtemp(join(nodeDirRoot(), 'slotgate-extra-node-'));
    liveDirs.add(dir);
    await writeFile(join(dir, 'redis.conf'), configText(port, dir, clusterConfig(options.nodeTimeoutMs ?? 2000, options.extraConfig ?? [])));
    const log = openSync(join(dir, LOG_FILE), 'a');
    const child = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: ['ignore', log, log] });
    closeSync(log);
    child.on('error', () => {}); // shows up as an early exit below
    liveProcesses.add(child);
    child.once('exit', () => liveProcesses.delete(child));
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        if (!hasExited(child)) child.kill('SIGKILL');
        await waitForExit(child);
        await rm(dir, { recursive: true, force: true });
        liveDirs.delete(dir);
      })();
      return stopping;
    };
    const address = `${HOST}:${port}`;
    const deadline = Date.now() + startTimeoutMs;
    let started = false;
    while (!hasExited(child) && Date.now() < deadline) {
      try {
        if ((await nodeCommand(address, 'PING')) === 'PONG') {
          started = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    if (started) return { host: HOST, port, address, dir, process: child, stop };
    const tail = logTail(dir);
    await stop();
    // Another process may have taken the port between our check and redis-server's bind.
    if (tail.includes('Address already in use') && attempt < 3) continue;
    throw new Error(`extra redis-server on port ${port} did not start:\n${tail}`);
  }
}

// ---- redis-cli --cluster ----

/** Runs redis-cli with `args` (bounded by `timeoutMs`); returns its stdout, throws with all its output. */
export async function redisCli(args: string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync('redis-cli', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    // redis-cli --cluster reports some failures with exit status 0 and an [ERR] line.
    if (/^\[ERR\]/m.test(stdout)) throw Object.assign(new Error('redis-cli reported an error'), { stdout, stderr: '' });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`redis-cli ${args.join(' ')} failed: ${(error as Error).message}\n${tail(stdout)}${stderr}`);
  }
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n') + '\n';
}

/**
 * What keeps the nodes at `addresses` from being one settled cluster; empty when there is nothing:
 * each says cluster_state:ok and knows `expectedNodes` nodes (all of `addresses` when not given),
 * all report the same CLUSTER SLOTS covering every slot, and no slot is migrating or importing.
 */
export async function clusterProblems(addresses: string[], expectedNodes = addresses.length): Promise<string[]> {
  const problems: string[] = [];
  const views = new Set<string>();
  for (const address of addresses) {
    let replies: unknown[];
    try {
      replies = await nodeCommands(address, [
        ['CLUSTER', 'INFO'],
        ['CLUSTER', 'SLOTS'],
        ['CLUSTER', 'NODES'],
      ]);
    } catch (error) {
      problems.push(`${address}: ${(error as Error).message}`);
      continue;
    }
    const [info, slots, nodes] = replies as [string, unknown[][], string];
    const state = infoField(info, 'cluster_state');
    if (state !== 'ok') problems.push(`${address}: cluster_state:${state}`);
    const known = Number(infoField(info, 'cluster_known_nodes'));
    if (known !== expectedNodes) problems.push(`${address}: knows ${known} of ${expectedNodes} nodes`);
    const ranges = slots
      .map((entry) => `${Number(entry[0])}-${Number(entry[1])} ${(entry[2] as unknown[])[1]}`)
      .sort()
      .join(',');
    views.add(ranges);
    const covered = slots.reduce((sum, entry) => sum + Number(entry[1]) - Number(entry[0]) + 1, 0);
    if (covered !== TOTAL_SLOTS) problems.push(`${address}: slots cover ${covered} of ${TOTAL_SLOTS}`);
    // CLUSTER NODES shows an open slot as [slot->-id] or [slot-<-id] on the node's own line.
    const lines = nodes.trim().split('\n');
    const myself = lines.find((line) => line.includes('myself'));
    if (myself?.includes('[')) problems.push(`${address}: open slots ${myself.slice(myself.indexOf('['))}`);
    const joining = lines.filter((line) => /\b(handshake|noaddr)\b/.test(line.split(' ')[2] ?? ''));
    if (joining.length > 0) problems.push(`${address}: ${joining.length} nodes still in handshake`);
  }
  if (views.size > 1) problems.push(`nodes disagree on the slot map (${views.size} versions)`);
  return problems;
}

/** Waits (bounded) until clusterProblems() finds nothing. */
export async function waitForClusterOk(
  addresses: string[],
  options: { timeoutMs?: number; expectedNodes?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const problems = await clusterProblems(addresses, options.expectedNodes ?? addresses.length);
    if (problems.length === 0) return;
    if (Date.now() > deadline) throw new Error(`cluster not settled in time:\n${problems.join('\n')}`);
    await sleep(100);
  }
}

/** How many nodes `address` knows, itself and failed ones included (CLUSTER INFO's count). */
async function knownNodeCount(address: string): Promise<number> {
  return Number(infoField(String(await nodeCommand(address, 'CLUSTER', 'INFO')), 'cluster_known_nodes'));
}

/** Waits until every working node `seed` knows agrees with it, and they know `expectedNodes` nodes. */
async function waitForSettled(seed: string, timeoutMs: number, expectedNodes?: number, alsoCheck: string[] = []): Promise<void> {
  const members = [...new Set([...(await clusterMembers(seed)), ...alsoCheck])];
  await waitForClusterOk(members, { timeoutMs, expectedNodes: expectedNodes ?? (await knownNodeCount(seed)) });
}

/**
 * Adds `node` to the cluster as a master without slots (redis-cli --cluster add-node), then waits
 * until every node of the cluster knows it. Any working node among `cluster.seeds` (or `members`,
 * nodes added since) serves as the way in. Returns the new node's id.
 */
export async function addMaster(
  cluster: { seeds: string[] },
  node: { host: string; port: number },
  options: { members?: string[]; timeoutMs?: number } = {},
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const address = `${node.host}:${node.port}`;
  const seed = await liveSeed([...cluster.seeds, ...(options.members ?? [])]);
  const known = await knownNodeCount(seed);
  await redisCli(['--cluster', 'add-node', address, seed], timeoutMs);
  // The seed may not list the new node yet (still in handshake): check it by name.
  await waitForSettled(seed, timeoutMs, known + 1, [address]);
  return nodeId(address);
}

/**
 * redis-cli --cluster rebalance from `seed`, optionally giving empty masters their share; waits
 * until all nodes agree on the result. Returns redis-cli's output.
 */
export async function rebalance(
  seed: string,
  options: { useEmptyMasters?: boolean; pipeline?: number; timeoutMs?: number } = {},
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const args = ['--cluster', 'rebalance', seed, '--cluster-yes'];
  if (options.useEmptyMasters) args.push('--cluster-use-empty-masters');
  if (options.pipeline !== undefined) args.push('--cluster-pipeline', String(options.pipeline));
  const started = Date.now();
  const output = await redisCli(args, timeoutMs);
  await waitForSettled(seed, Math.max(5000, timeoutMs - (Date.now() - started)));
  return output;
}

/**
 * Moves every slot of `fromNodeId` to `toNodeId` (redis-cli --cluster reshard) and waits until all
 * nodes agree that it owns none. Returns how many slots moved.
 */
export async function reshardAllSlotsAway(
  seed: string,
  fromNodeId: string,
  toNodeId: string,
  options: { pipeline?: number; timeoutMs?: number } = {},
): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  const slots = await slotsOwnedBy(seed, fromNodeId);
  if (slots === 0) return 0;
  const args = ['--cluster', 'reshard', seed, '--cluster-from', fromNodeId, '--cluster-to', toNodeId];
  args.push('--cluster-slots', String(slots), '--cluster-yes');
  if (options.pipeline !== undefined) args.push('--cluster-pipeline', String(options.pipeline));
  await redisCli(args, timeoutMs);
  await waitForSettled(seed, Math.max(5000, timeoutMs - (Date.now() - started)));
  const left = await slotsOwnedBy(seed, fromNodeId);
  if (left !== 0) throw new Error(`node ${fromNodeId} still owns ${left} slots after the reshard`);
  return slots;
}

/**
 * Removes the node `id` (which must own no slots) with redis-cli --cluster del-node, run against
 * `seed` (another node), and waits until every remaining node has forgotten it.
 */
export async function delNode(seed: string, id: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const started = Date.now();
  const known = await knownNodeCount(seed);
  await redisCli(['--cluster', 'del-node', seed, id], timeoutMs);
  await waitForSettled(seed, Math.max(5000, timeoutMs - (Date.now() - started)), known - 1);
}

/** "host:port" of every node `seed` knows that is not marked failed or without address. */
export async function clusterMembers(seed: string): Promise<string[]> {
  return (await clusterMembersWithIds(seed)).map((member) => member.address);
}

/** Every node `seed` knows (itself included) that is not marked failed: id, address and flags. */
export async function clusterMembersWithIds(seed: string): Promise<{ id: string; address: string; flags: string[] }[]> {
  const text = String(await nodeCommand(seed, 'CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .map(([id, endpoint, flags]) => ({ id, address: endpoint.split('@')[0], flags: flags.split(',') }))
    .filter((member) => !member.flags.includes('fail') && !member.flags.includes('noaddr') && !member.flags.includes('handshake'));
}

function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon) || HOST, Number(address.slice(colon + 1))];
}
