import type pg from 'pg';
import { KMSInternalException } from '../../errors.js';
import type {
  AccessKeyRecord,
  AccountRecord,
  AliasRecord,
  BackingKeyRecord,
  KeyRecord,
  PageRequest,
  ScannedKey,
} from '../records.js';
import {
  type AccessKeyRow,
  type AccountRow,
  type AliasRow,
  type BackingKeyRow,
  type KeyOwnerRow,
  type KeyRow,
  keyColumns,
  parseAccessKey,
  parseAlias,
  parseBackingKey,
  parseKey,
  parseScannedKeys,
  type ScannedKeyRow,
} from '../rows.js';
import type { BackingKeyChanges, Store, StoreChange } from '../store.js';
import { ChangeListener } from './change-listener.js';
import type { PostgresTarget } from './connection.js';
import { toStoreError } from './pg-errors.js';
import { inTransaction, openMigratedPool, withClient } from './pool-client.js';

// Sorts before every real id or name (COLLATE "C"), so "no cursor" needs no second statement.
const FIRST = '';

const KEY_COLS = 'key_id, account_id, region, key_state, deletion_date, revision, doc';
const ALIAS_COLS = 'account_id, region, alias_name, target_key_id, creation_date, last_updated_date';
const ACCESS_KEY_COLS = 'access_key_id, account_id, principal_arn, secret_wrapped, created_at, description';

