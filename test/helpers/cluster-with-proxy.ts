import { afterAll, beforeAll } from 'vitest';
import type { Settings } from '../../src/config/settings.ts';
import type { RunningProxy } from '../../src/server/start-proxy.ts';
import { startRedisCluster, type RedisClusterHandle, type RedisClusterOptions } from './redis-cluster.ts';
import { startTestProxy } from './test-proxy.ts';

/**
 * The usual setup of an integration test file: a throwaway 3+3 cluster and slotgate in front of
 * it, started before the file's tests and stopped after. Read `.cluster` and `.proxy` inside tests.
 */
export function clusterWithProxy(
  settings: Partial<Settings> = {},
  clusterOptions: RedisClusterOptions = {},
): { readonly cluster: RedisClusterHandle; readonly proxy: RunningProxy } {
  const setup = {} as { cluster: RedisClusterHandle; proxy: RunningProxy };
  beforeAll(async () => {
    setup.cluster = await startRedisCluster(clusterOptions);
    setup.proxy = await startTestProxy(setup.cluster.seeds, settings);
  });
  afterAll(async () => {
    await setup.proxy?.close();
    await setup.cluster?.stop();
  });
  return setup;
}
