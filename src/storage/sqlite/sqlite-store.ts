import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
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
  type KeyColumns,
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
import { BOUND_LIMIT } from './bound-limit.js';
import { watchChanges } from './change-feed.js';
import { applyMigrations } from './migrations.js';
import { ownConnection, type SharedConnection, type SqliteConnections, writeTransactions } from './wal-database.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

// Sorts before every real id or name, so "no cursor" needs no second statement.
const FIRST = '';

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so each method
 * does its work at once and returns a settled promise; a transaction never spans an await.
 */
export class SqliteStore implements Store {
  readonly #connection: SharedConnection;
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepareStatements>;
  /** Runs a function in a write transaction (`writeTransactions`). */
  readonly #tx: <T>(fn: () => T) => T;

  private constructor(connection: SharedConnection) {
    this.#connection = connection;
    this.#db = connection.db;
    this.#s = prepareStatements(connection.db);
    this.#tx = writeTransactions(connection.db);
  }

  /**
   * Opens (creating if absent) the database file at `path` and migrates it. `bulkLoad` turns off
   * the fsync of each commit, for a tool that fills a store before any server uses it (the scale
   * benchmark seeds 100,000 keys); a crash then may lose what it wrote. The server never sets it.
   * With `connections`, the store shares the file's connection with the other adapters on it.
   */
  static open(path: string, options: { bulkLoad?: boolean; connections?: SqliteConnections } = {}): SqliteStore {
    // synchronous=OFF on a shared connection would take the audit log's durability with it.
    if (options.bulkLoad === true && options.connections !== undefined) {
      throw new Error('bulkLoad needs a connection of its own, not a shared one');
    }
    // Created owner-only before SQLite opens it: its -wal and -shm files take the same mode.
    closeSync(openSync(path, 'a', 0o600));
    const open = () => new Database(path, { timeout: 5000 });
    const connection = options.connections?.acquire(path, open) ?? ownConnection(open());
    try {
      configure(connection.db);
      if (options.bulkLoad === true) connection.db.pragma('synchronous = OFF');
      applyMigrations(connection.db);
      return new SqliteStore(connection);
    } catch (err) {
      connection.release();
      throw err;
    }
  }

  // --- keys ------------------------------------------------------------------------------------

  async getKey(arn: string): Promise<KeyRecord | undefined> {
    const row = this.#s.getKey.get(arn);
    return row && parseKey(row);
  }

  async listKeys(accountId: string, region: string, page: PageRequest): Promise<KeyRecord[]> {
    return this.#s.listKeys.all(accountId, region, page.after ?? FIRST, page.limit).map(parseKey);
  }

  async countKeys(accountId: string, region: string): Promise<number> {
    return this.#s.countKeys.get(accountId, region) ?? 0;
  }

