/**
 * A problem with the settings an operator gave us (bad flag, bad value, unreadable or invalid YAML).
 * main.ts prints the message as-is and exits 2, so it must read well on its own: say where the
 * value came from (flag, environment variable, file and line), what was expected and what was found.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
