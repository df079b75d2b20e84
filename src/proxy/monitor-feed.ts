import { MonitorClock, monitorLine } from './monitor-line.ts';

/** A client in MONITOR mode, as the feed sees it. */
export interface Monitor {
  /** One line to write to the client, in turn with its replies. */
  onMonitorLine(line: Buffer): void;
}

/**
 * The clients of this process in MONITOR mode, and what they are sent. Sessions read only `count`
 * on the data path: while it is 0 a request pays that one test, and nothing is formatted.
 */
export class MonitorFeed {
  /** How many clients monitor; a plain field, read once per request. */
  count = 0;
  private readonly monitors = new Set<Monitor>();
  private readonly clock = new MonitorClock();

  add(monitor: Monitor): void {
    this.monitors.add(monitor);
    this.count = this.monitors.size;
  }

  remove(monitor: Monitor): void {
    this.monitors.delete(monitor);
    this.count = this.monitors.size;
  }

  /**
   * Sends every monitor one line per command, all with the same time: `client` is how the client
   * that ran them is shown, `args` each command's arguments from monitorArgs.
   */
  publish(client: string, args: Buffer | Buffer[]): void {
    const timestamp = this.clock.now();
    if (Array.isArray(args)) {
      for (const one of args) this.send(monitorLine(timestamp, client, one));
    } else {
      this.send(monitorLine(timestamp, client, args));
    }
  }

  private send(line: Buffer): void {
    // A monitor closed for falling behind leaves the set while it is iterated: Set allows that.
    for (const monitor of this.monitors) monitor.onMonitorLine(line);
  }
}
