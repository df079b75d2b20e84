import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/config/load-settings.ts';
import { errorFrom } from '../../helpers/config-error-from.ts';
import { defaultSettings } from '../../../src/config/settings.ts';
import { flagSettingSpecs } from '../../../src/config/setting-specs.ts';

const dir = mkdtempSync(join(tmpdir(), 'slotgate-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function yamlFile(text: string): string {
  const path = join(dir, `settings-${++fileCount}.yaml`);
  writeFileSync(path, text);
  return path;
}


describe('loadSettings precedence', () => {
  it('returns the defaults when nothing is given', () => {
    expect(loadSettings([], {})).toEqual(defaultSettings);
  });

  it('does not hand out the default seeds array itself', () => {
    loadSettings([], {}).seeds.push('mutated:1');
    expect(defaultSettings.seeds).toEqual(['127.0.0.1:7000']);
  });

  it('lets the YAML file override defaults, keeping defaults for keys it leaves out', () => {
    const file = yamlFile('port: 7400\nseeds:\n  - 10.0.0.1:7000\n  - 10.0.0.2:7000\nconnectionsPerNode: 4\n');
    expect(loadSettings(['--config', file], {})).toEqual({
      ...defaultSettings,
      port: 7400,
      seeds: ['10.0.0.1:7000', '10.0.0.2:7000'],
      connectionsPerNode: 4,
    });
  });

  it('finds the file through SLOTGATE_CONFIG, and --config wins over it', () => {
    const fromEnv = yamlFile('port: 7401\n');
    const fromFlag = yamlFile('port: 7402\n');
    expect(loadSettings([], { SLOTGATE_CONFIG: fromEnv }).port).toBe(7401);
    expect(loadSettings(['--config', fromFlag], { SLOTGATE_CONFIG: fromEnv }).port).toBe(7402);
  });

  it('lets environment variables override the file', () => {
    const file = yamlFile('port: 7400\nlogLevel: warn\nbind: 127.0.0.2\n');
    const settings = loadSettings(['--config', file], {
      SLOTGATE_PORT: '7500',
      SLOTGATE_SEEDS: 'a:1, b:2',
      SLOTGATE_TOPOLOGY_REFRESH_INTERVAL: '2.5',
      SLOTGATE_CONNECTIONS_PER_NODE: '',
    });
    expect(settings.port).toBe(7500);
    expect(settings.seeds).toEqual(['a:1', 'b:2']);
    expect(settings.topologyRefreshIntervalSeconds).toBe(2.5);
    expect(settings.logLevel).toBe('warn'); // from the file: no variable given
    expect(settings.bind).toBe('127.0.0.2');
    expect(settings.connectionsPerNode).toBe(defaultSettings.connectionsPerNode); // blank means unset
  });

  it('lets flags override environment variables', () => {
    const file = yamlFile('port: 7400\n');
    const settings = loadSettings(['--config', file, '--port', '7600', '--max-redirects=0'], {
      SLOTGATE_PORT: '7500',
      SLOTGATE_MAX_REDIRECTS: '9',
      SLOTGATE_LOG_LEVEL: 'debug',
    });
    expect(settings.port).toBe(7600);
    expect(settings.maxRedirects).toBe(0);
    expect(settings.logLevel).toBe('debug');
  });

  it('accepts every setting from the environment under its SLOTGATE_ name', () => {
    const env: NodeJS.ProcessEnv = {
      SLOTGATE_BIND: '0.0.0.0',
      SLOTGATE_PORT: '1',
      SLOTGATE_SEEDS: '[::1]:7000',
      SLOTGATE_CONNECTIONS_PER_NODE: '3',
      SLOTGATE_MAX_REDIRECTS: '4',
      SLOTGATE_PROTO_MAX_BULK_LEN: '1024',
      SLOTGATE_MAX_MULTIBULK_LENGTH: '64',
      SLOTGATE_MAX_PENDING_PER_CLIENT: '128',
      SLOTGATE_CONNECT_TIMEOUT_MS: '500',
      SLOTGATE_REPLY_TIMEOUT_MS: '0',
      SLOTGATE_MAX_CLIENT_OUTPUT_BYTES: '4096',
      SLOTGATE_MAX_CLIENTS: '10',
      SLOTGATE_TIMEOUT: '60',
      SLOTGATE_TCP_KEEPALIVE: '0',
      SLOTGATE_READ_FROM: 'prefer-replica',
      SLOTGATE_WORKERS: '3',
      SLOTGATE_RETRY_BUDGET_MS: '2500',
      SLOTGATE_TOPOLOGY_REFRESH_INTERVAL: '0',
      SLOTGATE_LOG_LEVEL: 'TRACE',
      SLOTGATE_METRICS_PORT: '9121',
      SLOTGATE_METRICS_BIND: '0.0.0.0',
      SLOTGATE_PASSWORD: 'client-pw',
      SLOTGATE_BACKEND_USERNAME: 'slotgate',
      SLOTGATE_BACKEND_PASSWORD: 'node-pw',
      // TLS stays off here (tls-files.test.ts covers it on), so the paths are not read.
      SLOTGATE_TLS_PORT: '0',
      SLOTGATE_TLS_CERT_FILE: '/etc/slotgate/cert.pem',
      SLOTGATE_TLS_KEY_FILE: '/etc/slotgate/key.pem',
      SLOTGATE_TLS_CA_CERT_FILE: '/etc/slotgate/ca.pem',
      SLOTGATE_TLS_AUTH_CLIENTS: 'yes',
      SLOTGATE_BACKEND_TLS: 'no',
      SLOTGATE_BACKEND_TLS_CA_CERT_FILE: '/etc/slotgate/redis-ca.pem',
      SLOTGATE_BACKEND_TLS_CERT_FILE: '/etc/slotgate/redis-client.pem',
      SLOTGATE_BACKEND_TLS_KEY_FILE: '/etc/slotgate/redis-client.key',
      SLOTGATE_BACKEND_TLS_SERVER_NAME: 'redis.internal',
      SLOTGATE_UNIX_SOCKET: '/run/slotgate/slotgate.sock',
      SLOTGATE_UNIX_SOCKET_PERM: '0770',
    };
    expect(Object.keys(env).sort()).toEqual(flagSettingSpecs.map((spec) => spec.env).sort());
    expect(loadSettings([], env)).toEqual({
      bind: '0.0.0.0',
      port: 1,
      seeds: ['[::1]:7000'],
      connectionsPerNode: 3,
      maxRedirects: 4,
      protoMaxBulkLen: 1024,
      maxMultibulkLength: 64,
      maxPendingPerClient: 128,
      connectTimeoutMs: 500,
      replyTimeoutMs: 0,
      maxClientOutputBytes: 4096,
      maxClients: 10,
      timeout: 60,
      tcpKeepalive: 0,
      readFrom: 'prefer-replica',
      workers: 3,
      retryBudgetMs: 2500,
      topologyRefreshIntervalSeconds: 0,
      logLevel: 'trace',
      metricsPort: 9121,
      metricsBind: '0.0.0.0',
      password: 'client-pw',
      backendUsername: 'slotgate',
      backendPassword: 'node-pw',
      tlsPort: 0,
      tlsCertFile: '/etc/slotgate/cert.pem',
      tlsKeyFile: '/etc/slotgate/key.pem',
      tlsCaCertFile: '/etc/slotgate/ca.pem',
      tlsAuthClients: true,
      backendTls: false,
      backendTlsCaCertFile: '/etc/slotgate/redis-ca.pem',
      backendTlsCertFile: '/etc/slotgate/redis-client.pem',
      backendTlsKeyFile: '/etc/slotgate/redis-client.key',
      backendTlsServerName: 'redis.internal',
      unixSocket: '/run/slotgate/slotgate.sock',
      unixSocketPerm: '0770',
      users: [],
    });
  });

  it('treats an empty file or a file of comments as no settings', () => {
    expect(loadSettings(['--config', yamlFile('')], {})).toEqual(defaultSettings);
    expect(loadSettings(['--config', yamlFile('# nothing yet\n')], {})).toEqual(defaultSettings);
  });

  it('loads the shipped example, which sets every setting', () => {
    const example = new URL('../../../config/slotgate.yaml', import.meta.url).pathname;
    const settings = loadSettings(['--config', example], {});
    expect(settings.seeds).toEqual(['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7002']);
    expect({ ...settings, seeds: defaultSettings.seeds }).toEqual(defaultSettings);
  });
});

describe('loadSettings validation', () => {
  it('names the flag for a bad flag value', () => {
    expect(errorFrom(['--port', 'abc'])).toBe('--port must be a whole number from 0 to 65535, got "abc"');
    expect(errorFrom(['--port', '65536'])).toMatch(/^--port must be a whole number from 0 to 65535, got 65536$/);
    expect(errorFrom(['--connections-per-node', '0'])).toMatch(/^--connections-per-node must be a whole number of at least 1/);
    expect(errorFrom(['--connect-timeout-ms', '1.5'])).toMatch(/^--connect-timeout-ms must be/);
    expect(errorFrom(['--log-level', 'loud'])).toBe(
      '--log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    );
  });

  it('names the variable for a bad environment value', () => {
    expect(errorFrom([], { SLOTGATE_MAX_PENDING_PER_CLIENT: '-1' })).toMatch(/^SLOTGATE_MAX_PENDING_PER_CLIENT must be/);
    expect(errorFrom([], { SLOTGATE_TOPOLOGY_REFRESH_INTERVAL: 'soon' })).toMatch(
      /^SLOTGATE_TOPOLOGY_REFRESH_INTERVAL must be a number of seconds/,
    );
  });

  it('explains a Kubernetes service-link value, naming the Service it comes from', () => {
    expect(errorFrom([], { SLOTGATE_PORT: 'tcp://10.0.0.1:7380' })).toMatch(/Kubernetes sets for a Service named "slotgate".*enableServiceLinks/);
    expect(errorFrom([], { SLOTGATE_METRICS_PORT: 'tcp://10.0.0.1:9121' })).toMatch(/Service named "slotgate-metrics"/);
  });

  it('refuses a TLS port that is the plain port too', () => {
    expect(errorFrom(['--port', '7380', '--tls-port', '7380'])).toBe('tlsPort and port are both 7380: the TLS listener needs a port of its own');
  });

  it('takes Unix socket permission bits as octal text, and only with a socket', () => {
    expect(loadSettings(['--config', yamlFile('unixSocket: /tmp/s.sock\nunixSocketPerm: "770"\n')], {}).unixSocketPerm).toBe('770');
    expect(errorFrom(['--unix-socket', '/tmp/s.sock', '--unix-socket-perm', '778'])).toBe('--unix-socket-perm must be octal permission bits as text, such as "770" (quoted in YAML), got "778"');
    // YAML reads 0o770 as 504: a number is refused rather than taken for other bits.
    expect(errorFrom(['--config', yamlFile('unixSocket: /tmp/s.sock\nunixSocketPerm: 0o770\n')])).toMatch(/unixSocketPerm must be octal permission bits as text.*got 504$/);
    expect(errorFrom(['--unix-socket-perm', '700'])).toBe('unixSocketPerm is set but unixSocket is not: give the path to listen on');
  });

  it('refuses timer lengths Node would silently shorten to 1 ms', () => {
    expect(errorFrom(['--topology-refresh-interval', '3000000'])).toMatch(/from 0 to 2147483\b/);
    expect(errorFrom(['--connect-timeout-ms', '2147483648'])).toMatch(/from 1 to 2147483647\b/);
  });

  it('checks seeds are a non-empty list of host:port', () => {
    expect(errorFrom(['--seeds', ''])).toMatch(/^--seeds must be a non-empty list of host:port/);
    expect(errorFrom(['--seeds', 'redis'])).toMatch(/^--seeds: "redis" is not a seed; each seed is host:port/);
    expect(errorFrom(['--seeds', 'a:1,b:0'])).toMatch(/"b:0" is not a seed/);
    expect(errorFrom(['--seeds', '::1:7000'])).toMatch(/"::1:7000" is not a seed.*\[::1\]:7000/);
    expect(errorFrom(['--config', yamlFile('seeds: []\n')])).toMatch(/seeds must be a non-empty list/);
    expect(errorFrom(['--config', yamlFile('seeds:\n  - a:1\n  - 7000\n')])).toMatch(/:1: seeds: 7000 is not a seed/);
  });

  it('gives file and line for a bad YAML value, and says when quotes made a number text', () => {
    const file = yamlFile('bind: 0.0.0.0\n\nport: "7380"\n');
    expect(errorFrom(['--config', file])).toBe(
      `${file}:3: port must be a whole number from 0 to 65535, got "7380" (a string)`,
    );
    expect(errorFrom(['--config', yamlFile('maxRedirects: -1\n')])).toMatch(/:1: maxRedirects must be a whole number of at least 0, got -1$/);
    expect(errorFrom(['--config', yamlFile('bind: [a, b]\n')])).toMatch(/:1: bind must be a host name or IP address, got a list$/);
    expect(errorFrom(['--config', yamlFile('logLevel: 3\n')])).toMatch(/:1: logLevel must be one of .*, got 3$/);
  });

  it('refuses a key with no value rather than guessing', () => {
    expect(errorFrom(['--config', yamlFile('port:\n')])).toMatch(/:1: port has no value/);
  });

  it('rejects an unknown key, naming it and the file, and suggests the right one', () => {
    const file = yamlFile('port: 7380\nconectionsPerNode: 3\n');
    const message = errorFrom(['--config', file]);
    expect(message).toContain(`${file}:2: unknown setting "conectionsPerNode"`);
    expect(message).toContain('did you mean connectionsPerNode?');
    expect(errorFrom(['--config', yamlFile('connections-per-node: 3\n')])).toContain('did you mean connectionsPerNode?');
    expect(errorFrom(['--config', yamlFile('topologyRefreshInterval: 3\n')])).toContain(
      'did you mean topologyRefreshIntervalSeconds?',
    );
    expect(errorFrom(['--config', yamlFile('somethingElse: 3\n')])).not.toContain('did you mean');
  });

  it('reports unreadable files, invalid YAML and a top level that is not a mapping', () => {
    const missing = join(dir, 'missing.yaml');
    expect(errorFrom(['--config', missing])).toBe(`cannot read config file ${missing}: no such file`);
    expect(errorFrom(['--config', dir])).toMatch(/^cannot read config file /);
    expect(errorFrom(['--config', yamlFile('port: 1\nport: 2\n')])).toMatch(/is not valid YAML: Map keys must be unique at line 2/);
    expect(errorFrom(['--config', yamlFile('seeds: [a:1\n')])).toMatch(/is not valid YAML/);
    expect(errorFrom(['--config', yamlFile('- port\n')])).toMatch(/must be a mapping of setting names to values/);
  });

  it('does not quote the broken line of invalid YAML, which may hold a password', () => {
    const message = errorFrom(['--config', yamlFile('password: "hunter2\n')]);
    expect(message).toMatch(/is not valid YAML: Missing closing "quote at line \d+, column \d+$/);
    expect(message).not.toContain('hunter2');
  });

  it('rejects unknown flags by name', () => {
    expect(errorFrom(['--prot', '1'])).toBe('unknown flag --prot (did you mean --port?); run slotgate --help for the list');
  });
});

describe('passwords', () => {
  it('are empty by default: no client password, nothing sent to the nodes', () => {
    const settings = loadSettings([], {});
    expect([settings.password, settings.backendUsername, settings.backendPassword]).toEqual(['', '', '']);
  });

  it('come from SLOTGATE_PASSWORD and SLOTGATE_BACKEND_PASSWORD, a file or a flag, exactly as given', () => {
    const fromEnv = loadSettings([], { SLOTGATE_PASSWORD: 'p#ss w:rd', SLOTGATE_BACKEND_PASSWORD: 'node-pw', SLOTGATE_BACKEND_USERNAME: 'slotgate' });
    expect([fromEnv.password, fromEnv.backendUsername, fromEnv.backendPassword]).toEqual(['p#ss w:rd', 'slotgate', 'node-pw']);
    expect(loadSettings(['--config', yamlFile('password: "from-file"\n')], {}).password).toBe('from-file');
    expect(loadSettings(['--password', 'from-flag'], { SLOTGATE_PASSWORD: 'env' }).password).toBe('from-flag');
  });

  it('refuse blanks at either end, and never repeat the value in the error', () => {
    const message = errorFrom([], { SLOTGATE_PASSWORD: 'hunter2 ' });
    expect(message).toBe('SLOTGATE_PASSWORD starts or ends with a blank (space, tab or newline); remove it');
    expect(errorFrom(['--config', yamlFile('backendPassword: 123456\n')])).toMatch(/backendPassword must be text \(in YAML, put it in quotes\), got a number$/);
    expect(errorFrom(['--config', yamlFile('backendPassword: 123456\n')])).not.toContain('123456');
  });

  it('refuse a password of blanks in the environment instead of running without one', () => {
    expect(errorFrom([], { SLOTGATE_PASSWORD: '   ' })).toBe('SLOTGATE_PASSWORD holds only blanks: unset it, or give the password itself');
    expect(errorFrom([], { SLOTGATE_BACKEND_PASSWORD: '\n' })).toMatch(/^SLOTGATE_BACKEND_PASSWORD holds only blanks/);
    expect(loadSettings([], { SLOTGATE_PASSWORD: '' }).password).toBe('');
  });

  it('refuse a backend user without a password', () => {
    expect(errorFrom(['--backend-username', 'app'])).toMatch(/backendUsername is set but backendPassword is not/);
  });
});
