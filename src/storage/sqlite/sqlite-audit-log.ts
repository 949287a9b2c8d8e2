import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import {
  type AuditFilter,
  type AuditLog,
  type ChainHead,
  type DigestDbRow,
  type DigestRow,
  type EventDbRow,
  GENESIS_HASH,
  type HeadRow,
  type KeyUsageDbRow,
  type KeyUsageRow,
  type Linker,
  type NewAuditEvent,
  parseDigestRow,
  parseEventRow,
  parseKeyUsageRow,
  type RangeStats,
  type StoredAuditEvent,
  undigestedAfter,
  undigestedStats,
} from '../audit-log.js';
import { auditIndexPath, SqliteAuditIndex } from './audit-index.js';
import type {
  CheckpointReply,
  IndexThreadOptions,
  IndexThreadReply,
  IndexThreadRequest,
  IndexThreadWork,
} from './audit-index-thread.js';
import { AuditLookupReader } from './audit-lookup-reader.js';
import { BOUND_LIMIT } from './bound-limit.js';
import { applyMigrations } from './migrations.js';
import { connectWal, type SharedConnection, type SqliteConnections, writeTransactions } from './wal-database.js';

/** How often the index thread brings the lookup indexes up to date with the appended records. */
const INDEX_INTERVAL_MS = 25;

/** How long after the index thread failed an append may start another. */
const INDEX_THREAD_RETRY_MS = 5_000;

/**
 * About how many pages of WAL the appends write between two checkpoints of it: SQLite's own
 * automatic checkpoint interval, but the checkpoint runs on the index thread (`#checkpoint`). On
 * the event loop, SQLite's checkpoint after the commit that crossed the line stopped every request
 * in flight for 5–9 ms, a few times a second under load: most of the p99 at concurrency 16
 * (docs/performance-log.md).
 */
const CHECKPOINT_PAGES = 1_000;

/**
 * The connection's own automatic checkpoint: a backstop, for when the thread's do not keep up and
 * for the store's writes on the same connection.
 */
const BACKSTOP_CHECKPOINT_PAGES = 10_000;

/** SQLite's page size, the default, which the log's file keeps. */
const PAGE_BYTES = 4096;

const EVENT_COLS =
  'seq, event_id, request_id, event_time, event_name, principal, account_id, error_code, read_only, key_arns, usage, record, prev_hash, hash';

export interface SqliteAuditLogOptions {
  now?: () => number;
  /** Index on a thread of its own from the first append (the default); else only before reads. */
  indexInBackground?: boolean;
  /** Shares the file's connection with the other adapters on it (the store's, by default). */
  connections?: SqliteConnections;
}

/**
 * The audit log in a SQLite file — by default the store's own file, and in a server on the store's
 * connection (SqliteConnections: a commit by another connection would empty the store's page cache).
 * WAL and synchronous=FULL: an appended batch is on stable storage when `append` returns, with one
 * fsync for the whole batch (the writer in src/audit batches concurrent requests). The WAL's
 * checkpoints run on the index thread (CHECKPOINT_PAGES), not after a commit on the event loop.
 *
 * The append writes the records and the chain head only. The lookup indexes (the records' times,
 * names and principals, their keys, each key's last use) live in a file of their own
 * (audit-index.ts) and are brought up to date after the append: by a thread of their own every
 * INDEX_INTERVAL_MS from the first append (audit-index-thread.ts), and by any process before it
 * reads them. On the event loop they cost a tenth of Encrypt's throughput at concurrency 16 and a
 * millisecond of its p99, more with many keys in use (docs/performance-log.md).
 */
