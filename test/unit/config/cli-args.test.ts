import { describe, expect, it } from 'vitest';
import { helpText, parseCliArgs } from '../../../src/config/cli-args.ts';
import { ConfigError } from '../../../src/config/config-error.ts';
import { defaultSettings } from '../../../src/config/settings.ts';
import { flagSettingSpecs } from '../../../src/config/setting-specs.ts';

function errorFrom(argv: string[]): string {
  expect(() => parseCliArgs(argv)).toThrow(ConfigError);
  try {
    parseCliArgs(argv);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('parseCliArgs', () => {
  it('returns only the settings actually given', () => {
    expect(parseCliArgs([])).toEqual({ settings: {}, configPath: undefined, help: false, version: false });
    expect(parseCliArgs(['--bind', '0.0.0.0', '--seeds=a:1,b:2', '--config', 'x.yaml'])).toEqual({
      settings: { bind: '0.0.0.0', seeds: ['a:1', 'b:2'] },
      configPath: 'x.yaml',
      help: false,
      version: false,
    });
  });

  it('has a flag for every setting', () => {
    for (const spec of flagSettingSpecs) {
      const examples: Partial<Record<string, string>> = { seeds: 'h:1', logLevel: 'warn', bind: 'h', readFrom: 'replica', unixSocketPerm: '770' };
      const value = examples[spec.key] ?? '1';
      expect(Object.keys(parseCliArgs([`--${spec.flag}`, value]).settings)).toEqual([spec.key]);
    }
    // All but users, a list of mappings that only the YAML file can give.
    expect([...flagSettingSpecs.map((spec) => spec.key), 'users'].sort()).toEqual(Object.keys(defaultSettings).sort());
  });

  it('recognises --help, -h and --version', () => {
    expect(parseCliArgs(['--help']).help).toBe(true);
    expect(parseCliArgs(['-h']).help).toBe(true);
    expect(parseCliArgs(['--version']).version).toBe(true);
  });

  it('explains malformed command lines, naming the flag', () => {
    expect(errorFrom(['--verbose'])).toBe('unknown flag --verbose; run slotgate --help for the list');
    expect(errorFrom(['--log_level', 'info'])).toContain('did you mean --log-level?');
    expect(errorFrom(['--port'])).toBe('--port needs a value');
    expect(errorFrom(['--port', '--bind', 'x'])).toMatch(/^--port needs a value \(for a value starting with "-"/);
    expect(errorFrom(['--help=yes'])).toBe('--help does not take a value');
    expect(errorFrom(['config.yaml'])).toMatch(/^unexpected argument "config.yaml"; settings are given as flags/);
    expect(errorFrom(['--config='])).toBe('--config needs a file path');
  });
});

describe('helpText', () => {
  const help = helpText();

  it('lists every flag with its default, variable and YAML key', () => {
    for (const spec of flagSettingSpecs) {
      expect(help).toContain(`--${spec.flag} <${spec.valueName}>`);
      expect(help).toContain(spec.description);
      expect(help).toContain(spec.env);
      expect(help).toContain(`YAML key ${spec.key}.`);
    }
    expect(help).toContain('Default 7380.');
    expect(help).toContain('Default 127.0.0.1:7000.');
    for (const flag of ['--config <file>', '-h, --help', '--version', 'SLOTGATE_CONFIG']) expect(help).toContain(flag);
    expect(help).toContain('In the YAML file only: users');
    expect(help).not.toContain('--users');
  });
});