  async insertKey(key: KeyRecord, backingKeys: BackingKeyRecord[]): Promise<void> {
    for (const bk of backingKeys) {
      if (bk.keyArn !== key.arn) {
        throw new Error(`Backing key ${bk.materialId} belongs to ${bk.keyArn}, not ${key.arn}`);
      }
    }
    this.#tx(() => {
      this.#s.insertKey.run(key.arn, ...keyColumns(key));
      for (const bk of backingKeys) this.#insertBackingKey(bk);
    });
  }

  async updateKey(key: KeyRecord, backingKeys?: BackingKeyChanges): Promise<boolean> {
    if (backingKeys === undefined) {
      return this.#s.updateKey.run(...keyColumns(key), key.arn, key.revision - 1).changes === 1;
    }
    for (const bk of backingKeys.insert ?? []) {
      if (bk.keyArn !== key.arn) {
        throw new Error(`Backing key ${bk.materialId} belongs to ${bk.keyArn}, not ${key.arn}`);
      }
    }
    const deleted = backingKeys.delete ?? [];
    const updated = this.#tx(() => {
      if (this.#s.updateKey.run(...keyColumns(key), key.arn, key.revision - 1).changes !== 1) return false;
      for (const materialId of deleted) this.#s.deleteBackingKey.run(key.arn, materialId);
      for (const bk of backingKeys.insert ?? []) this.#insertBackingKey(bk);
      return true;
    });
    // As in deleteKey: destroyed material must leave the WAL too.
    if (updated && deleted.length > 0) this.#s.checkpoint.get();
    return updated;
  }

  async deleteKey(arn: string, revision?: number): Promise<boolean> {
    const deleted = this.#tx(() => {
      const current = this.#s.keyRevision.get(arn);
      if (!current || (revision !== undefined && current.revision !== revision)) return false;
      // Explicit rather than left to ON DELETE CASCADE: destroying material must not hinge on a
      // per-connection pragma.
      this.#s.deleteBackingKeys.run(arn);
      const owner = this.#s.deleteKey.get(arn);
      if (!owner) return false;
      this.#s.deleteAliasesOfKey.run(owner.account_id, owner.region, owner.key_id);
      return true;
    });
    // secure_delete zeroes the freed cells, but older page images holding the wrapped material
    // still sit in the WAL until a checkpoint copies the new pages back and truncates it. If
    // another process's reader keeps it busy past busy_timeout, the deletion stands and the next
    // checkpoint (or the last connection's close) finishes the job.
    if (deleted) this.#s.checkpoint.get();
    return deleted;
  }

  async scanKeys(afterArn: string, limit: number): Promise<ScannedKey[]> {
    return parseScannedKeys(this.#s.scanKeys.all(afterArn, limit));
  }

  async listKeysDueForDeletion(now: number, limit: number): Promise<KeyRecord[]> {
    return this.#s.listKeysDue.all(now, limit).map(parseKey);
  }

  async listKeysDueForRotation(now: number, limit: number): Promise<KeyRecord[]> {
    return this.#s.listKeysDueForRotation.all(now, limit).map(parseKey);
  }

  async listKeysWithExpiredMaterial(now: number, limit: number): Promise<KeyRecord[]> {
    return this.#s.listKeysWithExpiredMaterial.all(now, limit).map(parseKey);
  }

  // --- backing keys ----------------------------------------------------------------------------

  async getBackingKeys(keyArn: string): Promise<BackingKeyRecord[]> {
    return this.#s.getBackingKeys.all(keyArn).map(parseBackingKey);
  }

  async insertBackingKey(record: BackingKeyRecord): Promise<void> {
    this.#insertBackingKey(record);
  }

  #insertBackingKey(bk: BackingKeyRecord): void {
    this.#s.insertBackingKey.run(bk.keyArn, bk.materialId, bk.wrapped, bk.createdAt);
  }

  // --- aliases ---------------------------------------------------------------------------------

  async getAlias(accountId: string, region: string, aliasName: string): Promise<AliasRecord | undefined> {
    const row = this.#s.getAlias.get(accountId, region, aliasName);
    return row && parseAlias(row);
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
        ? this.#s.listAliases.all(accountId, region, after, page.limit)
        : this.#s.listAliasesOfKey.all(accountId, region, targetKeyId, after, page.limit);
    return rows.map(parseAlias);
  }

  async countAliasesForKey(accountId: string, region: string, targetKeyId: string): Promise<number> {
    return this.#s.countAliasesOfKey.get(accountId, region, targetKeyId) ?? 0;
  }

  async insertAlias(a: AliasRecord): Promise<boolean> {
    const result = this.#s.insertAlias.run(
      a.accountId,
      a.region,
      a.aliasName,
      a.targetKeyId,
      a.creationDate,
      a.lastUpdatedDate,
    );
    return result.changes === 1;
  }

  async updateAlias(a: AliasRecord): Promise<boolean> {
    const result = this.#s.updateAlias.run(a.targetKeyId, a.lastUpdatedDate, a.accountId, a.region, a.aliasName);
    return result.changes === 1;
  }

  async deleteAlias(accountId: string, region: string, aliasName: string): Promise<boolean> {
    return this.#s.deleteAlias.run(accountId, region, aliasName).changes === 1;
  }

  // --- identities ------------------------------------------------------------------------------

  async getAccount(accountId: string): Promise<AccountRecord | undefined> {
    const row = this.#s.getAccount.get(accountId);
    return row && { accountId: row.account_id, createdAt: row.created_at };
  }

  async putAccount(account: AccountRecord): Promise<void> {
    this.#s.putAccount.run(account.accountId, account.createdAt);
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const row = this.#s.getAccessKey.get(accessKeyId);
    return row && parseAccessKey(row);
  }

  async listAccessKeys(accountId?: string): Promise<AccessKeyRecord[]> {
    const rows =
      accountId === undefined ? this.#s.listAccessKeys.all() : this.#s.listAccessKeysOfAccount.all(accountId);
    return rows.map(parseAccessKey);
  }

  async insertAccessKey(r: AccessKeyRecord): Promise<boolean> {
    const result = this.#s.insertAccessKey.run(
      r.accessKeyId,
      r.accountId,
      r.principalArn,
      r.secretWrapped,
      r.createdAt,
      r.description,
    );
    return result.changes === 1;
  }

  async deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return this.#s.deleteAccessKey.run(accessKeyId).changes === 1;
  }

  // --- deployment metadata ---------------------------------------------------------------------

  async getMeta(name: string): Promise<string | undefined> {
    return this.#s.getMeta.get(name);
  }

  async putMetaIfAbsent(name: string, value: string): Promise<string> {
    return this.#tx(() => {
      this.#s.insertMetaIfAbsent.run(name, value);
      const stored = this.#s.getMeta.get(name);
      if (stored === undefined) throw new Error(`meta '${name}' vanished inside its transaction`);
      return stored;
    });
  }

  /** Changes by any process on this file: a trigger-filled change log, polled (change-feed.ts). */
  async watch(listener: (change: StoreChange) => void): Promise<() => Promise<void>> {
    return watchChanges(this.#db, listener);
  }

  async close(): Promise<void> {
    this.#connection.release();
  }
}

