import { expect } from 'vitest';
import { ConfigError, loadSettings } from '../../src/config/load-settings.ts';

/** The ConfigError message loadSettings throws, failing the test if it doesn't throw one. */
export function errorFrom(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    loadSettings(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}
