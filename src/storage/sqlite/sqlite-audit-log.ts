import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  type AuditFilter,
  type AuditLog,
  type ChainHead,
  type DigestRow,
  GENESIS_HASH,
  type KeyUsageRow,
  type Linker,
  type NewAuditEvent,
  type RangeStats,
  type StoredAuditEvent,
} from '../audit-log.js';
import { applyMigrations } from './migrations.js';

interface EventRow {
  seq: number;
  event_id: string;
  request_id: string;
  event_time: number;
  event_name: string;
  principal: string | null;
  account_id: string;
  error_code: string | null;
  read_only: number | null;
  key_arns: string;
  usage: number;
  record: string;
  prev_hash: string;
  hash: string;
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

interface HeadRow {
  seq: number;
  hash: string;
  started_at: number;
}

interface DigestDbRow {
  number: number;
  from_seq: number;
  to_seq: number;
  created_at: number;
  doc: string;
}

/** How often the lookup indexes catch up with the appended records when nothing reads them. */
const INDEX_INTERVAL_MS = 50;

const EVENT_COLS =
  'seq, event_id, request_id, event_time, event_name, principal, account_id, error_code, read_only, key_arns, usage, record, prev_hash, hash';

/** Records indexed per transaction when the indexes catch up. */
const INDEX_CHUNK = 500;

/**
 * The audit log in a SQLite file — by default the store's own file, on a connection of its own.
 * WAL and synchronous=FULL: an appended batch is on stable storage when `append` returns, with one
 * fsync for the whole batch (the writer in src/audit batches concurrent requests).
 *
 * The append writes the records and the chain head only. The lookup indexes (audit_index, the
 * records' keys, each key's last use) are brought up to date after it — every INDEX_INTERVAL_MS,
 * and before anything reads them — in transactions of their own: on the request path they cost a
 * sixth of Encrypt's throughput at concurrency 16 (docs/benchmarks.md), and a key used by many
 * requests in a row gets one last-use update for all of them. They are derived from audit_events
 * alone, so these transactions need not reach the disk before they return (synchronous=NORMAL:
 * the next append's fsync carries them); after a crash the indexes resume from
 * audit_index_state.indexed_seq, which commits with them.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepare>;

  /** Started by the first append: a process that only reads the log indexes when it reads. */
  #indexTimer: NodeJS.Timeout | undefined;

  private constructor(
    db: Database.Database,
    /** The file, for another connection to it (the audit layer appends on a thread of its own). */
    readonly path: string,
  ) {
    this.#db = db;
    this.#s = prepare(db);
  }