function configure(db: Database.Database): void {
  db.pragma('busy_timeout = 5000');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal' && !db.memory) {
    throw new Error(`SQLite store ${db.name}: cannot switch to WAL mode (got '${String(mode)}')`);
  }
  // FULL: in WAL mode NORMAL may lose the last commits on power loss; acknowledged writes must not.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Destroyed key material must not linger in free pages or freed cell space.
  db.pragma('secure_delete = ON');
}

function prepareStatements(db: Database.Database) {
  const keyCols = 'key_id, account_id, region, key_state, deletion_date, revision, doc';
  const aliasCols = 'account_id, region, alias_name, target_key_id, creation_date, last_updated_date';
  const accessKeyCols = 'access_key_id, account_id, principal_arn, secret_wrapped, created_at, description';
  const p = <P extends unknown[], R = unknown>(sql: string): Statement<P, R> => db.prepare<P, R>(sql);
  return {
    getKey: p<[string], KeyRow>('SELECT doc FROM keys WHERE arn = ?'),
    listKeys: p<[string, string, string, number], KeyRow>(
      `SELECT doc FROM keys WHERE account_id = ? AND region = ? AND key_id > ?
       ORDER BY key_id ${BOUND_LIMIT}`,
    ),
    countKeys: p<[string, string], number>('SELECT n FROM key_counts WHERE account_id = ? AND region = ?').pluck(),
    insertKey: p<[string, ...KeyColumns]>(`INSERT INTO keys (arn, ${keyCols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    updateKey: p<[...KeyColumns, string, number]>(
      `UPDATE keys SET key_id = ?, account_id = ?, region = ?, key_state = ?, deletion_date = ?,
         revision = ?, doc = ?
       WHERE arn = ? AND revision = ?`,
    ),
    keyRevision: p<[string], { revision: number }>('SELECT revision FROM keys WHERE arn = ?'),
    deleteKey: p<[string], KeyOwnerRow>('DELETE FROM keys WHERE arn = ? RETURNING key_id, account_id, region'),
    scanKeys: p<[string, number], ScannedKeyRow>(
      `SELECT k.arn, k.doc, b.key_arn, b.material_id, b.wrapped, b.created_at
       FROM (SELECT arn, doc FROM keys WHERE arn > ? ORDER BY arn ${BOUND_LIMIT}) AS k
       LEFT JOIN backing_keys AS b ON b.key_arn = k.arn
       ORDER BY k.arn, b.created_at, b.rowid`,
    ),
    listKeysDue: p<[number, number], KeyRow>(
      `SELECT doc FROM keys WHERE key_state = 'PendingDeletion' AND deletion_date <= ?
       ORDER BY deletion_date, arn ${BOUND_LIMIT}`,
    ),
    // Scheduler queries look inside doc, through the expression indexes of migration 9 (the
    // expressions must stay exactly as the indexes have them), most overdue first. INDEXED BY: without statistics the
    // planner prefers walking the primary key in arn order, a read of every key; with it, a query
    // that stopped matching its index fails at prepare instead of scanning quietly.
    listKeysDueForRotation: p<[number, number], KeyRow>(
      `SELECT doc FROM keys INDEXED BY keys_by_next_rotation
       WHERE key_state = 'Enabled' AND json_extract(doc, '$.nextRotationDate') <= ?
       ORDER BY json_extract(doc, '$.nextRotationDate'), arn ${BOUND_LIMIT}`,
    ),
    listKeysWithExpiredMaterial: p<[number, number], KeyRow>(
      `SELECT doc FROM keys INDEXED BY keys_by_material_expiry
       WHERE json_extract(doc, '$.materialExpiry') <= ?
       ORDER BY json_extract(doc, '$.materialExpiry'), arn ${BOUND_LIMIT}`,
    ),
    deleteBackingKey: p<[string, string]>('DELETE FROM backing_keys WHERE key_arn = ? AND material_id = ?'),
    getBackingKeys: p<[string], BackingKeyRow>(
      `SELECT key_arn, material_id, wrapped, created_at FROM backing_keys WHERE key_arn = ?
       ORDER BY created_at, rowid`,
    ),
    insertBackingKey: p<[string, string, Buffer, number]>(
      'INSERT INTO backing_keys (key_arn, material_id, wrapped, created_at) VALUES (?, ?, ?, ?)',
    ),
    deleteBackingKeys: p<[string]>('DELETE FROM backing_keys WHERE key_arn = ?'),
    getAlias: p<[string, string, string], AliasRow>(
      `SELECT ${aliasCols} FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?`,
    ),
    listAliases: p<[string, string, string, number], AliasRow>(
      `SELECT ${aliasCols} FROM aliases WHERE account_id = ? AND region = ? AND alias_name > ?
       ORDER BY alias_name ${BOUND_LIMIT}`,
    ),
    listAliasesOfKey: p<[string, string, string, string, number], AliasRow>(
      `SELECT ${aliasCols} FROM aliases
       WHERE account_id = ? AND region = ? AND target_key_id = ? AND alias_name > ?
       ORDER BY alias_name ${BOUND_LIMIT}`,
    ),
    countAliasesOfKey: p<[string, string, string], number>(
      'SELECT COUNT(*) FROM aliases WHERE account_id = ? AND region = ? AND target_key_id = ?',
    ).pluck(),
    insertAlias: p<[string, string, string, string, number, number]>(
      `INSERT INTO aliases (${aliasCols}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_id, region, alias_name) DO NOTHING`,
    ),
    updateAlias: p<[string, number, string, string, string]>(
      `UPDATE aliases SET target_key_id = ?, last_updated_date = ?
       WHERE account_id = ? AND region = ? AND alias_name = ?`,
    ),
    deleteAlias: p<[string, string, string]>(
      'DELETE FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?',
    ),
    deleteAliasesOfKey: p<[string, string, string]>(
      'DELETE FROM aliases WHERE account_id = ? AND region = ? AND target_key_id = ?',
    ),
    getAccount: p<[string], AccountRow>('SELECT account_id, created_at FROM accounts WHERE account_id = ?'),
    putAccount: p<[string, number]>(
      `INSERT INTO accounts (account_id, created_at) VALUES (?, ?)
       ON CONFLICT (account_id) DO UPDATE SET created_at = excluded.created_at`,
    ),
    getAccessKey: p<[string], AccessKeyRow>(`SELECT ${accessKeyCols} FROM access_keys WHERE access_key_id = ?`),
    listAccessKeys: p<[], AccessKeyRow>(`SELECT ${accessKeyCols} FROM access_keys ORDER BY access_key_id`),
    listAccessKeysOfAccount: p<[string], AccessKeyRow>(
      `SELECT ${accessKeyCols} FROM access_keys WHERE account_id = ? ORDER BY access_key_id`,
    ),
    insertAccessKey: p<[string, string, string, Buffer, number, string]>(
      `INSERT INTO access_keys (${accessKeyCols}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (access_key_id) DO NOTHING`,
    ),
    deleteAccessKey: p<[string]>('DELETE FROM access_keys WHERE access_key_id = ?'),
    getMeta: p<[string], string>('SELECT value FROM meta WHERE name = ?').pluck(),
    insertMetaIfAbsent: p<[string, string]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
    ),
    checkpoint: p<[], CheckpointRow>('PRAGMA wal_checkpoint(TRUNCATE)'),
  };
}
