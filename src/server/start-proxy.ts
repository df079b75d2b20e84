import type { Logger } from 'pino';
import type { Settings } from '../config/settings.ts';

/** A listening proxy. `close()` stops accepting, lets in-flight replies drain, then closes every socket. */
export interface RunningProxy {
  /** The port actually bound (useful when settings.port is 0). */
  port: number;
  close(): Promise<void>;
}

/** Discovers the cluster from settings.seeds, then listens on settings.bind:settings.port. */
export async function startProxy(settings: Settings, logger: Logger): Promise<RunningProxy> {
  void settings;
  void logger;
  throw new Error('not implemented yet');
}