export class SqliteAuditLog implements AuditLog {
  readonly #connection: SharedConnection;
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepare>;
  /** Runs a function in a write transaction (`writeTransactions`). */
  readonly #tx: <T>(fn: () => T) => T;
  readonly #index: SqliteAuditIndex;
  /** Runs lookups, on a thread in a process that indexes in the background. */
  readonly #lookups: AuditLookupReader;
  #indexThread: Worker | undefined;
  /** Reads waiting for the index thread to catch up, by request number (see `#indexed`). */
  readonly #waitingForIndex = new Map<number, (reply: IndexThreadReply | undefined) => void>();
  #nextIndexRequest = 1;
  /** After a thread failed, when the next append may start another (not on every append). */
  #indexThreadRetryAt = 0;
  readonly #indexInBackground: boolean;
  #closed = false;
  /** About how many WAL pages the appends wrote since the last checkpoint was asked for. */
  #walPages = 0;

  private constructor(
    connection: SharedConnection,
    index: SqliteAuditIndex,
    /** The file, for the other connections to it: the index thread's and the lookups'. */
    readonly path: string,
    indexInBackground: boolean,
  ) {
    this.#connection = connection;
    this.#db = connection.db;
    this.#s = prepare(connection.db);
    this.#tx = writeTransactions(connection.db);
    this.#index = index;
    this.#indexInBackground = indexInBackground;
    this.#lookups = new AuditLookupReader({ logPath: path, indexPath: auditIndexPath(path) }, indexInBackground);
  }

  /** Started by the first append: a process that only reads the log indexes when it reads. */
  #startIndexThread(): void {
    const thread = new Worker(new URL('./audit-index-thread.js', import.meta.url), {
      workerData: {
        logPath: this.path,
        indexPath: auditIndexPath(this.path),
        intervalMs: INDEX_INTERVAL_MS,
      } satisfies IndexThreadOptions,
    });
    thread.unref();
    thread.on('message', (reply: IndexThreadReply | CheckpointReply) => {
      if (reply === 'checkpointed') this.#checkpointHere();
      else this.#settleIndexWait(reply.caughtUp, reply);
    });
    // A thread that fails is started again by an append INDEX_THREAD_RETRY_MS later; its waiting
    // reads, and any read meanwhile, catch up themselves.
    const lost = () => {
      if (this.#indexThread === thread) {
        this.#indexThread = undefined;
        this.#indexThreadRetryAt = Date.now() + INDEX_THREAD_RETRY_MS;
      }
      for (const id of [...this.#waitingForIndex.keys()]) this.#settleIndexWait(id, undefined);
    };
    thread.on('error', lost);
    thread.on('exit', lost);
    this.#indexThread = thread;
  }

  /**
   * Brings the indexes up to date before a read. With the index thread running, the thread does it
   * and the event loop waits for its answer without blocking; otherwise (a process that only reads,
   * or a thread that failed) it is done here.
   */
  async #indexed(): Promise<void> {
    if ((await this.#askIndexThread())?.ok !== true) this.#index.catchUp();
  }

  /**
   * Asks the index thread to catch up, and then to do `then` (audit-index-thread.ts): its reply, or
   * undefined without a thread or when the thread went away meanwhile.
   */
  async #askIndexThread(then?: IndexThreadWork): Promise<IndexThreadReply | undefined> {
    const thread = this.#indexThread;
    if (thread === undefined) return undefined;
    const id = this.#nextIndexRequest++;
    const reply = new Promise<IndexThreadReply | undefined>((resolve) => this.#waitingForIndex.set(id, resolve));
    thread.ref();
    thread.postMessage((then === undefined ? { catchUp: id } : { ...then, catchUp: id }) satisfies IndexThreadRequest);
    return reply;
  }

  #settleIndexWait(id: number, reply: IndexThreadReply | undefined): void {
    const resolve = this.#waitingForIndex.get(id);
    if (resolve === undefined) return;
    this.#waitingForIndex.delete(id);
    if (this.#waitingForIndex.size === 0) this.#indexThread?.unref();
    resolve(reply);
  }

  static open(path: string, options: SqliteAuditLogOptions = {}): SqliteAuditLog {
    // FULL: a record acknowledged to the request path must survive power loss. The commit's fsync
    // runs on the event loop; moving it to libuv's pool (synchronous=NORMAL plus an fdatasync of
    // the WAL before acknowledging) was measured and did not pay here: the same throughput at
    // concurrency 16, a fifth less at concurrency 1 (docs/performance-log.md).
    const connection = connectWal(path, 'SQLite audit log', options.connections);
    const db = connection.db;
    try {
      // On the store's connection too, when shared: a backstop (see BACKSTOP_CHECKPOINT_PAGES).
      db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      applyMigrations(db);
      db.prepare(
        'INSERT INTO audit_head (id, seq, hash, started_at) VALUES (1, 0, ?, ?) ON CONFLICT (id) DO NOTHING',
      ).run(GENESIS_HASH, (options.now ?? Date.now)());
      const index = SqliteAuditIndex.open(auditIndexPath(path), db);
      try {
        adoptMovedKeyUsage(db, index);
      } catch (err) {
        index.close();
        throw err;
      }
      return new SqliteAuditLog(connection, index, path, options.indexInBackground ?? true);
    } catch (err) {
      connection.release();
      throw err;
    }
  }

  async append(events: readonly NewAuditEvent[], link: Linker): Promise<void> {
    if (events.length === 0) return;
    this.#tx(() => this.#writeBatch(events, link));
    // After the commit: a closed or failing log starts no thread.
    this.#ensureIndexThread();
    this.#walPages += walPagesOf(events);
    if (this.#walPages >= CHECKPOINT_PAGES) {
      this.#walPages = 0;
      this.#checkpoint();
    }
  }

  /**
   * Copies the WAL's committed frames into the database file, and syncs it (PASSIVE checkpoints:
   * they wait for no reader or writer). With an index thread, in two steps: the thread copies and
   * syncs what is there (audit-index-thread.ts), and once it answers, the event loop copies the
   * frames committed meanwhile (0.7–0.8 ms). SQLite starts the WAL from its beginning again only
   * in a write that begins with every frame copied, which under load the thread's checkpoint never
   * leaves: without the second step the WAL grew to the backstop's 10,000 pages before the event
   * loop's own checkpoint, 10–20 ms, started it over. The records are durable already; a checkpoint
   * that fails is left to the next one, or to the connection's backstop.
   */
  #checkpoint(): void {
    if (this.#indexThread !== undefined) this.#indexThread.postMessage('checkpoint' satisfies IndexThreadRequest);
    else this.#checkpointHere();
  }

  #checkpointHere(): void {
    try {
      this.#db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // See above.
    }
  }

  /** The batch's records, each linked to the one before, and the chain head after them. */
  #writeBatch(events: readonly NewAuditEvent[], link: Linker): void {
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
    const { oldest, newest } = undigestedAfter(head, events);
    this.#s.setHead.run(seq, hash, oldest, newest);
  }

