import pg from 'pg';

/**
 * What `--store postgres://…` means: the URL goes to pg as its connection string, so everything pg
 * and libpq accept there works (user, password, host, port, database, `sslmode`, `options`,
 * `application_name`, `statement_timeout`, `query_timeout` in ms). Whatever the URL leaves out
 * comes from the standard PG* environment variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
 * PGDATABASE), which pg reads itself — so bare `postgres://` means "all from the environment".
 *
 * Trent's own pool settings ride in the same query string:
 * - `max`: connections in the pool (default 10);
 * - `connect_timeout`: seconds to wait for a connection, libpq's name (default 5, or PGCONNECT_TIMEOUT);
 * - `idle_timeout`: seconds an idle connection stays open (default 30).
 * Unless the URL sets `query_timeout`, a statement that gets no answer in 30 s fails, so a
 * database that vanishes without closing its sockets fails requests instead of hanging them.
 */
export const POSTGRES_SCHEMES = ['postgres://', 'postgresql://'] as const;

export function isPostgresSpec(spec: string): boolean {
  return POSTGRES_SCHEMES.some((scheme) => spec.startsWith(scheme));
}

export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
}

export interface PostgresConnection {
  pool: pg.PoolConfig;
  /** Where the pool connects, as pg resolves it (URL, then PG* variables, then pg's defaults). */
  target: PostgresTarget;
}

export class StoreConfigError extends Error {}

const DEFAULT_MAX = 10;
const DEFAULT_CONNECT_TIMEOUT_S = 5;
const DEFAULT_IDLE_TIMEOUT_S = 30;
const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

// BIGINT (int8) columns hold epoch milliseconds and revisions, far inside Number's exact range; pg
// would return them as strings.
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

export function postgresConnection(spec: string): PostgresConnection {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    // The spec may hold a password: never echo it.
    throw new StoreConfigError(`The store URL is not a valid postgres:// URL: ${redact(spec)}`);
  }
  const params = url.searchParams;
  const connectTimeoutS = seconds(
    'connect_timeout',
    params.get('connect_timeout') ?? process.env.PGCONNECT_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT_S,
  );
  const pool: pg.PoolConfig = {
    connectionString: spec,
    max: integer('max', params.get('max'), DEFAULT_MAX, 1, 10_000),
    connectionTimeoutMillis: connectTimeoutS * 1000,
    idleTimeoutMillis: seconds('idle_timeout', params.get('idle_timeout'), DEFAULT_IDLE_TIMEOUT_S) * 1000,
    keepAlive: true,
    types,
    application_name: 'trent',
  };
  if (!params.has('query_timeout')) pool.query_timeout = DEFAULT_QUERY_TIMEOUT_MS;
  // pg resolves the URL and the PG* variables when a client is made; a client never connected
  // tells where it would go.
  const probe = new pg.Client(pool);
  const target: PostgresTarget = {
    host: probe.host,
    port: probe.port,
    database: probe.database ?? '',
    user: probe.user ?? '',
  };
  return { pool, target };
}

/** `host:port, database 'x' as user 'y'`, for messages; never the password. */
export function describeTarget(t: PostgresTarget): string {
  const where = t.host.startsWith('/') ? `socket ${t.host}/.s.PGSQL.${t.port}` : `${t.host}:${t.port}`;
  const database = t.database || t.user;
  return `${where}${database ? `, database '${database}'` : ''}${t.user ? ` as user '${t.user}'` : ''}`;
}

function redact(spec: string): string {
  return spec.replace(
    /\/\/([^@/]*)@/,
    (_, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : auth}@`,
  );
}

function seconds(name: string, value: string | null | undefined, fallback: number): number {
  return integer(name, value, fallback, 1, 86_400);
}

function integer(name: string, value: string | null | undefined, fallback: number, min: number, max: number): number {
  if (value === null || value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new StoreConfigError(`The store URL's ${name} must be an integer from ${min} to ${max}, not '${value}'.`);
  }
  return n;
}
