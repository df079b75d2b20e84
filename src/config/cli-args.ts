import { parseArgs } from 'node:util';
import { ConfigError } from './config-error.ts';
import { defaultSettings, type Settings } from './settings.ts';
import { envName, flagSettingSpecs } from './setting-specs.ts';
import { suggestName } from './suggest-name.ts';
import { parseSettingText } from './validate-settings.ts';

/** What the command line asked for. Settings holds only the flags actually given. */
export interface CliArgs {
  settings: Partial<Settings>;
  /** --config: the YAML file to read, if given. */
  configPath: string | undefined;
  help: boolean;
  version: boolean;
}

/**
 * Flags that are not settings; with the setting table they make up the whole command line.
 * --config comes first, as --help lists it first.
 */
const commandFlags = [
  {
    flag: 'config',
    valueName: 'file',
    description: `YAML settings file, keyed by the names shown as "YAML key" below. Env ${envName('config')}.`,
  },
  { flag: 'help', short: 'h', description: 'Print this help and exit.' },
  { flag: 'version', description: 'Print the version and exit.' },
];

type OptionConfig = { type: 'string' | 'boolean'; short?: string };

function optionTable(): Record<string, OptionConfig> {
  const options: Record<string, OptionConfig> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const spec of flagSettingSpecs) options[spec.flag] = { type: 'string' };
  return options;
}

/** Parses argv (without the node and script paths). Throws ConfigError naming the offending flag. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: optionTable(), strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw translateParseError(err);
  }

  const settings: Partial<Settings> = {};
  for (const spec of flagSettingSpecs) {
    const text = values[spec.flag];
    if (typeof text !== 'string') continue;
    (settings as Record<string, unknown>)[spec.key] = parseSettingText(spec.rule, text, `--${spec.flag}`);
  }

  const configPath = values.config;
  if (configPath === '') throw new ConfigError('--config needs a file path');
  return {
    settings,
    configPath: typeof configPath === 'string' ? configPath : undefined,
    help: values.help === true,
    version: values.version === true,
  };
}

/** node:util's messages are written for developers; restate them for an operator, naming the flag. */
function translateParseError(err: unknown): unknown {
  if (!(err instanceof Error) || !('code' in err)) return err;
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
  const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const known = [...commandFlags.map((f) => f.flag), ...flagSettingSpecs.map((s) => s.flag)];
      const guess = suggestName(quoted.replace(/^-+/, ''), known);
      const hint = guess === undefined ? '' : ` (did you mean --${guess}?)`;
      return new ConfigError(`unknown flag ${quoted}${hint}; run slotgate --help for the list`);
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (err.message.includes('does not take an argument')) return new ConfigError(`${flag} does not take a value`);
      if (err.message.includes('ambiguous')) {
        return new ConfigError(`${flag} needs a value (for a value starting with "-", write ${flag}=-value)`);
      }
      return new ConfigError(`${flag} needs a value`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ConfigError(`unexpected argument "${quoted}"; settings are given as flags, e.g. --config <file>`);
    default:
      return new ConfigError(err.message);
  }
}

/** The --help text: every flag with its meaning, default, environment variable and YAML key. */
export function helpText(): string {
  const lines = [
    'Usage: slotgate [--config <file>] [flags]',
    '',
    'A Redis Cluster proxy: one plain-Redis endpoint in front of a whole cluster.',
    '',
    'Each setting is taken from the first of these that gives it: a flag, its SLOTGATE_*',
    'environment variable, the YAML file (--config or SLOTGATE_CONFIG), the built-in default.',
    '',
    'Flags:',
  ];
  const [configFlag, ...otherFlags] = commandFlags;
  const describeCommandFlag = ({ flag, short, valueName, description }: (typeof commandFlags)[number]): void => {
    const names = short === undefined ? `--${flag}` : `-${short}, --${flag}`;
    lines.push(valueName === undefined ? `  ${names}` : `  ${names} <${valueName}>`);
    lines.push(`      ${description}`);
  };
  describeCommandFlag(configFlag);
  for (const spec of flagSettingSpecs) {
    lines.push(`  --${spec.flag} <${spec.valueName}>`);
    lines.push(`      ${spec.description}`);
    lines.push(`      Default ${formatDefault(defaultSettings[spec.key])}. Env ${spec.env}. YAML key ${spec.key}.`);
  }
  otherFlags.forEach(describeCommandFlag);
  lines.push('', 'In the YAML file only: users (see config/slotgate.yaml).');
  return `${lines.join('\n')}\n`;
}

function formatDefault(value: Settings[keyof Settings]): string {
  if (value === '') return 'none';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return Array.isArray(value) ? value.join(',') : String(value);
}
