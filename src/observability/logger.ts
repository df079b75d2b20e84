import { pino, type Logger } from 'pino';

/**
 * The process logger: JSON lines on stdout, one object per event, for whatever collects container
 * output. Levels are written as names ("info") rather than pino's numbers so the lines read well
 * without pino-pretty. Writes are synchronous: slotgate logs connections, topology changes and
 * errors, never individual commands, so the cost is small, and the fatal line written just before
 * process.exit() is not lost. A disabled level is a no-op function in pino, so debug calls left
 * in control-plane code cost nothing at the default level.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      name: 'slotgate',
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}
