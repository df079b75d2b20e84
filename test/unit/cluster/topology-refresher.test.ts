import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { TopologyRefresher } from '../../../src/cluster/topology-refresher.ts';
import { BackendLogin } from '../../../src/upstream/backend-auth.ts';
import { until } from '../../helpers/until.ts';
import { startFakeClusterNode, type FakeClusterNode, type FakeSlotRange } from '../../helpers/fake-cluster-node.ts';

const nodes: FakeClusterNode[] = [];
let refresher: TopologyRefresher | null = null;

afterEach(async () => {
  refresher?.stop();
  refresher = null;
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

it('stops asking a node once it has left the map, and keeps asking the seeds', async () => {
  const [a, b, c] = await Promise.all([0, 1, 2].map(() => startFakeClusterNode({ slots: [] })));
  nodes.push(a, b, c);
  const withC: FakeSlotRange[] = [
    { start: 0, end: 8191, master: a.address, replicas: [c.address] },
    { start: 8192, end: 16383, master: b.address },
  ];
  const withoutC: FakeSlotRange[] = [
    { start: 0, end: 8191, master: a.address },
    { start: 8192, end: 16383, master: b.address },
  ];
  for (const node of nodes) node.setSlots(withC);
  refresher = new TopologyRefresher({
    seeds: [a.address],
    timeoutMs: 1000,
    access: { login: new BackendLogin({ username: '', password: '' }) },
    intervalSeconds: 0,
    logger: pino({ level: 'silent' }),
    onSlotMap() {},
  });
  await refresher.fetch();
  await refresher.fetch();
  // Learnt from the first map, asked the second time (a fetch may end before the last answer).
  await until(() => c.countOf('CLUSTER') === 1);
  expect(c.countOf('CLUSTER')).toBe(1);

  // C is removed from the cluster (CLUSTER FORGET, a replaced pod).
  for (const node of nodes) node.setSlots(withoutC);
  await refresher.fetch();
  await until(() => c.countOf('CLUSTER') === 2);
  const asked = c.countOf('CLUSTER');
  await refresher.fetch();
  await refresher.fetch();
  await until(() => false, { timeoutMs: 0, graceMs: 100 });
  expect(c.countOf('CLUSTER')).toBe(asked);
  expect(a.countOf('CLUSTER')).toBe(5);
  expect(b.countOf('CLUSTER')).toBe(4);
});
