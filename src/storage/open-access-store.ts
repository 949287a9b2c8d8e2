import { resolve } from 'node:path';
import type { GrantStore } from './grant-store.js';
import type { IdentityStore } from './identity-store.js';
import { isPostgresSpec } from './postgres/connection.js';
import { PostgresAccessStore } from './postgres/postgres-access-store.js';
import { SqliteAccessStore } from './sqlite/sqlite-access-store.js';
import type { SqliteConnections } from './sqlite/wal-database.js';

/** Identities and grants, in one adapter. */
export type AccessStore = IdentityStore & GrantStore & { close(): Promise<void> };

const SQLITE_SCHEME = 'sqlite:';

/**
 * Opens the identity and grant stores beside the store named by `--store` (same resolution as
 * openStore): for `sqlite:PATH` or the default store, the same SQLite file (given `connections`,
 * on the store's connection); for `postgres://…`, the same database (a pool of its own), shared by
 * every node. Any other store kind keeps identities and grants in `<dataDir>/access.db`.
 */
export async function openAccessStore(
  spec: string | undefined,
  dataDir: string,
  connections?: SqliteConnections,
): Promise<AccessStore> {
  if (!spec) return SqliteAccessStore.open(resolve(dataDir, 'trent.db'), connections);
  if (spec.startsWith(SQLITE_SCHEME) && spec.length > SQLITE_SCHEME.length) {
    return SqliteAccessStore.open(resolve(spec.slice(SQLITE_SCHEME.length)), connections);
  }
  if (isPostgresSpec(spec)) return PostgresAccessStore.open(spec);
  return SqliteAccessStore.open(resolve(dataDir, 'access.db'), connections);
}
