import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { isPostgresSpec, postgresConnection } from './postgres/connection.js';
import { PostgresAccessStore } from './postgres/postgres-access-store.js';
import { PostgresAuditLog } from './postgres/postgres-audit-log.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { auditIndexPath } from './sqlite/audit-index.js';
import { SqliteAccessStore } from './sqlite/sqlite-access-store.js';
import { SqliteAuditLog } from './sqlite/sqlite-audit-log.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/**
 * `trent store copy --from sqlite:PATH --to postgres://…`: moves a single-node deployment to
 * PostgreSQL, table by table, every row as stored — keys and their wrapped backing keys (still
 * wrapped under the same root key, which the new nodes must be given), aliases, accounts, access
 * keys, deployment metadata (the audit signing key among it), identities, grants, sessions, and the
 * audit chain with its digests, hashes untouched, so `trent audit verify` passes on the copy.
 *
 * Both schemas are first brought to the latest migration by opening them as Trent would; the copy
 * then runs in one PostgreSQL transaction, so a failure leaves the target as it was. The target
 * must hold no deployment yet (no keys, no metadata, no audit records).
 */
export interface CopySummary {
  tables: Record<string, number>;
}

// The SQLite index numbers its keys and keeps a key's last use as its newest record that counts as
// one (audit-index.ts); PostgreSQL keeps ARNs, and each key's last use in a row of its own.
const EVENT_KEYS = '(SELECT k.key_arn, e.seq FROM ix.audit_event_keys e JOIN ix.audit_keys k ON k.ref = e.key_ref)';
const KEY_USAGE = `(SELECT k.key_arn,
    CASE WHEN e.seq IS NULL THEN p.operation ELSE e.event_name END AS operation,
    CASE WHEN e.seq IS NULL THEN p.event_time ELSE e.event_time END AS event_time,
    CASE WHEN e.seq IS NULL THEN p.event_id ELSE e.event_id END AS event_id,
    CASE WHEN e.seq IS NULL THEN p.request_id ELSE e.request_id END AS request_id
  FROM ix.audit_keys k
  LEFT JOIN audit_events e ON e.seq =
    (SELECT MAX(u.seq) FROM ix.audit_event_keys u WHERE u.key_ref = k.ref AND u.usage = 1)
  LEFT JOIN ix.audit_key_usage p ON p.key_ref = k.ref
  WHERE e.seq IS NOT NULL OR p.key_ref IS NOT NULL)`;

/** Tables in insertion order; `order` keeps rows in the order the source gave them; `from` is where
 * the source keeps a table outside its main file (`ix`: the audit index file, attached). */
const TABLES: ReadonlyArray<{
  name: string;
  order: string;
  replace?: boolean;
  skip?: readonly string[];
  from?: string;
}> = [
  { name: 'meta', order: 'name' },
  { name: 'accounts', order: 'account_id' },
  { name: 'access_keys', order: 'access_key_id' },
  { name: 'keys', order: 'arn' },
  // rowid: versions made in the same millisecond keep their order (PostgreSQL numbers them anew).
  { name: 'backing_keys', order: 'rowid', skip: ['seq'] },
  { name: 'aliases', order: 'account_id, region, alias_name' },
  { name: 'iam_users', order: 'account_id, user_name' },
  { name: 'iam_user_policies', order: 'account_id, user_name, policy_name' },
  { name: 'iam_roles', order: 'account_id, role_name' },
  { name: 'iam_role_policies', order: 'account_id, role_name, policy_name' },
  { name: 'service_control_policies', order: 'account_id, policy_name' },
  { name: 'sts_sessions', order: 'access_key_id' },
  { name: 'identity_version', order: 'id', replace: true },
  { name: 'grants', order: 'key_arn, grant_id' },
  { name: 'audit_head', order: 'id', replace: true },
  { name: 'audit_events', order: 'seq' },
  { name: 'audit_event_keys', order: 'seq, key_arn', from: EVENT_KEYS },
  { name: 'audit_key_usage', order: 'key_arn', from: KEY_USAGE },
  { name: 'audit_digests', order: 'number' },
];

const BATCH = 200;

export class StoreCopyError extends Error {}

export async function copyStore(from: string, to: string): Promise<CopySummary> {
  if (!from.startsWith('sqlite:') || from.length === 'sqlite:'.length) {
    throw new StoreCopyError(`--from must be sqlite:PATH (got '${from}')`);
  }
  if (!isPostgresSpec(to)) throw new StoreCopyError('--to must be a postgres:// URL');
  const path = resolve(from.slice('sqlite:'.length));
  if (!existsSync(path)) throw new StoreCopyError(`no SQLite store at ${path}`);

  // Bring both sides to the latest schema, as a server start would.
  await (await SqliteStore.open(path)).close();
  await SqliteAccessStore.open(path).close();
  await SqliteAuditLog.open(path).close();
  await (await PostgresStore.open(to)).close();
  await (await PostgresAccessStore.open(to)).close();
  await (await PostgresAuditLog.open(to)).close();

  const source = new Database(path, { readonly: true, fileMustExist: true });
  source.prepare('ATTACH DATABASE ? AS ix').run(auditIndexPath(path));
  const target = new pg.Client(postgresConnection(to).pool);
  await target.connect();
  try {
    await target.query('BEGIN');
    const occupied = await target.query<{ n: number }>(
      `SELECT (SELECT COUNT(*) FROM keys) + (SELECT COUNT(*) FROM meta) + (SELECT COUNT(*) FROM audit_events)
         + (SELECT COUNT(*) FROM access_keys) AS n`,
    );
    if ((occupied.rows[0]?.n ?? 0) > 0) {
      throw new StoreCopyError('the target store already holds a deployment (keys, metadata or audit records)');
    }
    const summary: CopySummary = { tables: {} };
    // One consistent view of the source for the whole copy.
    source.prepare('BEGIN').run();
    for (const table of TABLES) {
      const types = await columnTypes(target, table.name);
      const columns = [...types.keys()].filter((c) => !(table.skip ?? []).includes(c));
      if (table.replace) await target.query(`DELETE FROM ${table.name}`);
      const rows = source
        .prepare<[], Record<string, unknown>>(
          `SELECT ${columns.join(', ')} FROM ${table.from ?? table.name} ORDER BY ${table.order}`,
        )
        .all();
      for (let i = 0; i < rows.length; i += BATCH) {
        const chunk = rows.slice(i, i + BATCH);
        const params: unknown[] = [];
        const tuples = chunk.map((row) => {
          const base = params.length;
          for (const c of columns) params.push(convert(row[c], types.get(c)));
          return `(${columns.map((_, j) => `$${base + j + 1}`).join(', ')})`;
        });
        await target.query(`INSERT INTO ${table.name} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
      }
      summary.tables[table.name] = rows.length;
    }
    source.prepare('COMMIT').run();
    await target.query('COMMIT');
    return summary;
  } catch (err) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    source.close();
    await target.end().catch(() => undefined);
  }
}

async function columnTypes(client: pg.Client, table: string): Promise<Map<string, string>> {
  const result = await client.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  if (result.rows.length === 0) throw new StoreCopyError(`the target has no table ${table}`);
  return new Map(result.rows.map((r) => [r.column_name, r.data_type]));
}

/** SQLite's 0/1 integers become booleans; everything else (text, integers, blobs) goes as is. */
function convert(value: unknown, type: string | undefined): unknown {
  if (type === 'boolean' && (typeof value === 'number' || typeof value === 'bigint')) return Number(value) !== 0;
  return value;
}
