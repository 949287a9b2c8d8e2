import type Database from 'better-sqlite3';
import type { KeyUsageDbRow } from '../audit-log.js';
import { BOUND_LIMIT } from './bound-limit.js';
import { openWalDatabase } from './wal-database.js';

/**
 * The SQLite audit log's lookup indexes, in a file of their own beside the log (`auditIndexPath`):
 * `audit_index` (each record's time, event name and principal) and `audit_event_keys` (each
 * record's keys, by a small number per key from `audit_keys`, and whether the record counts as a
 * use of the key), indexed up to `audit_index_state.indexed_seq`, which commits with them.
 *
 * Why a file of its own: the records are appended on the event loop, and the indexes are brought up
 * to date after that, by a thread (audit-index-thread.ts). SQLite has one writer per file; in the
 * log's own file the thread's index transactions would hold the lock the next append waits for,
 * and the event loop would wait with it. Here the two never contend: the thread reads the log
 * (a WAL reader blocks no writer) and writes only this file.
 *
 * A key's last use (GetKeyLastUsage) is its newest `audit_event_keys` row that counts as a use,
 * read back from the log. Indexing a record so touches one page per key; a table of each key's last
 * use, updated with every record, touched a second, and with many keys in use every page written is
 * a different one (100,000 keys at random: 41 → 15 µs of CPU a record on the index thread, with
 * the numbers for ARNs). Key usage outlives pruned records, so before records are pruned the last
 * use of each key among them moves to `audit_key_usage` and is synced (`keepUsageThrough`): a use
 * found among the records still in the log is always the newer one.
 *
 * Everything else is derived from the records, so the file needs no fsync of its own
 * (synchronous=NORMAL: after a crash it resumes from `indexed_seq`), and it is rebuilt if it goes
 * missing or belongs to another log.
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
        const version = db.pragma('user_version', { simple: true });
        if (version === 0) db.exec(INDEX_SCHEMA);
        else if (version === 1) upgradeFromVersion1(db);
        db.pragma(`user_version = ${INDEX_SCHEMA_VERSION}`);
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
        this.#db.exec(
          'DELETE FROM audit_index; DELETE FROM audit_event_keys; DELETE FROM audit_key_usage; DELETE FROM audit_keys',
        );
        this.#s.resetState.run(startedAt);
      })
      .immediate();
  }

  /**
   * Copies last-use rows kept by an older Trent in the log's own file. A use found among the
   * records still in the log wins over them, as over any kept row.
   */
  adoptKeyUsage(rows: readonly KeyUsageDbRow[]): void {
    this.#db
      .transaction(() => {
        for (const r of rows) {
          const ref = refOf(this.#s, r.key_arn);
          this.#s.insertKeptUsageIfAbsent.run(ref, r.operation, r.event_time, r.event_id, r.request_id);
        }
      })
      .immediate();
  }

  /** Indexes every record appended so far (by any process), a chunk per transaction. */
  catchUp(): void {
    while (this.#indexChunk());
  }

  /** Indexes up to INDEX_CHUNK records; false once none were left. */
  #indexChunk(): boolean {
    const head = this.#log.headSeq.get() ?? 0;
    if (this.#s.indexedSeq.get() === head) return false;
    return this.#db
      .transaction(() => {
        const after = this.#s.indexedSeq.get() ?? 0;
        const rows = this.#log.toIndex.all(after, INDEX_CHUNK);
        if (rows.length === 0) return false;
        const refs = new Map<string, number>();
        for (const r of rows) {
          this.#s.insertIndex.run(r.seq, r.event_time, r.event_name, r.principal);
          if (r.key_arns === '') continue;
          for (const arn of new Set(r.key_arns.split(' '))) {
            let ref = refs.get(arn);
            if (ref === undefined) {
              ref = refOf(this.#s, arn);
              refs.set(arn, ref);
            }
            this.#s.insertEventKey.run(ref, r.seq, r.usage);
          }
        }
        this.#s.setIndexedSeq.run((rows.at(-1) as IndexRow).seq);
        return rows.length === INDEX_CHUNK;
      })
      .immediate();
  }

  /** The key's last use: in the records indexed so far, else as kept when its records were pruned. */
  keyUsage(keyArn: string): KeyUsageDbRow | undefined {
    const ref = this.#s.getRef.get(keyArn);
    if (ref === undefined) return undefined;
    const seq = this.#s.lastUseSeq.get(ref);
    // Missing from the log: pruned, and the index rows not yet (a crash between the two).
    const used = seq === undefined ? undefined : this.#log.usageAt.get(seq);
    if (used !== undefined) return { key_arn: keyArn, ...used };
    const kept = this.#s.getKeptUsage.get(ref);
    return kept && { key_arn: keyArn, ...kept };
  }

  /**
   * Before the log's records up to `throughSeq` are pruned: keeps the last use of every key whose
   * last indexed use is among them, synced to disk with everything indexed before. Index first
   * (`catchUp`), so that no record to be pruned is left unread.
   */
  keepUsageThrough(throughSeq: number): void {
    this.#db.pragma('synchronous = FULL');
    try {
      this.#db
        .transaction(() => {
          for (const { key_ref, seq } of this.#s.lastUsesThrough.all(throughSeq)) {
            if (this.#s.usedAfter.get(key_ref, throughSeq) !== undefined) continue;
            const used = this.#log.usageAt.get(seq);
            if (used === undefined) continue;
            this.#s.upsertKeptUsage.run(key_ref, used.operation, used.event_time, used.event_id, used.request_id);
          }
          // Committed at synchronous=FULL even when there was nothing to keep: that syncs the
          // WAL, and the unsynced index transactions before it with it.
          this.#s.setIndexedSeq.run(this.#s.indexedSeq.get() ?? 0);
        })
        .immediate();
    } finally {
      this.#db.pragma('synchronous = NORMAL');
    }
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

interface IndexRow {
  seq: number;
  event_time: number;
  event_name: string;
  principal: string | null;
  key_arns: string;
  usage: number;
}

/** Records indexed per transaction: each transaction holds the index file's write lock. */
const INDEX_CHUNK = 500;

const INDEX_SCHEMA_VERSION = 2;

/** WAL pages between automatic checkpoints of the index file (4 KiB each). */
const CHECKPOINT_PAGES = 10_000;

// WITHOUT ROWID: a row lives in its primary key's B-tree alone, so indexing a record on a key
// touches one page there instead of two (the table's and its key index's). Keys go by their
// `audit_keys.ref`: an ARN is ~75 bytes, and rows a sixth of the size touch fewer pages.
const TABLES = `
  CREATE TABLE audit_index (
    seq        INTEGER NOT NULL PRIMARY KEY,
    event_time INTEGER NOT NULL,
    event_name TEXT    NOT NULL,
    principal  TEXT
  );
  CREATE INDEX audit_index_by_time ON audit_index (event_time);
  CREATE INDEX audit_index_by_name ON audit_index (event_name, seq);
  CREATE INDEX audit_index_by_principal ON audit_index (principal, seq);
  CREATE TABLE audit_keys (
    ref     INTEGER NOT NULL PRIMARY KEY,
    key_arn TEXT    NOT NULL UNIQUE
  );
  -- usage: 1 when the record counts as a use of the key (GetKeyLastUsage).
  CREATE TABLE audit_event_keys (
    key_ref INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    usage   INTEGER NOT NULL,
    PRIMARY KEY (key_ref, seq)
  ) WITHOUT ROWID;
  -- Each key's last use among records pruned since (keepUsageThrough).
  CREATE TABLE audit_key_usage (
    key_ref    INTEGER NOT NULL PRIMARY KEY,
    operation  TEXT    NOT NULL,
    event_time INTEGER NOT NULL,
    event_id   TEXT    NOT NULL,
    request_id TEXT    NOT NULL
  ) WITHOUT ROWID;
`;

const INDEX_SCHEMA = `${TABLES}
  -- One row: how far the indexes reach, and which log they index (its audit_head.started_at).
  CREATE TABLE audit_index_state (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    indexed_seq    INTEGER NOT NULL,
    log_started_at INTEGER NOT NULL
  );
`;

/**
 * Version 1 kept each key's last use in a table updated with every record, by ARN. Its rows are
 * kept (some may be of records pruned since); the rest is rebuilt from the records.
 */
function upgradeFromVersion1(db: Database.Database): void {
  const usage = db
    .prepare<[], KeyUsageDbRow>('SELECT key_arn, operation, event_time, event_id, request_id FROM audit_key_usage')
    .all();
  db.exec(`DROP TABLE audit_index; DROP TABLE audit_event_keys; DROP TABLE audit_key_usage; ${TABLES}`);
  db.prepare('UPDATE audit_index_state SET indexed_seq = 0').run();
  const s = prepareIndex(db);
  for (const r of usage) {
    s.insertKeptUsageIfAbsent.run(refOf(s, r.key_arn), r.operation, r.event_time, r.event_id, r.request_id);
  }
}

type IndexStatements = ReturnType<typeof prepareIndex>;

/** The key's number in this index, given it on first sight. */
function refOf(s: IndexStatements, keyArn: string): number {
  return s.getRef.get(keyArn) ?? Number(s.insertRef.run(keyArn).lastInsertRowid);
}

function prepareIndex(db: Database.Database) {
  const keptUsageColumns = 'key_ref, operation, event_time, event_id, request_id';
  return {
    state: db.prepare<[], { indexed_seq: number; log_started_at: number }>(
      'SELECT indexed_seq, log_started_at FROM audit_index_state WHERE id = 1',
    ),
    resetState: db.prepare<[number]>(
      'INSERT OR REPLACE INTO audit_index_state (id, indexed_seq, log_started_at) VALUES (1, 0, ?)',
    ),
    indexedSeq: db.prepare<[], number>('SELECT indexed_seq FROM audit_index_state WHERE id = 1').pluck(),
    setIndexedSeq: db.prepare<[number]>('UPDATE audit_index_state SET indexed_seq = ? WHERE id = 1'),
    getRef: db.prepare<[string], number>('SELECT ref FROM audit_keys WHERE key_arn = ?').pluck(),
    insertRef: db.prepare<[string]>('INSERT INTO audit_keys (key_arn) VALUES (?)'),
    insertIndex: db.prepare<[number, number, string, string | null]>(
      'INSERT OR IGNORE INTO audit_index (seq, event_time, event_name, principal) VALUES (?, ?, ?, ?)',
    ),
    insertEventKey: db.prepare<[number, number, number]>(
      'INSERT OR IGNORE INTO audit_event_keys (key_ref, seq, usage) VALUES (?, ?, ?)',
    ),
    lastUseSeq: db
      .prepare<[number], number>(
        'SELECT seq FROM audit_event_keys WHERE key_ref = ? AND usage = 1 ORDER BY seq DESC LIMIT 1',
      )
      .pluck(),
    lastUsesThrough: db.prepare<[number], { key_ref: number; seq: number }>(
      'SELECT key_ref, MAX(seq) AS seq FROM audit_event_keys WHERE usage = 1 AND seq <= ? GROUP BY key_ref',
    ),
    usedAfter: db
      .prepare<[number, number], number>(
        'SELECT 1 FROM audit_event_keys WHERE key_ref = ? AND seq > ? AND usage = 1 LIMIT 1',
      )
      .pluck(),
    getKeptUsage: db.prepare<[number], Omit<KeyUsageDbRow, 'key_arn'>>(
      'SELECT operation, event_time, event_id, request_id FROM audit_key_usage WHERE key_ref = ?',
    ),
    upsertKeptUsage: db.prepare<[number, string, number, string, string]>(
      `INSERT INTO audit_key_usage (${keptUsageColumns}) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key_ref) DO UPDATE SET operation = excluded.operation, event_time = excluded.event_time,
         event_id = excluded.event_id, request_id = excluded.request_id`,
    ),
    insertKeptUsageIfAbsent: db.prepare<[number, string, number, string, string]>(
      `INSERT OR IGNORE INTO audit_key_usage (${keptUsageColumns}) VALUES (?, ?, ?, ?, ?)`,
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
      `SELECT seq, event_time, event_name, principal, key_arns, usage FROM audit_events WHERE seq > ? ORDER BY seq ${BOUND_LIMIT}`,
    ),
    usageAt: log.prepare<[number], Omit<KeyUsageDbRow, 'key_arn'>>(
      `SELECT event_name AS operation, event_time, event_id, request_id FROM audit_events WHERE seq = ?`,
    ),
  };
}
