import pino from 'pino';
import { SlotMap, type SlotRange } from '../../src/cluster/slot-map.ts';
import { Router } from '../../src/proxy/router.ts';
import { BackendLogin } from '../../src/upstream/backend-auth.ts';

/** A Router with one connection per node, no password, silent logs, taking `ranges` as its map. */
export function testRouter(ranges: SlotRange[]): Router {
  const router = new Router({
    connectionsPerNode: 1,
    connectTimeoutMs: 1000,
    login: new BackendLogin({ username: '', password: '' }),
    maxRedirects: 5,
    retryBudgetMs: 5000,
    readFrom: 'master',
    logger: pino({ level: 'silent' }),
    requestRefresh() {},
  });
  router.applySlotMap(SlotMap.fromRanges(ranges));
  return router;
}
