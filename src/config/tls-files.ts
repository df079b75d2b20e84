import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { ConfigError } from './config-error.ts';
import type { Settings } from './settings.ts';
import { settingSpecs } from './setting-specs.ts';

/** The TLS material slotgate runs with, read from the files the settings name. */
export interface TlsSetup {
  /** Options for tls.createServer() on settings.tlsPort; null when there is no TLS port. */
  server: TlsOptions | null;
  /** Options for tls.connect() to every node; null when nodes are reached in plain text. */
  backend: ConnectionOptions | null;
}

/**
 * Reads and checks the TLS files of the features turned on (a file named for a feature that is off
 * is not read, so TLS can be switched off with one flag). Throws ConfigError naming the setting: a
 * missing or unreadable file, a certificate without its key, a key that is not the certificate's.
 * Called by loadSettings, so a bad file stops start-up with exit status 2, and by startProxy.
 */
export function loadTlsFiles(settings: Settings): TlsSetup {
  return { server: serverOptions(settings), backend: backendOptions(settings) };
}

function serverOptions(settings: Settings): TlsOptions | null {
  if (settings.tlsPort === 0) return null;
  if (settings.tlsCertFile === '' || settings.tlsKeyFile === '') {
    throw new ConfigError(`${named('tlsPort')} needs ${named('tlsCertFile')} and ${named('tlsKeyFile')}: the certificate the TLS port presents and its key`);
  }
  if (settings.tlsAuthClients && settings.tlsCaCertFile === '') {
    throw new ConfigError(`${named('tlsAuthClients')} needs ${named('tlsCaCertFile')}: the CA that client certificates must chain to`);
  }
  const options: TlsOptions = {
    cert: readPem('tlsCertFile', settings.tlsCertFile),
    key: readPem('tlsKeyFile', settings.tlsKeyFile),
    ca: settings.tlsCaCertFile === '' ? undefined : readPem('tlsCaCertFile', settings.tlsCaCertFile),
    requestCert: settings.tlsAuthClients,
    rejectUnauthorized: settings.tlsAuthClients,
  };
  checkContext(options, settings, ['tlsCertFile', 'tlsKeyFile', 'tlsCaCertFile']);
  return options;
}

function backendOptions(settings: Settings): ConnectionOptions | null {
  if (!settings.backendTls) return null;
  if ((settings.backendTlsCertFile === '') !== (settings.backendTlsKeyFile === '')) {
    throw new ConfigError(`${named('backendTlsCertFile')} and ${named('backendTlsKeyFile')} go together: give both or neither`);
  }
  const options: ConnectionOptions = {};
  if (settings.backendTlsCaCertFile !== '') options.ca = readPem('backendTlsCaCertFile', settings.backendTlsCaCertFile);
  if (settings.backendTlsCertFile !== '') {
    options.cert = readPem('backendTlsCertFile', settings.backendTlsCertFile);
    options.key = readPem('backendTlsKeyFile', settings.backendTlsKeyFile);
  }
  // Without it Node checks the certificate against the host it connects to: the node's address as
  // CLUSTER SLOTS gives it (an IP address matches an IP SAN).
  if (settings.backendTlsServerName !== '') options.servername = settings.backendTlsServerName;
  checkContext(options, settings, ['backendTlsCaCertFile', 'backendTlsCertFile', 'backendTlsKeyFile']);
  return options;
}

/** "tlsPort (--tls-port)": the YAML key and the flag, since either may be how it was given. */
function named(key: keyof Settings): string {
  return `${key} (--${settingSpecs.find((spec) => spec.key === key)?.flag})`;
}

function readPem(key: keyof Settings, path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ConfigError(`${named(key)}: cannot read ${path}: ${reason}`);
  }
  if (!pem.includes('-----BEGIN ')) throw new ConfigError(`${named(key)}: ${path} is not a PEM file (no "-----BEGIN" line)`);
  return pem;
}

/** Builds the context once now, so a bad PEM or a key that isn't the certificate's fails start-up, not the first connection. */
function checkContext(options: TlsOptions | ConnectionOptions, settings: Settings, keys: (keyof Settings)[]): void {
  try {
    createSecureContext(options);
  } catch (err) {
    const given = keys.filter((key) => settings[key] !== '');
    throw new ConfigError(`${given.map(named).join(', ')}: ${(err as Error).message}`);
  }
}
