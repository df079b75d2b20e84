import { readFileSync } from 'node:fs';

/** slotgate's version, from package.json: reported by --version and INFO. */
export const SLOTGATE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