  /** Starts the index thread of a process that indexes in the background, unless it failed lately. */
  #ensureIndexThread(): void {
    if (
      this.#indexThread === undefined &&
      this.#indexInBackground &&
      this.#db.open &&
      Date.now() >= this.#indexThreadRetryAt
    ) {
      this.#startIndexThread();
    }
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
    return this.#s.readRange.all(afterSeq, limit).map(parseEventRow);
  }

  async getEvent(seq: number): Promise<StoredAuditEvent | undefined> {
    const row = this.#s.getEvent.get(seq);
    return row && parseEventRow(row);
  }

  async firstSeqAtOrAfter(time: number): Promise<number | undefined> {
    await this.#indexed();
    return this.#index.firstSeqAtOrAfter(time);
  }

  async lookup(filter: AuditFilter, limit: number, beforeSeq?: number): Promise<StoredAuditEvent[]> {
    await this.#indexed();
    const where: string[] = ['e.seq < ?'];
    const params: unknown[] = [beforeSeq ?? Number.MAX_SAFE_INTEGER];
    let from = 'ix.audit_index x JOIN audit_events e ON e.seq = x.seq';
    // Ordered by the seq of the index that drives the search, so that SQLite walks it backwards
    // instead of sorting every match.
    let order = 'x.seq';
    if (filter.keyArn !== undefined) {
      from = 'ix.audit_event_keys k JOIN ix.audit_index x ON x.seq = k.seq JOIN audit_events e ON e.seq = k.seq';
      order = 'k.seq';
      where.push('k.key_ref = (SELECT ref FROM ix.audit_keys WHERE key_arn = ?)');
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
    const sql = `SELECT ${cols} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} DESC ${BOUND_LIMIT}`;
    return ((await this.#lookups.all(sql, [...params, limit])) as EventDbRow[]).map(parseEventRow);
  }

  async keyLastUsage(keyArn: string): Promise<KeyUsageRow | undefined> {
    // On the index thread when there is one: the walk back to a key's last use reads its index
    // rows (10 ms after 200,000 records on the key that were not uses).
    const reply = await this.#askIndexThread({ keyUsage: keyArn });
    let row: KeyUsageDbRow | undefined;
    if (reply?.ok === true && reply.keyUsage !== undefined) row = reply.keyUsage ?? undefined;
    else {
      this.#index.catchUp();
      row = this.#index.keyUsage(keyArn);
    }
    return row && parseKeyUsageRow(row);
  }

  async addDigest(
    make: (previous: DigestRow | undefined, head: ChainHead, stats: RangeStats) => DigestRow | undefined,
  ): Promise<DigestRow | undefined> {
    return this.#db
      .transaction(() => {
        const last = this.#s.lastDigest.get();
        const previous = last && parseDigestRow(last);
        const head = this.#head();
        const digest = make(previous, { seq: head.seq, hash: head.hash }, undigestedStats(head, previous));
        if (digest !== undefined) {
          this.#s.insertDigest.run(digest.number, digest.fromSeq, digest.toSeq, digest.createdAt, digest.doc);
          this.#s.clearUndigested.run();
        }
        return digest;
      })
      .immediate();
  }

  async digests(): Promise<DigestRow[]> {
    return this.#s.digests.all().map(parseDigestRow);
  }

  async digestsFrom(seq: number, limit: number): Promise<DigestRow[]> {
    return this.#s.digestsFrom.all(seq, limit).map(parseDigestRow);
  }

  /**
   * Indexed, and each key's last use among the records kept, synced, first. The index rows go after
   * the records: a crash in between leaves index rows that no lookup joins to a record. The index
   * work runs on the index thread when there is one: with a key per record it is most of a step
   * (2,000 records: ~110 ms of the event loop in all, ~15 ms of it the delete that stays here). A
   * process that prunes without appending (the cluster worker that runs the schedulers, `trent audit
   * prune`) starts one.
   */
  async prune(throughSeq: number): Promise<number> {
    this.#ensureIndexThread();
    if ((await this.#askIndexThread({ keepUsageThrough: throughSeq }))?.done !== true) {
      this.#index.catchUp();
      this.#index.keepUsageThrough(throughSeq);
    }
    const pruned = this.#withoutSecureDelete(() =>
      this.#db.transaction(() => this.#s.pruneEvents.run(throughSeq).changes).immediate(),
    );
    if ((await this.#askIndexThread({ pruneThrough: throughSeq }))?.done !== true) this.#index.prune(throughSeq);
    return pruned;
  }

  /**
   * Runs `fn` with `secure_delete` off. On the store's connection (SqliteConnections) it is on, so
   * that destroyed key material is zeroed; pruned records need not be, and zeroing their pages
   * doubled a step's stop of the event loop (2,000 records, in process: 19 → 36 ms).
   */
  #withoutSecureDelete<T>(fn: () => T): T {
    const previous = Number(this.#db.pragma('secure_delete', { simple: true }));
    if (previous === 0) return fn();
    this.#db.pragma('secure_delete = OFF');
    try {
      return fn();
    } finally {
      this.#db.pragma(`secure_delete = ${previous}`);
    }
  }

  async close(): Promise<void> {
    const thread = this.#indexThread;
    this.#indexThread = undefined;
    if (thread !== undefined) {
      await new Promise<void>((resolve) => {
        thread.once('exit', () => resolve());
        thread.ref();
        thread.postMessage('close' satisfies IndexThreadRequest);
      });
    }
    await this.#lookups.close();
    if (this.#closed) return;
    this.#closed = true;
    if (this.#db.open) {
      try {
        this.#index.catchUp();
      } catch {
        // Left for the next process that opens the log.
      }
      this.#index.close();
    }
    this.#connection.release();
  }
}

/**
 * About how many pages of WAL a commit of `events` writes: the pages their rows fill (each row a
 * record's text and ~300 bytes of other columns), the last page of the table they start on, and the
 * head row's page. An estimate (measured: ~6.7 pages a commit of 16 records, here 9); the backstop
 * catches what it misses.
 */
function walPagesOf(events: readonly NewAuditEvent[]): number {
  let bytes = 0;
  for (const e of events) bytes += e.record.length + 300;
  return 2 + Math.ceil(bytes / PAGE_BYTES);
}

/**
 * Keys' last uses recorded by an older Trent in the log's own file (migration 10 set them aside)
 * move to the index; the rest of the old indexes is rebuilt from the records.
 */
function adoptMovedKeyUsage(db: Database.Database, index: SqliteAuditIndex): void {
  const moved = db
    .prepare<[], number>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_key_usage_moved'")
    .pluck()
    .get();
  if (moved === 0) return;
  index.adoptKeyUsage(
    db
      .prepare<[], KeyUsageDbRow>(
        'SELECT key_arn, operation, event_time, event_id, request_id FROM audit_key_usage_moved',
      )
      .all(),
  );
  db.exec('DROP TABLE IF EXISTS audit_key_usage_moved');
}

function prepare(db: Database.Database) {
  return {
    head: db.prepare<[], HeadRow>(
      'SELECT seq, hash, started_at, undigested_oldest, undigested_newest FROM audit_head WHERE id = 1',
    ),
    setHead: db.prepare<[number, string, number | null, number | null]>(
      'UPDATE audit_head SET seq = ?, hash = ?, undigested_oldest = ?, undigested_newest = ? WHERE id = 1',
    ),
    clearUndigested: db.prepare<[]>(
      'UPDATE audit_head SET undigested_oldest = NULL, undigested_newest = NULL WHERE id = 1',
    ),
    insertEvent: db.prepare<unknown[]>(
      `INSERT INTO audit_events (${EVENT_COLS}) VALUES (${EVENT_COLS.split(', ')
        .map(() => '?')
        .join(', ')})`,
    ),
    readRange: db.prepare<[number, number], EventDbRow>(
      `SELECT ${EVENT_COLS} FROM audit_events WHERE seq > ? ORDER BY seq ${BOUND_LIMIT}`,
    ),
    getEvent: db.prepare<[number], EventDbRow>(`SELECT ${EVENT_COLS} FROM audit_events WHERE seq = ?`),
    lastDigest: db.prepare<[], DigestDbRow>(
      'SELECT number, from_seq, to_seq, created_at, doc FROM audit_digests ORDER BY number DESC LIMIT 1',
    ),
    digests: db.prepare<[], DigestDbRow>(
      'SELECT number, from_seq, to_seq, created_at, doc FROM audit_digests ORDER BY number',
    ),
    digestsFrom: db.prepare<[number, number], DigestDbRow>(
      `SELECT number, from_seq, to_seq, created_at, doc FROM audit_digests WHERE to_seq >= ? ORDER BY to_seq ${BOUND_LIMIT}`,
    ),
    insertDigest: db.prepare<[number, number, number, number, string]>(
      'INSERT INTO audit_digests (number, from_seq, to_seq, created_at, doc) VALUES (?, ?, ?, ?, ?)',
    ),
    pruneEvents: db.prepare<[number]>('DELETE FROM audit_events WHERE seq <= ?'),
  };
}