  #startIndexing(): void {
    this.#indexTimer = setInterval(() => {
      try {
        this.#catchUpIndexes();
      } catch {
        // Busy or unwritable: the next tick, or the next read, tries again.
      }
    }, INDEX_INTERVAL_MS);
    this.#indexTimer.unref();
  }

  /** Indexes every record appended so far (by any process), a chunk per transaction. */
  #catchUpIndexes(): void {
    while (this.#indexChunk()) {
      // until the indexes reach the head
    }
  }

  /** Indexes up to INDEX_CHUNK records; false once none were left. */
  #indexChunk(): boolean {
    if (this.#s.indexedSeq.get() === this.#s.head.get()?.seq) return false;
    this.#db.pragma('synchronous = NORMAL');
    try {
      return this.#db
        .transaction(() => {
          const after = this.#s.indexedSeq.get() ?? 0;
          const rows = this.#s.toIndex.all(after, INDEX_CHUNK);
          if (rows.length === 0) return false;
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
    } finally {
      this.#db.pragma('synchronous = FULL');
    }
  }

  static open(path: string, now: () => number = Date.now): SqliteAuditLog {
    closeSync(openSync(path, 'a', 0o600));
    const db = new Database(path, { timeout: 5000 });
    try {
      db.pragma('busy_timeout = 5000');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal')
        throw new Error(`SQLite audit log ${path}: cannot switch to WAL mode (got '${String(mode)}')`);
      // FULL: a record acknowledged to the request path must survive power loss. The commit's fsync
      // runs on the event loop; moving it to libuv's pool (synchronous=NORMAL plus an fdatasync of
      // the WAL before acknowledging) was measured and did not pay here: the same throughput at
      // concurrency 16, a fifth less at concurrency 1 (docs/benchmarks.md).
      db.pragma('synchronous = FULL');
      applyMigrations(db);
      db.prepare(
        'INSERT INTO audit_head (id, seq, hash, started_at) VALUES (1, 0, ?, ?) ON CONFLICT (id) DO NOTHING',
      ).run(GENESIS_HASH, now());
      return new SqliteAuditLog(db, path);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async append(events: readonly NewAuditEvent[], link: Linker): Promise<void> {
    if (events.length === 0) return;
    if (this.#indexTimer === undefined) this.#startIndexing();
    this.#db
      .transaction(() => {
        const head = this.#head();
        let { seq, hash } = head;
        for (const e of events) {
          seq += 1;
          const prev = hash;
          hash = link(prev, e.record);
          this.#s.insertEvent.run(
            seq,
            e.eventId,
            e.requestId,
            e.eventTime,
            e.eventName,
            e.principalArn ?? null,
            e.accountId,
            e.errorCode ?? null,
            e.readOnly === undefined ? null : e.readOnly ? 1 : 0,
            e.keyArns.join(' '),
            e.countsAsUsage ? 1 : 0,
            e.record,
            prev,
            hash,
          );
        }
        this.#s.setHead.run(seq, hash);
      })
      .immediate();
  }

  #head(): HeadRow {
    const head = this.#s.head.get();
    if (head === undefined) throw new Error('the audit head row is missing');
    return head;
  }

  async head(): Promise<ChainHead> {
    const { seq, hash } = this.#head();
    return { seq, hash };
  }

  async trackingStart(): Promise<number> {
    return this.#head().started_at;
  }

  async readRange(afterSeq: number, limit: number): Promise<StoredAuditEvent[]> {
    return this.#s.readRange.all(afterSeq, limit).map(parseEvent);
  }

  async getEvent(seq: number): Promise<StoredAuditEvent | undefined> {
    const row = this.#s.getEvent.get(seq);
    return row && parseEvent(row);
  }

  async firstSeqAtOrAfter(time: number): Promise<number | undefined> {
    this.#catchUpIndexes();
    return this.#s.firstSeqAtOrAfter.get(time) ?? undefined;
  }

  async lookup(filter: AuditFilter, limit: number, beforeSeq?: number): Promise<StoredAuditEvent[]> {
    this.#catchUpIndexes();
    const where: string[] = ['e.seq < ?'];
    const params: unknown[] = [beforeSeq ?? Number.MAX_SAFE_INTEGER];
    let from = 'audit_index x JOIN audit_events e ON e.seq = x.seq';
    // Ordered by the seq of the index that drives the search, so that SQLite walks it backwards
    // instead of sorting every match.
    let order = 'x.seq';
    if (filter.keyArn !== undefined) {
      from = 'audit_event_keys k JOIN audit_index x ON x.seq = k.seq JOIN audit_events e ON e.seq = k.seq';
      order = 'k.seq';
      where.push('k.key_arn = ?');
      params.push(filter.keyArn);
    }
    const eq = (column: string, value: unknown) => {
      where.push(`${column} = ?`);
      params.push(value);
    };
    if (filter.eventName !== undefined) eq('x.event_name', filter.eventName);
    if (filter.principalArn !== undefined) eq('x.principal', filter.principalArn);
    if (filter.errorCode !== undefined) eq('e.error_code', filter.errorCode);
    if (filter.readOnly !== undefined) eq('e.read_only', filter.readOnly ? 1 : 0);
    if (filter.accountId !== undefined) eq('e.account_id', filter.accountId);
    if (filter.from !== undefined) {
      where.push('x.event_time >= ?');
      params.push(filter.from);
    }
    if (filter.to !== undefined) {
      where.push('x.event_time < ?');
      params.push(filter.to);
    }
    const cols = EVENT_COLS.split(', ')
      .map((c) => `e.${c}`)
      .join(', ');
    const sql = `SELECT ${cols} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} DESC LIMIT ?`;
    return this.#db
      .prepare<unknown[], EventRow>(sql)
      .all(...params, limit)
      .map(parseEvent);
  }

  async keyLastUsage(keyArn: string): Promise<KeyUsageRow | undefined> {
    this.#catchUpIndexes();
    const row = this.#s.getUsage.get(keyArn);
    return (
      row && {
        keyArn: row.key_arn,
        operation: row.operation,
        eventTime: row.event_time,
        eventId: row.event_id,
        requestId: row.request_id,
      }
    );
  }

  async addDigest(
    make: (previous: DigestRow | undefined, head: ChainHead, stats: RangeStats) => DigestRow | undefined,
  ): Promise<DigestRow | undefined> {
    return this.#db
      .transaction(() => {
        const last = this.#s.lastDigest.get();
        const previous = last && parseDigest(last);
        const head = this.#head();
        const after = previous?.toSeq ?? 0;
        const s = this.#s.stats.get(after, head.seq);
        const stats: RangeStats = {
          count: s?.count ?? 0,
          oldestEventTime: s?.oldest ?? undefined,
          newestEventTime: s?.newest ?? undefined,
        };
        const digest = make(previous, { seq: head.seq, hash: head.hash }, stats);
        if (digest !== undefined) {
          this.#s.insertDigest.run(digest.number, digest.fromSeq, digest.toSeq, digest.createdAt, digest.doc);
        }
        return digest;
      })
      .immediate();
  }

  async digests(): Promise<DigestRow[]> {
    return this.#s.digests.all().map(parseDigest);
  }

  async prune(throughSeq: number): Promise<number> {
    // Indexed first, so that a pruned record's key keeps its last use.
    this.#catchUpIndexes();
    return this.#db
      .transaction(() => {
        this.#s.pruneKeys.run(throughSeq);
        this.#s.pruneIndex.run(throughSeq);
        return this.#s.pruneEvents.run(throughSeq).changes;
      })
      .immediate();
  }

  async close(): Promise<void> {
    clearInterval(this.#indexTimer);
    if (!this.#db.open) return;
    try {
      this.#catchUpIndexes();
    } catch {
      // Left for the next process that opens the log.
    }
    this.#db.close();
  }
}

function prepare(db: Database.Database) {
  return {
    head: db.prepare<[], HeadRow>('SELECT seq, hash, started_at FROM audit_head WHERE id = 1'),
    setHead: db.prepare<[number, string]>('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1'),
    insertEvent: db.prepare<unknown[]>(
      `INSERT INTO audit_events (${EVENT_COLS}) VALUES (${EVENT_COLS.split(', ')
        .map(() => '?')
        .join(', ')})`,
    ),
    insertEventKey: db.prepare<[string, number]>('INSERT OR IGNORE INTO audit_event_keys (key_arn, seq) VALUES (?, ?)'),
    upsertUsage: db.prepare<[string, string, number, string, string]>(
      `INSERT INTO audit_key_usage (key_arn, operation, event_time, event_id, request_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key_arn) DO UPDATE SET operation = excluded.operation, event_time = excluded.event_time,
         event_id = excluded.event_id, request_id = excluded.request_id`,
    ),
    getUsage: db.prepare<
      [string],
      { key_arn: string; operation: string; event_time: number; event_id: string; request_id: string }
    >('SELECT key_arn, operation, event_time, event_id, request_id FROM audit_key_usage WHERE key_arn = ?'),
    readRange: db.prepare<[number, number], EventRow>(
      `SELECT ${EVENT_COLS} FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`,
    ),
    getEvent: db.prepare<[number], EventRow>(`SELECT ${EVENT_COLS} FROM audit_events WHERE seq = ?`),
    firstSeqAtOrAfter: db
      .prepare<[number], number | null>('SELECT MIN(seq) FROM audit_index WHERE event_time >= ?')
      .pluck(),
    indexedSeq: db.prepare<[], number>('SELECT indexed_seq FROM audit_index_state WHERE id = 1').pluck(),
    setIndexedSeq: db.prepare<[number]>('UPDATE audit_index_state SET indexed_seq = ? WHERE id = 1'),
    toIndex: db.prepare<[number, number], IndexRow>(
      `SELECT seq, event_time, event_name, principal, key_arns, usage, event_id, request_id
       FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`,
    ),
    insertIndex: db.prepare<[number, number, string, string | null]>(
      'INSERT OR IGNORE INTO audit_index (seq, event_time, event_name, principal) VALUES (?, ?, ?, ?)',
    ),
    pruneIndex: db.prepare<[number]>('DELETE FROM audit_index WHERE seq <= ?'),
    stats: db.prepare<[number, number], { count: number; oldest: number | null; newest: number | null }>(
      `SELECT COUNT(*) AS count, MIN(event_time) AS oldest, MAX(event_time) AS newest
       FROM audit_events WHERE seq > ? AND seq <= ?`,
    ),
    lastDigest: db.prepare<[], DigestDbRow>(
      'SELECT number, from_seq, to_seq, created_at, doc FROM audit_digests ORDER BY number DESC LIMIT 1',
    ),
    digests: db.prepare<[], DigestDbRow>(
      'SELECT number, from_seq, to_seq, created_at, doc FROM audit_digests ORDER BY number',
    ),
    insertDigest: db.prepare<[number, number, number, number, string]>(
      'INSERT INTO audit_digests (number, from_seq, to_seq, created_at, doc) VALUES (?, ?, ?, ?, ?)',
    ),
    pruneKeys: db.prepare<[number]>('DELETE FROM audit_event_keys WHERE seq <= ?'),
    pruneEvents: db.prepare<[number]>('DELETE FROM audit_events WHERE seq <= ?'),
  };
}

function parseEvent(r: EventRow): StoredAuditEvent {
  return {
    seq: r.seq,
    eventId: r.event_id,
    requestId: r.request_id,
    eventTime: r.event_time,
    eventName: r.event_name,
    principalArn: r.principal ?? undefined,
    accountId: r.account_id,
    errorCode: r.error_code ?? undefined,
    readOnly: r.read_only === null ? undefined : r.read_only === 1,
    keyArns: r.key_arns === '' ? [] : r.key_arns.split(' '),
    countsAsUsage: r.usage === 1,
    record: r.record,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function parseDigest(r: DigestDbRow): DigestRow {
  return { number: r.number, fromSeq: r.from_seq, toSeq: r.to_seq, createdAt: r.created_at, doc: r.doc };
}
