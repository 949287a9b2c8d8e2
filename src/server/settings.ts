import { readFileSync } from 'node:fs';

/**
 * Server settings, from (highest first) command-line flags, environment variables, a JSON config
 * file, and defaults. Each setting has one name in each source: `--data-dir`, `TRENT_DATA_DIR`,
 * `"dataDir"`.
 */
export interface ServerSettings {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite:PATH`; empty means `sqlite:<dataDir>/trent.db`. */
  store: string;
  /** The default account's id; only meaningful on a store's first start. */
  accountId: string | undefined;
  dev: boolean;
  logLevel: string;
  /** Real-time interval between runs of the deletion scheduler. */
  schedulerIntervalMs: number;
  /** Customer managed keys per account and region (AWS: 100,000). */
  keyQuota: number;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** SigV4 clock-skew window. */
  signatureWindowMs: number;
}

export const DEFAULT_PORT = 4599;

export const DEFAULTS: ServerSettings = {
  host: '127.0.0.1',
  port: DEFAULT_PORT,
  dataDir: '.trent',
  store: '',
  accountId: undefined,
  dev: false,
  logLevel: 'info',
  schedulerIntervalMs: 60_000,
  keyQuota: 100_000,
  bodyLimit: 1024 * 1024,
  signatureWindowMs: 15 * 60_000,
};

type Raw = Partial<Record<keyof ServerSettings, unknown>>;

const ENV: Record<keyof ServerSettings, string> = {
  host: 'TRENT_HOST',
  port: 'TRENT_PORT',
  dataDir: 'TRENT_DATA_DIR',
  store: 'TRENT_STORE',
  accountId: 'TRENT_ACCOUNT_ID',
  dev: 'TRENT_DEV',
  logLevel: 'TRENT_LOG_LEVEL',
  schedulerIntervalMs: 'TRENT_SCHEDULER_INTERVAL_MS',
  keyQuota: 'TRENT_KEY_QUOTA',
  bodyLimit: 'TRENT_BODY_LIMIT',
  signatureWindowMs: 'TRENT_SIGNATURE_WINDOW_MS',
};

export class SettingsError extends Error {}

export function resolveSettings(flags: Raw, env: NodeJS.ProcessEnv, configFile?: string): ServerSettings {
  const file: Raw = configFile === undefined ? {} : readConfigFile(configFile);
  const pick = (name: keyof ServerSettings): unknown => flags[name] ?? env[ENV[name]] ?? file[name];
  const settings: ServerSettings = {
    host: text(pick('host'), DEFAULTS.host),
    port: integer('port', pick('port'), DEFAULTS.port, 0, 65535),
    dataDir: text(pick('dataDir'), DEFAULTS.dataDir),
    store: text(pick('store'), DEFAULTS.store),
    accountId: optionalText(pick('accountId')),
    dev: bool('dev', pick('dev'), DEFAULTS.dev),
    logLevel: text(pick('logLevel'), DEFAULTS.logLevel),
    schedulerIntervalMs: integer(
      'schedulerIntervalMs',
      pick('schedulerIntervalMs'),
      DEFAULTS.schedulerIntervalMs,
      10,
      86_400_000,
    ),
    keyQuota: integer('keyQuota', pick('keyQuota'), DEFAULTS.keyQuota, 1, 100_000_000),
    bodyLimit: integer('bodyLimit', pick('bodyLimit'), DEFAULTS.bodyLimit, 1024, 64 * 1024 * 1024),
    signatureWindowMs: integer(
      'signatureWindowMs',
      pick('signatureWindowMs'),
      DEFAULTS.signatureWindowMs,
      1000,
      86_400_000,
    ),
  };
  if (settings.accountId !== undefined && !/^\d{12}$/.test(settings.accountId)) {
    throw new SettingsError(`The account id must be 12 digits, not '${settings.accountId}'.`);
  }
  return settings;
}

function readConfigFile(path: string): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SettingsError(`Cannot read the config file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SettingsError(`The config file ${path} must hold a JSON object.`);
  }
  const unknown = Object.keys(parsed).filter((k) => !Object.hasOwn(ENV, k));
  if (unknown.length > 0) throw new SettingsError(`Unknown settings in ${path}: ${unknown.join(', ')}`);
  return parsed as Raw;
}

function text(value: unknown, fallback: string): string {
  return value === undefined ? fallback : String(value);
}

function optionalText(value: unknown): string | undefined {
  return value === undefined || value === '' ? undefined : String(value);
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError(`The setting ${name} must be an integer from ${min} to ${max}, not '${String(value)}'.`);
  }
  return n;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new SettingsError(`The setting ${name} must be true or false, not '${String(value)}'.`);
}
