import pino from 'pino';
import { defaultSettings, type Settings } from '../../src/config/settings.ts';
import { startProxy, type RunningProxy } from '../../src/server/start-proxy.ts';

/** Starts slotgate in this process on a free port, logging nothing unless SLOTGATE_TEST_LOG is set. */
export function startTestProxy(seeds: string[], overrides: Partial<Settings> = {}): Promise<RunningProxy> {
  const logger = pino({ level: process.env.SLOTGATE_TEST_LOG ?? 'silent' });
  return startProxy({ ...defaultSettings, bind: '127.0.0.1', port: 0, seeds, ...overrides }, logger);
}
