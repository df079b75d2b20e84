/**
 * The programs the bench runs: redis-server, redis-cli and redis-benchmark always, nutcracker for
 * its arm. Missing ones are installed from Debian's packages when running as root, by
 * scripts/install-debian-deps.sh's `bench` list (which `npm test` does not use); otherwise that
 * script says what to run.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingRedisTools } from '../test/helpers/redis-cluster.ts';

const script = fileURLToPath(new URL('../scripts/install-debian-deps.sh', import.meta.url));

export function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Installs what is missing if it can; then says what is there. */
export function ensureBenchTools(wantNutcracker: boolean): { redis: boolean; nutcracker: boolean } {
  const lacking = missingRedisTools().length > 0 || (wantNutcracker && !onPath('nutcracker'));
  if (lacking) spawnSync('bash', [script, wantNutcracker ? 'bench' : 'demo'], { stdio: 'inherit' });
  return { redis: missingRedisTools().length === 0, nutcracker: onPath('nutcracker') };
}
