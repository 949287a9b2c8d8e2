import type Database from 'better-sqlite3';
import { openWalDatabase } from './wal-database.js';

/**
 * The SQLite audit log's lookup indexes, in a file of their own beside the log (`auditIndexPath`):
 * `audit_index` (each record's time, event name and principal), `audit_event_keys` (each record's
 * keys) and `audit_key_usage` (each key's last cryptographic use, for GetKeyLastUsage), indexed up
 * to `audit_index_state.indexed_seq`, which commits with them.
 *
 * Why a file of its own: the records are appended on the event loop, and the indexes are brought up
 * to date after that, by a thread (audit-index-thread.ts). SQLite has one writer per file; in the
 * log's own file the thread's index transactions would hold the lock the next append waits for,
 * and the event loop would wait with it. Here the two never contend: the thread reads the log
 * (a WAL reader blocks no writer) and writes only this file.
 *
 * Everything but the key usage is derived from the records, so the file needs no fsync of its own
 * (synchronous=NORMAL: after a crash it resumes from `indexed_seq`), and it is rebuilt if it goes
 * missing or belongs to another log. Key usage outlives pruned records, so before records are
 * pruned it is indexed and synced (`catchUp({ durable: true })`).
 */
export class SqliteAuditIndex {
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepareIndex>;
  readonly #log: ReturnType<typeof prepareLogReads>;

  private constructor(db: Database.Database, log: Database.Database) {
    this.#db = db;
    this.#s = prepareIndex(db);
    this.#log = prepareLogReads(log);
  }

