/** Arm (a): redis-benchmark --cluster straight at the Redis Cluster, no proxy. */
import type { RedisClusterHandle } from '../../test/helpers/redis-cluster.ts';
import { type Arm, HOST } from './arm.ts';

export function directArm(cluster: RedisClusterHandle): Arm {
  return {
    name: 'direct',
    target: ['--cluster', '-h', HOST, '-p', String(cluster.nodes[0].port)],
    targetPattern: `--cluster -h ${HOST} -p <a master>`,
    clusterMode: true,
    proxyPids: () => [],
    backendPids: () => cluster.nodes.map((node) => node.process.pid as number),
    description: `no proxy: redis-benchmark --cluster at the cluster (${cluster.nodes.length} nodes)`,
    stop: async () => {},
  };
}
