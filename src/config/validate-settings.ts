import { ConfigError } from './config-error.ts';
import { checkUsers, type UserSetting } from './user-settings.ts';

/**
 * What one setting's value must look like. The same rule checks a value whichever way it arrived:
 * as text (flags, environment variables) through parseSettingText, or already typed (YAML) through
 * checkSettingValue, so a value accepted in one place is accepted in all of them.
 */
export type ValueRule =
  | { type: 'address' }
  | { type: 'integer'; min: number; max: number }
  | { type: 'seconds'; max: number }
  | { type: 'seeds' }
  | { type: 'choice'; choices: readonly string[] }
  /** A password or user name: any text, taken exactly, and never repeated in an error message. */
  | { type: 'secret' }
  | { type: 'boolean' }
  | { type: 'text' }
  /** File permission bits in octal, as text ("770"; in YAML, in quotes); "" for none. */
  | { type: 'mode' }
  /** The `users` list (YAML only): see user-settings.ts. */
  | { type: 'users' };

export type SettingValue = string | number | string[] | boolean | UserSetting[];

/** Longest delay Node timers honour (2^31 - 1 ms); a longer one silently fires after 1 ms instead. */
export const maxTimerMs = 2 ** 31 - 1;

/**
 * Checks a value given as text. `subject` names its origin for the error message, e.g. "--port" or
 * "SLOTGATE_PORT". Surrounding blanks are ignored: they creep into environment files unseen.
 */
export function parseSettingText(rule: ValueRule, text: string, subject: string): SettingValue {
  // A secret is taken as given; checkValue refuses stray blanks rather than guess.
  if (rule.type === 'secret') return checkValue(rule, text, subject, true);
  if (rule.type === 'users') throw new ConfigError(`${subject}: users can only be given in the YAML file`);
  const trimmed = text.trim();
  switch (rule.type) {
    case 'integer':
      // Number() alone would also take "", "0x1f", "1e3" and " 7 ", none of which an operator means.
      if (!/^\d+$/.test(trimmed)) throw mismatch(rule, subject, JSON.stringify(text));
      return checkValue(rule, Number(trimmed), subject, true);
    case 'seconds':
      if (!/^\d+(\.\d+)?$/.test(trimmed)) throw mismatch(rule, subject, JSON.stringify(text));
      return checkValue(rule, Number(trimmed), subject, true);
    default:
      return checkValue(rule, trimmed, subject, true);
  }
}

/** Checks a value that already has a type (parsed from YAML). `subject` names its origin. */
export function checkSettingValue(rule: ValueRule, value: unknown, subject: string): SettingValue {
  return checkValue(rule, value, subject, false);
}

/** `fromText` only changes how a bad value is shown: text needs no "(a string)" note. */
function checkValue(rule: ValueRule, value: unknown, subject: string, fromText: boolean): SettingValue {
  switch (rule.type) {
    case 'address':
      if (typeof value === 'string' && value !== '' && !/\s/.test(value)) return value;
      break;
    case 'integer':
      if (Number.isSafeInteger(value) && (value as number) >= rule.min && (value as number) <= rule.max) {
        return value as number;
      }
      break;
    case 'seconds':
      if (typeof value === 'number' && value >= 0 && value <= rule.max) return value;
      break;
    case 'seeds':
      return checkSeeds(value, subject, fromText);
    case 'choice':
      // Accept "INFO" for "info": capitalisation is not worth a failed start.
      if (typeof value === 'string' && rule.choices.includes(value.toLowerCase())) return value.toLowerCase();
      break;
    case 'secret':
      return checkSecret(value, subject);
    case 'users':
      return checkUsers(value, subject);
    case 'boolean':
      // Text (flags, env) and YAML 1.1 habits alike: yes/no as in redis.conf, true/false, 1/0.
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(yes|true|1)$/i.test(value)) return true;
      if (typeof value === 'string' && /^(no|false|0)$/i.test(value)) return false;
      break;
    case 'mode':
      // Text only: YAML reads 0o770 as the number 504, whose digits would pass as other bits.
      if (typeof value === 'string' && /^([0-7]{3,4})?$/.test(value.trim())) return value.trim();
      break;
    case 'text':
      // A path or a name; "" means none. Files are checked once the settings are merged (tls-files.ts).
      if (typeof value === 'string') return value;
      break;
  }
  throw mismatch(rule, subject, describe(value, fromText));
}

/**
 * A password is compared byte for byte, so a blank that crept in at either end (an env file, a YAML
 * line) would only show up as refused logins: refuse it here, saying why, without echoing it.
 */
function checkSecret(value: unknown, subject: string): string {
  if (typeof value !== 'string') {
    throw new ConfigError(`${subject} must be text (in YAML, put it in quotes), got ${value === null ? 'nothing' : Array.isArray(value) ? 'a list' : `a ${typeof value}`}`);
  }
  if (value !== value.trim()) throw new ConfigError(`${subject} starts or ends with a blank (space, tab or newline); remove it`);
  return value;
}

/** Seeds come as a YAML list, or as one comma-separated string (the only form flags and env allow). */
function checkSeeds(value: unknown, subject: string, fromText: boolean): string[] {
  const list = typeof value === 'string' ? value.split(',').map((entry) => entry.trim()) : value;
  if (!Array.isArray(list) || list.length === 0 || (list.length === 1 && list[0] === '')) {
    throw mismatch({ type: 'seeds' }, subject, describe(value, fromText));
  }
  for (const entry of list) {
    if (typeof entry !== 'string' || !isHostPort(entry)) {
      throw new ConfigError(
        `${subject}: ${describe(entry, true)} is not a seed; each seed is host:port with a port from 1 to 65535 ` +
          '(an IPv6 address goes in brackets: [::1]:7000)',
      );
    }
  }
  return list as string[];
}

/** "host:port", "1.2.3.4:port" or "[v6]:port". A bare IPv6 address is refused: its port is ambiguous. */
function isHostPort(text: string): boolean {
  const match = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(text);
  if (match === null) return false;
  const port = Number(match[1]);
  return port >= 1 && port <= 65535;
}

function mismatch(rule: ValueRule, subject: string, shown: string): ConfigError {
  return new ConfigError(`${subject} must be ${expectation(rule)}, got ${shown}`);
}

/** The rule in words, for error messages. */
export function expectation(rule: ValueRule): string {
  switch (rule.type) {
    case 'address':
      return 'a host name or IP address';
    case 'integer':
      return rule.max === Number.MAX_SAFE_INTEGER
        ? `a whole number of at least ${rule.min}`
        : `a whole number from ${rule.min} to ${rule.max}`;
    case 'seconds':
      return `a number of seconds from 0 to ${rule.max}`;
    case 'seeds':
      return 'a non-empty list of host:port';
    case 'choice':
      return `one of ${rule.choices.join(', ')}`;
    case 'boolean':
      return 'yes or no (true or false)';
    case 'mode':
      return 'octal permission bits as text, such as "770" (quoted in YAML)';
    case 'users':
      return 'a list of users';
    case 'secret':
    case 'text':
      return 'text';
  }
}

function describe(value: unknown, fromText: boolean): string {
  if (value === null || value === undefined) return 'nothing';
  // Say "a string" so `port: "7380"` in YAML explains itself: the quotes made it text.
  if (typeof value === 'string') return fromText ? JSON.stringify(value) : `${JSON.stringify(value)} (a string)`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