  /**
   * Opens (creating if need be) the index of the log open on `log`, a connection this index only
   * reads through. An index left by another log — one started at another time — is emptied.
   */
  static open(path: string, log: Database.Database): SqliteAuditIndex {
    const db = openWalDatabase(path, 'SQLite audit index', 'NORMAL');
    try {
      // Checkpoint every ~40 MB of WAL rather than SQLite's ~4 MB: indexing records on many keys
      // rewrites pages all over the key tables, and a page rewritten many times between two
      // checkpoints is copied back once (in-process, 100,000 keys at random: 31 → 24 µs of CPU a
      // record).
      db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
      db.transaction(() => {
        if (db.pragma('user_version', { simple: true }) === 0) {
          db.exec(INDEX_SCHEMA);
          db.pragma(`user_version = ${INDEX_SCHEMA_VERSION}`);
        }
      }).immediate();
      const index = new SqliteAuditIndex(db, log);
      index.#adopt();
      return index;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Ties the index to its log (by the log's start time), emptying it if it was another's. */
  #adopt(): void {
    const startedAt = this.#log.startedAt.get();
    if (startedAt === undefined) throw new Error('the audit head row is missing');
    this.#db
      .transaction(() => {
        const state = this.#s.state.get();
        if (state?.log_started_at === startedAt) return;
        this.#db.exec('DELETE FROM audit_index; DELETE FROM audit_event_keys; DELETE FROM audit_key_usage');
        this.#s.resetState.run(startedAt);
      })
      .immediate();
  }

  /** Copies last-use rows kept by an older Trent in the log's own file; newer rows here win. */
  adoptKeyUsage(rows: readonly KeyUsageDbRow[]): void {
    this.#db
      .transaction(() => {
        for (const r of rows)
          this.#s.insertUsageIfAbsent.run(r.key_arn, r.operation, r.event_time, r.event_id, r.request_id);
      })
      .immediate();
  }

  /**
   * Indexes every record appended so far (by any process), a chunk per transaction. `durable`: and
   * syncs the index to disk, even what earlier transactions left unsynced.
   */
  catchUp(options: { durable?: boolean } = {}): void {
    if (options.durable) this.#db.pragma('synchronous = FULL');
    try {
      let more = true;
      while (more) more = this.#indexChunk(options.durable === true);
    } finally {
      if (options.durable) this.#db.pragma('synchronous = NORMAL');
    }
  }

  /** Indexes up to INDEX_CHUNK records; false once none were left. */
  #indexChunk(commitAnyway: boolean): boolean {
    const head = this.#log.headSeq.get() ?? 0;
    if (!commitAnyway && this.#s.indexedSeq.get() === head) return false;
    return this.#db
      .transaction(() => {
        const after = this.#s.indexedSeq.get() ?? 0;
        const rows = this.#log.toIndex.all(after, INDEX_CHUNK);
        if (rows.length === 0) {
          // A commit at synchronous=FULL syncs the whole WAL, earlier commits with it.
          if (commitAnyway) this.#s.setIndexedSeq.run(after);
          return false;
        }
        // A key's last use is its last use in the chunk: one upsert per key, not per event.
        const lastUse = new Map<string, IndexRow>();
        for (const r of rows) {
          this.#s.insertIndex.run(r.seq, r.event_time, r.event_name, r.principal);
          if (r.key_arns === '') continue;
          for (const arn of new Set(r.key_arns.split(' '))) {
            this.#s.insertEventKey.run(arn, r.seq);
            if (r.usage === 1) lastUse.set(arn, r);
          }
        }
        for (const [arn, r] of lastUse)
          this.#s.upsertUsage.run(arn, r.event_name, r.event_time, r.event_id, r.request_id);
        this.#s.setIndexedSeq.run((rows.at(-1) as IndexRow).seq);
        return rows.length === INDEX_CHUNK;
      })
      .immediate();
  }

  keyUsage(keyArn: string): KeyUsageDbRow | undefined {
    return this.#s.getUsage.get(keyArn);
  }

  firstSeqAtOrAfter(time: number): number | undefined {
    return this.#s.firstSeqAtOrAfter.get(time) ?? undefined;
  }

  /** Drops the index rows of records up to `throughSeq` (pruned from the log); key usage stays. */
  prune(throughSeq: number): void {
    this.#db
      .transaction(() => {
        this.#s.pruneKeys.run(throughSeq);
        this.#s.pruneIndex.run(throughSeq);
      })
      .immediate();
  }

  close(): void {
    this.#db.close();
  }
}

/** The index file of the audit log at `auditPath`. */
export function auditIndexPath(auditPath: string): string {
  return `${auditPath}.index`;
}

export interface KeyUsageDbRow {
  key_arn: string;
  operation: string;
  event_time: number;
  event_id: string;
  request_id: string;
}

interface IndexRow {
  seq: number;
  event_time: number;
  event_name: string;
  principal: string | null;
  key_arns: string;
  usage: number;
  event_id: string;
  request_id: string;
}

/** Records indexed per transaction: each transaction holds the index file's write lock. */
const INDEX_CHUNK = 500;

const INDEX_SCHEMA_VERSION = 1;

/** WAL pages between automatic checkpoints of the index file (4 KiB each). */
const CHECKPOINT_PAGES = 10_000;

// WITHOUT ROWID: a row lives in its primary key's B-tree alone, so indexing a record on a key
// touches one page there instead of two (the table's and its key index's).
const INDEX_SCHEMA = `
  CREATE TABLE audit_index (
    seq        INTEGER NOT NULL PRIMARY KEY,
    event_time INTEGER NOT NULL,
    event_name TEXT    NOT NULL,
    principal  TEXT
  );
  CREATE INDEX audit_index_by_time ON audit_index (event_time);
  CREATE INDEX audit_index_by_name ON audit_index (event_name, seq);
  CREATE INDEX audit_index_by_principal ON audit_index (principal, seq);
  CREATE TABLE audit_event_keys (
    key_arn TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (key_arn, seq)
  ) WITHOUT ROWID;
  CREATE TABLE audit_key_usage (
    key_arn    TEXT    NOT NULL PRIMARY KEY,
    operation  TEXT    NOT NULL,
    event_time INTEGER NOT NULL,
    event_id   TEXT    NOT NULL,
    request_id TEXT    NOT NULL
  ) WITHOUT ROWID;
  -- One row: how far the indexes reach, and which log they index (its audit_head.started_at).
  CREATE TABLE audit_index_state (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    indexed_seq    INTEGER NOT NULL,
    log_started_at INTEGER NOT NULL
  );
`;

function prepareIndex(db: Database.Database) {
  return {
    state: db.prepare<[], { indexed_seq: number; log_started_at: number }>(
      'SELECT indexed_seq, log_started_at FROM audit_index_state WHERE id = 1',
    ),
    resetState: db.prepare<[number]>(
      'INSERT OR REPLACE INTO audit_index_state (id, indexed_seq, log_started_at) VALUES (1, 0, ?)',
    ),
    indexedSeq: db.prepare<[], number>('SELECT indexed_seq FROM audit_index_state WHERE id = 1').pluck(),
    setIndexedSeq: db.prepare<[number]>('UPDATE audit_index_state SET indexed_seq = ? WHERE id = 1'),
    insertIndex: db.prepare<[number, number, string, string | null]>(
      'INSERT OR IGNORE INTO audit_index (seq, event_time, event_name, principal) VALUES (?, ?, ?, ?)',
    ),
    insertEventKey: db.prepare<[string, number]>('INSERT OR IGNORE INTO audit_event_keys (key_arn, seq) VALUES (?, ?)'),
    upsertUsage: db.prepare<[string, string, number, string, string]>(
      `INSERT INTO audit_key_usage (key_arn, operation, event_time, event_id, request_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key_arn) DO UPDATE SET operation = excluded.operation, event_time = excluded.event_time,
         event_id = excluded.event_id, request_id = excluded.request_id`,
    ),
    insertUsageIfAbsent: db.prepare<[string, string, number, string, string]>(
      `INSERT OR IGNORE INTO audit_key_usage (key_arn, operation, event_time, event_id, request_id)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    getUsage: db.prepare<[string], KeyUsageDbRow>(
      'SELECT key_arn, operation, event_time, event_id, request_id FROM audit_key_usage WHERE key_arn = ?',
    ),
    firstSeqAtOrAfter: db
      .prepare<[number], number | null>('SELECT MIN(seq) FROM audit_index WHERE event_time >= ?')
      .pluck(),
    pruneKeys: db.prepare<[number]>('DELETE FROM audit_event_keys WHERE seq <= ?'),
    pruneIndex: db.prepare<[number]>('DELETE FROM audit_index WHERE seq <= ?'),
  };
}

function prepareLogReads(log: Database.Database) {
  return {
    startedAt: log.prepare<[], number>('SELECT started_at FROM audit_head WHERE id = 1').pluck(),
    headSeq: log.prepare<[], number>('SELECT seq FROM audit_head WHERE id = 1').pluck(),
    toIndex: log.prepare<[number, number], IndexRow>(
      `SELECT seq, event_time, event_name, principal, key_arns, usage, event_id, request_id
       FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`,
    ),
  };
}
