import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { parseCliArgs } from './cli-args.ts';
import { ConfigError } from './config-error.ts';
import { defaultSettings, type Settings } from './settings.ts';
import { envName, flagSettingSpecs, settingSpecs } from './setting-specs.ts';
import { suggestName } from './suggest-name.ts';
import { loadTlsFiles } from './tls-files.ts';
import { checkSettingValue, parseSettingText } from './validate-settings.ts';

export { ConfigError } from './config-error.ts';

/**
 * Builds the settings slotgate runs with. Each source overrides the ones before it: the defaults,
 * the YAML file (--config, else SLOTGATE_CONFIG), SLOTGATE_* environment variables (so a container
 * needs no file), then flags. Every value is checked as it is read, so the error can say where the
 * bad value came from. Throws ConfigError.
 */
export function loadSettings(argv: string[], env: NodeJS.ProcessEnv): Settings {
  const cli = parseCliArgs(argv);
  const configPath = cli.configPath ?? nonEmpty(env[envName('config')]);
  const fromFile = configPath === undefined ? {} : readSettingsFile(configPath);
  const settings: Settings = {
    ...defaultSettings,
    seeds: [...defaultSettings.seeds],
    ...fromFile,
    ...readEnvSettings(env),
    ...cli.settings,
  };
  checkCombinations(settings);
  loadTlsFiles(settings); // TLS settings that only make sense together, and files that must be readable
  return settings;
}

/** What no single value shows wrong, only two together. */
function checkCombinations(settings: Settings): void {
  if (settings.tlsPort !== 0 && settings.tlsPort === settings.port) {
    // With workers both listeners would bind it (reusePort) and the kernel would split clients between them.
    throw new ConfigError(`tlsPort and port are both ${settings.port}: the TLS listener needs a port of its own`);
  }
  if (settings.unixSocketPerm !== '' && settings.unixSocket === '') {
    throw new ConfigError('unixSocketPerm is set but unixSocket is not: give the path to listen on');
  }
  checkDefaultUser(settings);
  if (settings.backendUsername !== '' && settings.backendPassword === '') {
    throw new ConfigError(
      'backendUsername is set but backendPassword is not: give the user\'s password (a nopass user accepts any, so give any)',
    );
  }
}

/**
 * The default user is set in one place: by `password` (then it may do everything, as before there
 * were users) or by a `users` entry named default. And once there are users, the default user must
 * have a password: otherwise any client would get in without AUTH, with the default user's rights,
 * and the users' restrictions would guard nothing.
 */
function checkDefaultUser(settings: Settings): void {
  if (settings.users.length === 0) return;
  const hasDefault = settings.users.some((user) => user.name === 'default');
  if (hasDefault && settings.password !== '') {
    throw new ConfigError('password and a users entry named default both set the default user\'s password: give it in one place (the entry also sets its access and keyPrefixes)');
  }
  if (!hasDefault && settings.password === '') {
    throw new ConfigError(
      'users are set but the default user needs no password, so any client would get in without AUTH, with every right: ' +
        'set password, or add a users entry named default',
    );
  }
}

/** Settings from SLOTGATE_* variables. Unknown SLOTGATE_* names are left alone (see kubernetesHint). */
export function readEnvSettings(env: NodeJS.ProcessEnv): Partial<Settings> {
  const settings: Partial<Settings> = {};
  for (const spec of flagSettingSpecs) {
    // An empty variable counts as unset: compose files and env files often declare names blank.
    const raw = env[spec.env];
    const text = nonEmpty(raw);
    if (text === undefined) {
      // But a password of blanks is a mistake (a secret made with a stray newline): refusing it
      // beats starting with no password at all.
      if (spec.rule.type === 'secret' && raw !== undefined && raw !== '') {
        throw new ConfigError(`${spec.env} holds only blanks: unset it, or give the password itself`);
      }
      continue;
    }
    try {
      assign(settings, spec.key, parseSettingText(spec.rule, text, spec.env));
    } catch (err) {
      if (err instanceof ConfigError && text.startsWith('tcp://')) throw new ConfigError(err.message + kubernetesHint(spec.env));
      throw err;
    }
  }
  return settings;
}

/**
 * Kubernetes injects SLOTGATE_PORT=tcp://10.0.0.1:7380 (and SLOTGATE_SERVICE_HOST, ...) into every
 * pod in a namespace with a Service named "slotgate", and SLOTGATE_METRICS_PORT for one named
 * "slotgate-metrics". That is why unknown SLOTGATE_* variables are not refused, and why a tcp://
 * value gets this explanation, naming the Service, instead of a bare "must be a number".
 */
function kubernetesHint(variable: string): string {
  const service = variable.replace(/_PORT$/, '').toLowerCase().replaceAll('_', '-');
  return (
    ` (this looks like a variable Kubernetes sets for a Service named "${service}": set enableServiceLinks: false` +
    ' on the pod, or give the Service another name)'
  );
}

/** Reads and checks the YAML file: a mapping whose keys are Settings field names. */
export function readSettingsFile(path: string): Partial<Settings> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new ConfigError(`cannot read config file ${path}: ${reason}`);
  }
  return parseSettingsYaml(text, path);
}

/** The YAML half of readSettingsFile; `path` is only used in messages. */
export function parseSettingsYaml(text: string, path: string): Partial<Settings> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) {
    // The first line of yaml's message says what and where; the excerpt after it is left out, since
    // the line it quotes may be a password.
    const where = doc.errors[0].message.split('\n', 1)[0].replace(/:\s*$/, '');
    throw new ConfigError(`${path} is not valid YAML: ${where}`);
  }
  const settings: Partial<Settings> = {};
  if (doc.contents === null) return settings; // an empty file (or only comments) changes nothing
  if (!isMap(doc.contents)) {
    throw new ConfigError(`${path} must be a mapping of setting names to values, e.g. "port: 7380"`);
  }

  const keys = settingSpecs.map((spec) => spec.key);
  for (const pair of doc.contents.items) {
    const keyNode = pair.key as Node | null;
    const at = `${path}:${keyNode?.range ? lines.linePos(keyNode.range[0]).line : '?'}`;
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const spec = settingSpecs.find((candidate) => candidate.key === key);
    if (spec === undefined) {
      const guess = suggestName(key, [...keys, ...settingSpecs.map((s) => s.flag)]);
      const hint = guess === undefined ? '' : ` (did you mean ${keyFor(guess)}?)`;
      throw new ConfigError(`${at}: unknown setting "${key}"${hint}; known settings: ${keys.join(', ')}`);
    }
    const subject = `${at}: ${key}`;
    const value = toPlainValue(pair.value as Node | null, doc, subject);
    if (value === null || value === undefined) {
      throw new ConfigError(`${subject} has no value; give one, or delete the line to use the default`);
    }
    assign(settings, spec.key, checkSettingValue(spec.rule, value, subject));
  }
  return settings;
}

function toPlainValue(node: Node | null, doc: Parameters<Node['toJS']>[0], subject: string): unknown {
  try {
    return node === null ? null : node.toJS(doc);
  } catch (err) {
    // e.g. an alias (*name) with no matching anchor
    throw new ConfigError(`${subject}: ${(err as Error).message}`);
  }
}

/** Suggestions may match a flag name; always point at the YAML key. */
function keyFor(name: string): string {
  return settingSpecs.find((spec) => spec.flag === name)?.key ?? name;
}

function assign(settings: Partial<Settings>, key: keyof Settings, value: unknown): void {
  (settings as Record<string, unknown>)[key] = value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