const SQL = {
  getKey: 'SELECT doc FROM keys WHERE arn = $1',
  listKeys: `SELECT doc FROM keys WHERE account_id = $1 AND region = $2 AND key_id > $3
             ORDER BY key_id LIMIT $4`,
  countKeys: 'SELECT COALESCE(SUM(n), 0)::int AS n FROM key_counts WHERE account_id = $1 AND region = $2',
  updateKey: `UPDATE keys SET key_id = $1, account_id = $2, region = $3, key_state = $4, deletion_date = $5,
                revision = $6, doc = $7
              WHERE arn = $8 AND revision = $9`,
  lockKey: 'SELECT revision FROM keys WHERE arn = $1 FOR UPDATE',
  deleteBackingKeys: 'DELETE FROM backing_keys WHERE key_arn = $1',
  deleteKey: 'DELETE FROM keys WHERE arn = $1 RETURNING key_id, account_id, region',
  deleteAliasesOfKey: 'DELETE FROM aliases WHERE account_id = $1 AND region = $2 AND target_key_id = $3',
  listKeysDue: `SELECT doc FROM keys WHERE key_state = 'PendingDeletion' AND deletion_date <= $1
                ORDER BY deletion_date, arn LIMIT $2`,
  // Scheduler queries look inside doc (json, not jsonb: see the migration), through the partial
  // expression indexes of migration 7 (the expressions must stay exactly as the indexes have them).
  // Most overdue first: ordered by the indexed date, the planner reads the index (0.7 ms at 100,000
  // keys) instead of walking the primary key past every key without the date (225 ms).
  listKeysDueForRotation: `SELECT doc FROM keys
                           WHERE key_state = 'Enabled' AND (doc::json->>'nextRotationDate')::bigint <= $1
                           ORDER BY (doc::json->>'nextRotationDate')::bigint, arn LIMIT $2`,
  listKeysWithExpiredMaterial: `SELECT doc FROM keys WHERE (doc::json->>'materialExpiry')::bigint <= $1
                                ORDER BY (doc::json->>'materialExpiry')::bigint, arn LIMIT $2`,
  deleteBackingKey: 'DELETE FROM backing_keys WHERE key_arn = $1 AND material_id = $2',
  scanKeys: `SELECT k.arn, k.doc, b.key_arn, b.material_id, b.wrapped, b.created_at
             FROM (SELECT arn, doc FROM keys WHERE arn > $1 ORDER BY arn LIMIT $2) AS k
             LEFT JOIN backing_keys AS b ON b.key_arn = k.arn
             ORDER BY k.arn, b.created_at, b.seq`,
  getBackingKeys: `SELECT key_arn, material_id, wrapped, created_at FROM backing_keys WHERE key_arn = $1
                   ORDER BY created_at, seq`,
  insertBackingKey: 'INSERT INTO backing_keys (key_arn, material_id, wrapped, created_at) VALUES ($1, $2, $3, $4)',
  // The key's versions of material as arrays: one statement text for any number of them.
  insertKeyWithBackingKeys: `WITH key AS (INSERT INTO keys (arn, ${KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8))
    INSERT INTO backing_keys (key_arn, material_id, wrapped, created_at)
    SELECT $1, * FROM unnest($9::text[], $10::bytea[], $11::bigint[])`,
  getAlias: `SELECT ${ALIAS_COLS} FROM aliases WHERE account_id = $1 AND region = $2 AND alias_name = $3`,
  listAliases: `SELECT ${ALIAS_COLS} FROM aliases WHERE account_id = $1 AND region = $2 AND alias_name > $3
                ORDER BY alias_name LIMIT $4`,
  listAliasesOfKey: `SELECT ${ALIAS_COLS} FROM aliases
                     WHERE account_id = $1 AND region = $2 AND target_key_id = $3 AND alias_name > $4
                     ORDER BY alias_name LIMIT $5`,
  countAliasesOfKey:
    'SELECT COUNT(*)::int AS n FROM aliases WHERE account_id = $1 AND region = $2 AND target_key_id = $3',
  insertAlias: `INSERT INTO aliases (${ALIAS_COLS}) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (account_id, region, alias_name) DO NOTHING`,
  updateAlias: `UPDATE aliases SET target_key_id = $1, last_updated_date = $2
                WHERE account_id = $3 AND region = $4 AND alias_name = $5`,
  deleteAlias: 'DELETE FROM aliases WHERE account_id = $1 AND region = $2 AND alias_name = $3',
  getAccount: 'SELECT account_id, created_at FROM accounts WHERE account_id = $1',
  putAccount: `INSERT INTO accounts (account_id, created_at) VALUES ($1, $2)
               ON CONFLICT (account_id) DO UPDATE SET created_at = excluded.created_at`,
  getAccessKey: `SELECT ${ACCESS_KEY_COLS} FROM access_keys WHERE access_key_id = $1`,
  listAccessKeys: `SELECT ${ACCESS_KEY_COLS} FROM access_keys ORDER BY access_key_id`,
  listAccessKeysOfAccount: `SELECT ${ACCESS_KEY_COLS} FROM access_keys WHERE account_id = $1 ORDER BY access_key_id`,
  insertAccessKey: `INSERT INTO access_keys (${ACCESS_KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (access_key_id) DO NOTHING`,
  deleteAccessKey: 'DELETE FROM access_keys WHERE access_key_id = $1',
  getMeta: 'SELECT value FROM meta WHERE name = $1',
  insertMetaIfAbsent: 'INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
} as const;

type Client = pg.PoolClient;

export interface PostgresStoreOptions {
  /** Told of errors on idle pooled connections (the pool drops them and reconnects on demand). */
  onBackgroundError?: (err: Error) => void;
}

/**
 * The multi-node store: PostgreSQL through a pool of pg connections. Each method is one statement
 * (atomic on its own) or one transaction; a resolved promise means committed, and PostgreSQL's
 * default synchronous_commit makes a commit durable before it returns.
 *
 * Failures of the connection become KMS errors the client can retry (see pg-errors.ts). A pooled
 * connection the server closed meanwhile (a restart, a failover, pg_terminate_backend) should cost
 * no request: statements never sent are moved to another connection, and reads whose connection
 * broke are tried again. Writes whose connection broke mid-statement are not: they may have
 * committed.
 */
