import { resolve } from 'node:path';
import type { AuditLog } from './audit-log.js';
import { isPostgresSpec } from './postgres/connection.js';
import { PostgresAuditLog } from './postgres/postgres-audit-log.js';
import { SqliteAuditLog } from './sqlite/sqlite-audit-log.js';
import type { SqliteConnections } from './sqlite/wal-database.js';

const SQLITE_SCHEME = 'sqlite:';

/**
 * Opens the audit log beside the store named by `--store` (same resolution as openStore): for
 * `sqlite:PATH` or the default store, the same SQLite file (given `connections`, on the store's
 * connection); for `postgres://…`, the same database (its own pool), so every node appends to one
 * chain. Any other store kind keeps its audit log in the SQLite file `<dataDir>/audit.db`.
 */
export async function openAuditLog(
  spec: string | undefined,
  dataDir: string,
  connections?: SqliteConnections,
): Promise<AuditLog> {
  if (!spec) return SqliteAuditLog.open(resolve(dataDir, 'trent.db'), { connections });
  if (spec.startsWith(SQLITE_SCHEME) && spec.length > SQLITE_SCHEME.length) {
    return SqliteAuditLog.open(resolve(spec.slice(SQLITE_SCHEME.length)), { connections });
  }
  if (isPostgresSpec(spec)) return PostgresAuditLog.open(spec);
  return SqliteAuditLog.open(resolve(dataDir, 'audit.db'), { connections });
}
