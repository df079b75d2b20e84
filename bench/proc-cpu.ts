/**
 * CPU time of groups of processes from /proc, for the bench's "CPU-seconds per million requests":
 * take a snapshot before a run and one after, and cpuSecondsBetween() gives what the group used in
 * between, systemCpuSecondsBetween() the kernel (stime) part of it. A group is some root pids and all
 * their descendants (slotgate's workers, a redis-server's fork), found through
 * /proc/<pid>/task/<tid>/children, or by scanning every process's parent pid on kernels without that
 * file. Linux only.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface Stat {
  ppid: number;
  /** utime + stime of the process (all its threads), in clock ticks. */
  ticks: number;
  /** cutime + cstime: what its children that it has waited for used, in clock ticks. */
  reaped: number;
  /** stime alone: the kernel part of `ticks`. */
  systemTicks: number;
  /** cstime alone: the kernel part of `reaped`. */
  reapedSystem: number;
}

/** The counters of /proc/<pid>/stat, or undefined if the process is gone. */
function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After the command name, which may itself hold spaces and parentheses: state is [0], ppid [1],
  // utime [11], stime [12], cutime [13], cstime [14].
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
    reaped: Number(fields[13]) + Number(fields[14]),
    systemTicks: Number(fields[12]),
    reapedSystem: Number(fields[14]),
  };
}

function childrenFromTasks(pid: number): number[] | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  const children: number[] = [];
  for (const tid of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return undefined; // no such file on this kernel
      continue; // that thread ended meanwhile
    }
    for (const child of text.trim().split(/\s+/)) if (child) children.push(Number(child));
  }
  return children;
}

function childrenFromScan(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (readStat(Number(entry))?.ppid === pid) children.push(Number(entry));
  }
  return children;
}

/** The roots that are still alive and all their live descendants, each once. */
export function processTree(roots: number[]): number[] {
  const seen = new Set<number>();
  const pending = [...roots];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    if (seen.has(pid)) continue;
    if (readStat(pid) === undefined) continue;
    seen.add(pid);
    pending.push(...(childrenFromTasks(pid) ?? childrenFromScan(pid)));
  }
  return [...seen];
}

/** One CPU counter of a group of processes, in clock ticks. */
export interface Counter {
  /** pid -> the counter, for every live process of the group. */
  ticks: Map<number, number>;
  /** Its sum over the group's exited children that were waited for (cutime, cstime). */
  reaped: number;
}

export interface CpuSnapshot {
  /** utime+stime, and cutime+cstime for the reaped. */
  total: Counter;
  /** stime, and cstime for the reaped: the time spent in the kernel. */
  system: Counter;
}

/** The CPU counters of the roots and their descendants right now. */
export function cpuSnapshot(roots: number[]): CpuSnapshot {
  const snapshot: CpuSnapshot = { total: { ticks: new Map(), reaped: 0 }, system: { ticks: new Map(), reaped: 0 } };
  for (const pid of processTree(roots)) {
    const stat = readStat(pid);
    if (!stat) continue;
    snapshot.total.ticks.set(pid, stat.ticks);
    snapshot.total.reaped += stat.reaped;
    snapshot.system.ticks.set(pid, stat.systemTicks);
    snapshot.system.reaped += stat.reapedSystem;
  }
  return snapshot;
}

/**
 * Seconds a counter of the group grew by between two snapshots. A process that started in between
 * counts from zero; one that exited and was reaped by the group shows up whole in `reaped`, so its
 * part from before the first snapshot is taken off again.
 */
function counterSecondsBetween(before: Counter, after: Counter, ticksPerSecond: number): number {
  let ticks = after.reaped - before.reaped;
  for (const [pid, now] of after.ticks) ticks += now - (before.ticks.get(pid) ?? 0);
  for (const [pid, then] of before.ticks) if (!after.ticks.has(pid)) ticks -= then;
  return Math.max(0, ticks) / ticksPerSecond;
}

/** CPU-seconds (user and kernel) the group used between two snapshots. */
export function cpuSecondsBetween(before: CpuSnapshot, after: CpuSnapshot, ticksPerSecond = clockTicksPerSecond()): number {
  return counterSecondsBetween(before.total, after.total, ticksPerSecond);
}

/** The kernel part of cpuSecondsBetween(): stime, what the group spent in system calls and the like. */
export function systemCpuSecondsBetween(before: CpuSnapshot, after: CpuSnapshot, ticksPerSecond = clockTicksPerSecond()): number {
  return counterSecondsBetween(before.system, after.system, ticksPerSecond);
}

let ticksPerSecondCache: number | undefined;

/** USER_HZ, the unit of /proc/<pid>/stat's times: nearly always 100. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecondCache === undefined) {
    try {
      ticksPerSecondCache = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecondCache = 100;
    }
  }
  return ticksPerSecondCache;
}

/** CPU-seconds the whole machine has spent busy since boot (all CPUs; /proc/stat less idle and iowait). */
export function machineBusySeconds(ticksPerSecond = clockTicksPerSecond()): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal || 0)) / ticksPerSecond;
}
