import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cpuSecondsBetween, cpuSnapshot, machineBusySeconds, processTree, systemCpuSecondsBetween } from '../../../bench/proc-cpu.ts';

/** A snapshot with the given total ticks, whose kernel part is a tenth of them. */
const snapshot = (ticks: [number, number][], reaped = 0) => ({
  total: { ticks: new Map(ticks), reaped },
  system: { ticks: new Map(ticks.map(([pid, n]) => [pid, n / 10])), reaped: reaped / 10 },
});

describe('cpuSecondsBetween', () => {
  it('sums what every process used between the snapshots', () => {
    expect(cpuSecondsBetween(snapshot([[1, 100], [2, 50]]), snapshot([[1, 130], [2, 60]]), 100)).toBeCloseTo(0.4);
  });

  it('counts a process that started in between from zero', () => {
    expect(cpuSecondsBetween(snapshot([[1, 100]]), snapshot([[1, 100], [3, 25]]), 100)).toBeCloseTo(0.25);
  });

  it('takes a reaped process from its parent\'s cutime, less the part from before', () => {
    // Worker 2 had used 50 ticks, used 20 more, exited and was reaped: 70 show up in the reaped sum.
    expect(cpuSecondsBetween(snapshot([[1, 100], [2, 50]], 0), snapshot([[1, 110]], 70), 100)).toBeCloseTo(0.3);
  });

  it('never goes negative', () => {
    expect(cpuSecondsBetween(snapshot([[2, 50]]), snapshot([]), 100)).toBe(0);
  });
});

describe('systemCpuSecondsBetween', () => {
  it('accounts the kernel part alike: new processes from zero, reaped ones less their part from before', () => {
    expect(systemCpuSecondsBetween(snapshot([[1, 100], [2, 50]]), snapshot([[1, 130], [2, 60]]), 100)).toBeCloseTo(0.04);
    expect(systemCpuSecondsBetween(snapshot([[1, 100]]), snapshot([[1, 100], [3, 25]]), 100)).toBeCloseTo(0.025);
    expect(systemCpuSecondsBetween(snapshot([[1, 100], [2, 50]], 0), snapshot([[1, 110]], 70), 100)).toBeCloseTo(0.03);
    expect(systemCpuSecondsBetween(snapshot([[2, 50]]), snapshot([]), 100)).toBe(0);
  });
});

describe('processTree and cpuSnapshot', () => {
  it('find a child and a grandchild of this process', async () => {
    const child = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let tree: number[] = [];
      for (let i = 0; i < 50 && tree.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        tree = processTree([child.pid as number]);
      }
      expect(tree).toContain(child.pid);
      expect(tree).toHaveLength(2);
      expect(processTree([process.pid])).toEqual(expect.arrayContaining(tree));
      const snap = cpuSnapshot([child.pid as number]);
      expect(snap.total.ticks.size).toBe(2);
      expect([...snap.system.ticks.keys()]).toEqual([...snap.total.ticks.keys()]);
      for (const [pid, ticks] of snap.system.ticks) expect(ticks).toBeLessThanOrEqual(snap.total.ticks.get(pid) as number);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('skip pids that do not exist', () => {
    expect(processTree([2 ** 22 + 1])).toEqual([]);
    expect(cpuSnapshot([2 ** 22 + 1]).total.ticks.size).toBe(0);
  });
});

describe('machineBusySeconds', () => {
  it('grows', () => {
    const before = machineBusySeconds();
    let x = 0;
    for (let i = 0; i < 3e7; i++) x += i;
    expect(x).toBeGreaterThan(0);
    expect(machineBusySeconds()).toBeGreaterThan(before);
  });
});
