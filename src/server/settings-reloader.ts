import type { Logger } from 'pino';
import { describeChanges, planReload } from '../config/plan-reload.ts';
import type { Settings } from '../config/settings.ts';

export interface SettingsReloaderOptions {
  /** The settings running now, as start-up read them. */
  running: Settings;
  /** Reads the settings again from the sources start-up read (same flags, environment and file); throws ConfigError. */
  load(): Settings;
  logger: Logger;
  /**
   * A worker: its supervisor has checked the new settings and logged what changed, so the worker
   * says it again only at debug level (errors still at error).
   */
  quiet: boolean;
}

/**
 * What SIGHUP does: read the settings again and put the live ones in force (see plan-reload.ts),
 * keeping every client connected. Settings that are not valid are logged and change nothing; ones
 * that need a restart are named in a warning and keep their old values. Never throws: a reload
 * must not be what stops a running proxy.
 */
export class SettingsReloader {
  private running: Settings;
  private readonly options: SettingsReloaderOptions;
  private apply: ((settings: Settings) => void) | null = null;
  /** A reload was asked for before start(): the settings read at start-up may already be old. */
  private pending = false;
  /** The settings handed to that reload, if they were given rather than to be read. */
  private pendingSettings: Settings | undefined;
  /** Shutting down: a reload now would only restart what is being stopped. */
  private stopped = false;

  constructor(options: SettingsReloaderOptions) {
    this.options = options;
    this.running = options.running;
  }

  /** From now on reloads are applied through `apply`; one asked for while starting is done now. */
  start(apply: (settings: Settings) => void): void {
    this.apply = apply;
    if (this.pending) {
      this.pending = false;
      this.reload(this.pendingSettings);
    }
  }

  /** No reload from now on (shutdown has begun). */
  stop(): void {
    this.stopped = true;
  }

  /** Reloads from the settings' sources, or takes `next` (a worker's, from its supervisor). */
  reload(next?: Settings): void {
    if (this.stopped) return;
    if (this.apply === null) {
      this.pending = true;
      this.pendingSettings = next;
      return;
    }
    const { logger, quiet } = this.options;
    try {
      const plan = planReload(this.running, next ?? this.options.load());
      if (plan.needsRestart.length > 0) {
        logger[quiet ? 'debug' : 'warn']({ needsRestart: plan.needsRestart }, 'configuration reload: these settings changed but need a restart; they keep their old values');
      }
      this.apply(plan.settings);
      const before = this.running;
      this.running = plan.settings;
      logger[quiet ? 'debug' : 'info']({ changed: describeChanges(before, plan.settings, plan.changed) }, 'configuration reloaded');
    } catch (error) {
      // A ConfigError's message says where and what, never a secret's value (validate-settings.ts).
      logger.error({ err: (error as Error).message }, 'configuration reload failed; keeping the running settings');
    }
  }
}
