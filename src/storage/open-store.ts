import { resolve } from 'node:path';
import { isPostgresSpec } from './postgres/connection.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { SqliteConnections } from './sqlite/wal-database.js';
import type { Store } from './store.js';

const SQLITE_SCHEME = 'sqlite:';

/**
 * Opens the store named by `--store`: `sqlite:PATH` (a relative PATH resolves against the working
 * directory), `postgres://…` or `postgresql://…` (a PostgreSQL URL; what it leaves out comes from
 * the PG* environment variables, see postgres/connection.ts), or, when no store is named,
 * `sqlite:<dataDir>/trent.db`. The data directory must already exist; this never creates
 * directories.
 */
export interface OpenStoreOptions {
  /** Told of errors the store recovers from by itself (a pooled PostgreSQL connection lost). */
  onBackgroundError?: (err: Error) => void;
  /** A server's SQLite connections, shared with its audit log and access store. */
  connections?: SqliteConnections;
}

export async function openStore(
  spec: string | undefined,
  dataDir: string,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const { connections } = options;
  if (!spec) return SqliteStore.open(resolve(dataDir, 'trent.db'), { connections });
  if (spec.startsWith(SQLITE_SCHEME)) {
    const path = spec.slice(SQLITE_SCHEME.length);
    if (path === '') throw new Error(`Store '${spec}' names no file: use sqlite:PATH`);
    return SqliteStore.open(resolve(path), { connections });
  }
  if (isPostgresSpec(spec)) return PostgresStore.open(spec, options);
  throw new Error(`Unsupported store '${describeStore(spec, dataDir)}': use sqlite:PATH or postgres://…`);
}

/** The store spec for logs and messages: the default made explicit, any password masked. */
export function describeStore(spec: string | undefined, dataDir: string): string {
  if (!spec) return `${SQLITE_SCHEME}${resolve(dataDir, 'trent.db')}`;
  return spec.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}