export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #config: pg.PoolConfig;
  readonly #target: PostgresTarget;
  readonly #options: PostgresStoreOptions;
  readonly #listeners = new Set<ChangeListener>();
  #closed: Promise<void> | undefined;

  private constructor(pool: pg.Pool, config: pg.PoolConfig, target: PostgresTarget, options: PostgresStoreOptions) {
    this.#pool = pool;
    this.#config = config;
    this.#target = target;
    this.#options = options;
  }

  /** Where this store connects (never the password). */
  get target(): PostgresTarget {
    return { ...this.#target };
  }

  /**
   * Connects to the database named by `spec` (a postgres:// URL, completed by the PG* environment
   * variables) and migrates it. A database that cannot be reached fails with a one-line
   * StoreUnavailableError naming host, port and database.
   */
  static async open(spec: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const { pool, config, target } = await openMigratedPool(spec, options.onBackgroundError);
    return new PostgresStore(pool, config, target, options);
  }

  // --- keys ------------------------------------------------------------------------------------

  async getKey(arn: string): Promise<KeyRecord | undefined> {
    const rows = await this.#read<KeyRow>(SQL.getKey, [arn]);
    return rows[0] && parseKey(rows[0]);
  }

  async listKeys(accountId: string, region: string, page: PageRequest): Promise<KeyRecord[]> {
    const rows = await this.#read<KeyRow>(SQL.listKeys, [accountId, region, page.after ?? FIRST, page.limit]);
    return rows.map(parseKey);
  }

  async countKeys(accountId: string, region: string): Promise<number> {
    return count(await this.#read<{ n: number }>(SQL.countKeys, [accountId, region]));
  }

  async insertKey(key: KeyRecord, backingKeys: BackingKeyRecord[]): Promise<void> {
    for (const bk of backingKeys) {
      if (bk.keyArn !== key.arn) {
        throw new Error(`Backing key ${bk.materialId} belongs to ${bk.keyArn}, not ${key.arn}`);
      }
    }
    // One statement, one round trip: the inserts of a data-modifying WITH commit together, and the
    // foreign key is checked at the statement's end.
    await this.#write(SQL.insertKeyWithBackingKeys, [
      key.arn,
      ...keyColumns(key),
      backingKeys.map((bk) => bk.materialId),
      backingKeys.map((bk) => bk.wrapped),
      backingKeys.map((bk) => bk.createdAt),
    ]);
  }

  async updateKey(key: KeyRecord, backingKeys?: BackingKeyChanges): Promise<boolean> {
    if (backingKeys === undefined) {
      const result = await this.#write(SQL.updateKey, [...keyColumns(key), key.arn, key.revision - 1]);
      return result.rowCount === 1;
    }
    for (const bk of backingKeys.insert ?? []) {
      if (bk.keyArn !== key.arn) {
        throw new Error(`Backing key ${bk.materialId} belongs to ${bk.keyArn}, not ${key.arn}`);
      }
    }
    return this.#transaction(async (client) => {
      // The UPDATE locks the row: a rival update waits for us, then finds the revision moved on.
      const result = await client.query(SQL.updateKey, [...keyColumns(key), key.arn, key.revision - 1]);
      if (result.rowCount !== 1) return false;
      for (const materialId of backingKeys.delete ?? []) {
        await client.query(SQL.deleteBackingKey, [key.arn, materialId]);
      }
      for (const bk of backingKeys.insert ?? []) await insertBackingKey(client, bk);
      return true;
    });
  }

  async deleteKey(arn: string, revision?: number): Promise<boolean> {
    return this.#transaction(async (client) => {
      // FOR UPDATE: a concurrent updateKey (a cancelled deletion) either commits first, and we see
      // its revision, or waits for us and then finds no row.
      const current = await client.query<{ revision: number }>(SQL.lockKey, [arn]);
      const row = current.rows[0];
      if (!row || (revision !== undefined && row.revision !== revision)) return false;
      // Explicit rather than left to ON DELETE CASCADE, as in the SQLite store.
      await client.query(SQL.deleteBackingKeys, [arn]);
      const deleted = await client.query<KeyOwnerRow>(SQL.deleteKey, [arn]);
      const owner = deleted.rows[0];
      if (!owner) return false;
      await client.query(SQL.deleteAliasesOfKey, [owner.account_id, owner.region, owner.key_id]);
      return true;
    });
  }

  async scanKeys(afterArn: string, limit: number): Promise<ScannedKey[]> {
    return parseScannedKeys(await this.#read<ScannedKeyRow>(SQL.scanKeys, [afterArn, limit]));
  }

  async listKeysDueForDeletion(now: number, limit: number): Promise<KeyRecord[]> {
    return (await this.#read<KeyRow>(SQL.listKeysDue, [now, limit])).map(parseKey);
  }

  async listKeysDueForRotation(now: number, limit: number): Promise<KeyRecord[]> {
    return (await this.#read<KeyRow>(SQL.listKeysDueForRotation, [now, limit])).map(parseKey);
  }

  async listKeysWithExpiredMaterial(now: number, limit: number): Promise<KeyRecord[]> {
    return (await this.#read<KeyRow>(SQL.listKeysWithExpiredMaterial, [now, limit])).map(parseKey);
  }

  // --- backing keys ----------------------------------------------------------------------------

  async getBackingKeys(keyArn: string): Promise<BackingKeyRecord[]> {
    return (await this.#read<BackingKeyRow>(SQL.getBackingKeys, [keyArn])).map(parseBackingKey);
  }

  async insertBackingKey(record: BackingKeyRecord): Promise<void> {
    await this.#withClient((client) => insertBackingKey(client, record));
  }

  // --- aliases ---------------------------------------------------------------------------------

  async getAlias(accountId: string, region: string, aliasName: string): Promise<AliasRecord | undefined> {
    const rows = await this.#read<AliasRow>(SQL.getAlias, [accountId, region, aliasName]);
    return rows[0] && parseAlias(rows[0]);
  }

  async listAliases(
    accountId: string,
    region: string,
    page: PageRequest,
    targetKeyId?: string,
  ): Promise<AliasRecord[]> {
    const after = page.after ?? FIRST;
    const rows =
      targetKeyId === undefined
        ? await this.#read<AliasRow>(SQL.listAliases, [accountId, region, after, page.limit])
        : await this.#read<AliasRow>(SQL.listAliasesOfKey, [accountId, region, targetKeyId, after, page.limit]);
    return rows.map(parseAlias);
  }

  async countAliasesForKey(accountId: string, region: string, targetKeyId: string): Promise<number> {
    return count(await this.#read<{ n: number }>(SQL.countAliasesOfKey, [accountId, region, targetKeyId]));
  }

  async insertAlias(a: AliasRecord): Promise<boolean> {
    const result = await this.#write(SQL.insertAlias, [
      a.accountId,
      a.region,
      a.aliasName,
      a.targetKeyId,
      a.creationDate,
      a.lastUpdatedDate,
    ]);
    return result.rowCount === 1;
  }

  async updateAlias(a: AliasRecord): Promise<boolean> {
    const result = await this.#write(SQL.updateAlias, [
      a.targetKeyId,
      a.lastUpdatedDate,
      a.accountId,
      a.region,
      a.aliasName,
    ]);
    return result.rowCount === 1;
  }

  async deleteAlias(accountId: string, region: string, aliasName: string): Promise<boolean> {
    return (await this.#write(SQL.deleteAlias, [accountId, region, aliasName])).rowCount === 1;
  }

  // --- identities ------------------------------------------------------------------------------

  async getAccount(accountId: string): Promise<AccountRecord | undefined> {
    const row = (await this.#read<AccountRow>(SQL.getAccount, [accountId]))[0];
    return row && { accountId: row.account_id, createdAt: row.created_at };
  }

  async putAccount(account: AccountRecord): Promise<void> {
    await this.#write(SQL.putAccount, [account.accountId, account.createdAt]);
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const row = (await this.#read<AccessKeyRow>(SQL.getAccessKey, [accessKeyId]))[0];
    return row && parseAccessKey(row);
  }

  async listAccessKeys(accountId?: string): Promise<AccessKeyRecord[]> {
    const rows =
      accountId === undefined
        ? await this.#read<AccessKeyRow>(SQL.listAccessKeys, [])
        : await this.#read<AccessKeyRow>(SQL.listAccessKeysOfAccount, [accountId]);
    return rows.map(parseAccessKey);
  }

  async insertAccessKey(r: AccessKeyRecord): Promise<boolean> {
    const result = await this.#write(SQL.insertAccessKey, [
      r.accessKeyId,
      r.accountId,
      r.principalArn,
      r.secretWrapped,
      r.createdAt,
      r.description,
    ]);
    return result.rowCount === 1;
  }

  async deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return (await this.#write(SQL.deleteAccessKey, [accessKeyId])).rowCount === 1;
  }

  // --- deployment metadata ---------------------------------------------------------------------

  async getMeta(name: string): Promise<string | undefined> {
    return (await this.#read<{ value: string }>(SQL.getMeta, [name]))[0]?.value;
  }

  async putMetaIfAbsent(name: string, value: string): Promise<string> {
    // Two statements, not one: a single INSERT … ON CONFLICT DO NOTHING … UNION SELECT reads with
    // the statement's snapshot, which misses a rival's row committed after it began (the very row
    // the conflict was with). Meta values never change once set, so a later statement's read is
    // the winner's value.
    await this.#write(SQL.insertMetaIfAbsent, [name, value]);
    const stored = await this.getMeta(name);
    if (stored === undefined) throw new Error(`meta '${name}' vanished after it was stored`);
    return stored;
  }

  // --- changes made by other nodes ------------------------------------------------------------

  async watch(listener: (change: StoreChange) => void): Promise<() => Promise<void>> {
    const { max: _max, idleTimeoutMillis: _idle, ...clientConfig } = this.#config;
    const changes = new ChangeListener(clientConfig, listener, (err) => this.#options.onBackgroundError?.(err));
    try {
      await changes.start();
    } catch (err) {
      throw toStoreError(err, this.#target);
    }
    this.#listeners.add(changes);
    return async () => {
      this.#listeners.delete(changes);
      await changes.close();
    };
  }

  async close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#listeners].map((l) => l.close()));
      this.#listeners.clear();
      await this.#pool.end();
    })();
    return this.#closed;
  }

  // --- connections -----------------------------------------------------------------------------

  /**
   * A read-only statement, tried again while its connection turns out broken: after a server
   * restart every idle pooled connection may be stale, and each failure destroys one, so at most
   * one try per pooled connection plus one on a fresh connection. Not when the database could not
   * be reached at all: that already waited connect_timeout.
   */
  async #read<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    const run = () => this.#withClient((client) => client.query<R>(sql, params));
    for (let tries = this.#pool.totalCount + 1; ; tries--) {
      try {
        return (await run()).rows;
      } catch (err) {
        if (!(err instanceof KMSInternalException) || tries <= 1) throw err;
      }
    }
  }

  /** One write statement, autocommitted. */
  #write(sql: string, params: unknown[]): Promise<pg.QueryResult> {
    return this.#withClient((client) => client.query(sql, params));
  }

  /** Runs `fn` in BEGIN … COMMIT on one connection; rolls back if it throws. */
  #transaction<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, this.#target, fn, { retryUnsent: true });
  }

  /**
   * Borrows a connection for `fn` (pool-client.ts). A pooled connection found dead before anything
   * was sent on it is swapped for another, for reads and writes alike: nothing ran, and an
   * unfinished transaction rolls back with its connection.
   */
  #withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    return withClient(this.#pool, this.#target, fn, { retryUnsent: true });
  }
}

async function insertBackingKey(client: Client, bk: BackingKeyRecord): Promise<void> {
  await client.query(SQL.insertBackingKey, [bk.keyArn, bk.materialId, bk.wrapped, bk.createdAt]);
}

function count(rows: Array<{ n: number }>): number {
  return rows[0]?.n ?? 0;
}
