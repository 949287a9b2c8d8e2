import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseIpBlock } from '../policy/ip-address.js';
import { isPostgresSpec } from '../storage/postgres/connection.js';

/**
 * Server settings, from (highest first) command-line flags, environment variables, a JSON config
 * file, and defaults. Each setting has one name in each source: `--data-dir`, `TRENT_DATA_DIR`,
 * `"dataDir"`.
 */
export interface ServerSettings {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite:PATH` or `postgres://…`; empty means `sqlite:<dataDir>/trent.db`. */
  store: string;
  /** The default account's id; only meaningful on a store's first start. */
  accountId: string | undefined;
  dev: boolean;
  logLevel: string;
  /** Real-time interval between runs of the lifecycle scheduler (deletion, rotation, expiry). */
  schedulerIntervalMs: number;
  /** Customer managed keys per account and region (AWS: 100,000). */
  keyQuota: number;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** SigV4 clock-skew window. */
  signatureWindowMs: number;
  /** `off` only for benchmarks, and only with --dev: secure mode refuses to run unaudited. */
  audit: 'on' | 'off';
  /** Real-time interval between signed audit digests (one is also signed at shutdown). */
  auditDigestIntervalMs: number;
  /**
   * Where a single process commits its audit records to a SQLite log: on its event loop (`loop`),
   * or on a thread of its own (`thread`, WorkerAppender), so that the event loop serves on while
   * the disk syncs (docs/audit.md, "Where records are committed").
   */
  auditCommit: 'loop' | 'thread';
  /** Audit records older than this many days are pruned (at digest boundaries); 0 keeps all. */
  auditRetentionDays: number;
  /** An identities file (docs/identities.md) applied at start; empty: none. */
  identities: string;
  /**
   * Serve `POST /trent/admin/clock` (the administrator moves the lifecycle clock forward). For
   * tests only; never on unless asked for.
   */
  allowTimeTravel: boolean;
  /** A URL POSTed to (JSON) whenever a key pending deletion is used; empty: none. */
  deletionAlertUrl: string;
  /**
   * Server processes sharing the port (node:cluster, docs/multi-process.md); 1: one process, no
   * cluster. Default: `defaultWorkers` (one per core on more than two), but one with
   * --allow-time-travel.
   */
  workers: number;
  /**
   * CIDR blocks of front proxies whose X-Trent-Source-Vpce, X-Trent-Source-Vpc and X-Forwarded-For
   * headers are believed (docs/identities.md, "VPC endpoints"); empty: none.
   */
  trustedProxies: string[];
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
  audit: 'on',
  auditDigestIntervalMs: 60 * 60_000,
  auditCommit: 'loop',
  auditRetentionDays: 0,
  identities: '',
  allowTimeTravel: false,
  deletionAlertUrl: '',
  workers: defaultWorkers(availableParallelism()),
  trustedProxies: [],
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
  audit: 'TRENT_AUDIT',
  auditDigestIntervalMs: 'TRENT_AUDIT_DIGEST_INTERVAL_MS',
  auditCommit: 'TRENT_AUDIT_COMMIT',
  auditRetentionDays: 'TRENT_AUDIT_RETENTION_DAYS',
  identities: 'TRENT_IDENTITIES',
  allowTimeTravel: 'TRENT_ALLOW_TIME_TRAVEL',
  deletionAlertUrl: 'TRENT_DELETION_ALERT_URL',
  workers: 'TRENT_WORKERS',
  trustedProxies: 'TRENT_TRUSTED_PROXIES',
};

export class SettingsError extends Error {}

export const THREAD_NEEDS_SQLITE =
  '--audit-commit thread needs a SQLite audit log: with a PostgreSQL store, records are committed on the event loop.';

export function resolveSettings(flags: Raw, env: NodeJS.ProcessEnv, configFile?: string): ServerSettings {
  const file: Raw = configFile === undefined ? {} : readConfigFile(configFile);
  const pick = (name: keyof ServerSettings): unknown => flags[name] ?? env[ENV[name]] ?? file[name];
  const allowTimeTravel = bool('allowTimeTravel', pick('allowTimeTravel'), DEFAULTS.allowTimeTravel);
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
    audit: oneOf('audit', pick('audit'), ['on', 'off']),
    auditDigestIntervalMs: integer(
      'auditDigestIntervalMs',
      pick('auditDigestIntervalMs'),
      DEFAULTS.auditDigestIntervalMs,
      100,
      86_400_000,
    ),
    auditCommit: oneOf('auditCommit', pick('auditCommit'), ['loop', 'thread']),
    auditRetentionDays: integer(
      'auditRetentionDays',
      pick('auditRetentionDays'),
      DEFAULTS.auditRetentionDays,
      0,
      36_500,
    ),
    identities: text(pick('identities'), DEFAULTS.identities),
    allowTimeTravel,
    deletionAlertUrl: alertUrl(pick('deletionAlertUrl')),
    workers: workersSetting(pick('workers'), allowTimeTravel),
    trustedProxies: cidrList('trustedProxies', pick('trustedProxies')),
  };
  if (settings.audit === 'off' && !settings.dev) {
    throw new SettingsError('--audit off is a benchmarking switch allowed only with --dev: secure mode always audits.');
  }
  if (settings.auditCommit === 'thread' && isPostgresSpec(settings.store)) throw new SettingsError(THREAD_NEEDS_SQLITE);
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

/** One of two words; the first when unset. */
function oneOf<T extends string>(name: string, value: unknown, [first, second]: readonly [T, T]): T {
  if (value === undefined || value === first) return first;
  if (value === second) return second;
  throw new SettingsError(`The setting ${name} must be ${first} or ${second}, not '${String(value)}'.`);
}

function alertUrl(value: unknown): string {
  if (value === undefined || value === '') return '';
  const url = URL.canParse(String(value)) ? new URL(String(value)) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new SettingsError(`The setting deletionAlertUrl must be an http(s) URL, not '${String(value)}'.`);
  }
  return url.href;
}

/** `CIDR[,CIDR…]` (a flag or variable) or a list of CIDRs (the config file). */
function cidrList(name: string, value: unknown): string[] {
  if (value === undefined || value === '') return [];
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  const blocks = items.map((item) => item.trim()).filter((item) => item !== '');
  const bad = blocks.find((block) => parseIpBlock(block) === undefined);
  if (bad !== undefined) throw new SettingsError(`The setting ${name} must list CIDR blocks, not '${bad}'.`);
  return blocks;
}

/**
 * The worker count of a plain start: one per core on more than two cores, else one process.
 * Measured on the 2-core bench VMs (docs/multi-process.md; the load generator shares the cores):
 * with a light load generator (wrk) two workers served 1.0–1.3× one process at concurrency 64 but
 * 0.81–1.0× at 16 and 0.78–1.0× at 1, where each request's wait for the primary's audit commit,
 * two IPC hops further, costs at least what the second core gives; two processes sharing nothing
 * serve only 1.07–1.08× one at 16. `--workers auto` asks for one per core anyway.
 */
export function defaultWorkers(cores: number): number {
  return cores > 2 ? cores : 1;
}

/**
 * `auto` or a count; unset, one per core — except with --allow-time-travel, whose lifecycle clock
 * lives in a process: then one, quietly (asking for more explicitly is warned about and ignored).
 */
function workersSetting(value: unknown, allowTimeTravel: boolean): number {
  if (value === 'auto') return availableParallelism();
  if (value === undefined && allowTimeTravel) return 1;
  return integer('workers', value, DEFAULTS.workers, 1, 256);
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
