import type pg from 'pg';
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
  undigestedStats,
} from '../audit-log.js';
import type { PostgresTarget } from './connection.js';
import { inTransaction, openMigratedPool, withClient } from './pool-client.js';

const EVENT_COLUMNS = [
  'seq',
  'event_id',
  'request_id',
  'event_time',
  'event_name',
  'principal',
  'account_id',
  'error_code',
  'read_only',
  'key_arns',
  'usage',
  'record',
  'prev_hash',
  'hash',
] as const;
const EVENT_COLS = EVENT_COLUMNS.join(', ');
const DIGEST_COLS = 'number, from_seq, to_seq, created_at, doc';

/**
 * Appends a linked batch in one statement, which is its own transaction. The UPDATE locks the head
 * row (after another node's append, it waits for that node's commit and sees its head) and moves
 * it to `$1, $2` only from `$5, $6`, where the appender last saw it; the records, their keys and
 * the keys' last use go in only if it moved. It returns the head either way: a miss tells the
 * appender where to link next. The undigested span widens from the row's own values: a digest
 * signed meanwhile has reset them. Arrays, not a parameter per value: one statement text for every
 * batch size, prepared once per connection.
 */
const APPEND_SQL = `
  WITH head AS (
    UPDATE audit_head SET
      seq = CASE WHEN seq = $5 AND hash = $6 THEN $1 ELSE seq END,
      hash = CASE WHEN seq = $5 AND hash = $6 THEN $2 ELSE hash END,
      undigested_oldest = CASE WHEN seq = $5 AND hash = $6
        THEN LEAST(undigested_oldest, $3::bigint) ELSE undigested_oldest END,
      undigested_newest = CASE WHEN seq = $5 AND hash = $6
        THEN GREATEST(undigested_newest, $4::bigint) ELSE undigested_newest END
    WHERE id = 1
    RETURNING seq, hash
  ), moved AS (
    SELECT FROM head WHERE seq = $1 AND hash = $2
  ), events AS (
    INSERT INTO audit_events (${EVENT_COLS})
    SELECT * FROM unnest($7::bigint[], $8::text[], $9::text[], $10::bigint[], $11::text[], $12::text[],
      $13::text[], $14::text[], $15::boolean[], $16::text[], $17::boolean[], $18::text[], $19::text[], $20::text[])
    WHERE EXISTS (SELECT FROM moved)
  ), event_keys AS (
    INSERT INTO audit_event_keys (key_arn, seq)
    SELECT * FROM unnest($21::text[], $22::bigint[]) WHERE EXISTS (SELECT FROM moved)
    ON CONFLICT DO NOTHING
  ), key_usage AS (
    INSERT INTO audit_key_usage (key_arn, operation, event_time, event_id, request_id)
    SELECT * FROM unnest($23::text[], $24::text[], $25::bigint[], $26::text[], $27::text[])
    WHERE EXISTS (SELECT FROM moved)
    ON CONFLICT (key_arn) DO UPDATE SET operation = excluded.operation, event_time = excluded.event_time,
      event_id = excluded.event_id, request_id = excluded.request_id
  )
  SELECT seq, hash FROM head`;

/**
 * Tries before an append waits for the head's row lock instead (PostgresAuditLog.append): from the
 * head this node left, then from the head the miss returned. Two misses and the lock's transaction
 * make six round trips, still fewer than the seven of every append before (docs/benchmarks.md).
 */
const APPEND_ATTEMPTS = 2;

/**
 * The audit log in PostgreSQL, shared by every node of a deployment (the SQLite log's twin: the same
 * tables, migration 3 of the PostgreSQL schema). `append` moves the chain head and inserts the
 * batch in one statement (APPEND_SQL) that takes the head's row lock, so appenders on several nodes
 * queue on that one row and form one chain with no gap or fork; a resolved append is committed (and
 * durable, with PostgreSQL's default synchronous_commit).
 */
export class PostgresAuditLog implements AuditLog {
  readonly #pool: pg.Pool;
  readonly #target: PostgresTarget;
  #closed: Promise<void> | undefined;
  /** The chain head as this process's last append left it; undefined before one, and after a failure. */
  #head: ChainHead | undefined;

  private constructor(pool: pg.Pool, target: PostgresTarget) {
    this.#pool = pool;
    this.#target = target;
  }

  static async open(
    spec: string,
    options: { now?: () => number; onBackgroundError?: (err: Error) => void } = {},
  ): Promise<PostgresAuditLog> {
    const { pool, target } = await openMigratedPool(spec, options.onBackgroundError, (client) =>
      client.query(
        'INSERT INTO audit_head (id, seq, hash, started_at) VALUES (1, 0, $1, $2) ON CONFLICT (id) DO NOTHING',
        [GENESIS_HASH, (options.now ?? Date.now)()],
      ),
    );
    return new PostgresAuditLog(pool, target);
  }

  async append(events: readonly NewAuditEvent[], link: Linker): Promise<void> {
    if (events.length === 0) return;
    // One round trip when this process moved the head last (one node, or the last to append), two
    // when another node moved it first; if that node moves it again in between, the batch waits
    // for the head's row lock instead, which it cannot miss.
    let from = this.#head;
    this.#head = undefined;
    const appended = await this.#withClient(async (client) => {
      for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
        from ??= await headRow(client, false);
        const batch = linkBatch(from, events, link);
        const head = await appendBatch(client, from, batch);
        if (head.seq === batch.head.seq && head.hash === batch.head.hash) return batch.head;
        from = head;
      }
      return undefined;
    });
    this.#head =
      appended ??
      (await this.#transaction(async (client) => {
        const locked = await headRow(client, true);
        const batch = linkBatch(locked, events, link);
        const head = await appendBatch(client, locked, batch);
        if (head.seq !== batch.head.seq) throw new Error('the audit head moved under its row lock');
        return batch.head;
      }));
  }

  async head(): Promise<ChainHead> {
    const { seq, hash } = await this.#withClient((client) => headRow(client, false));
    return { seq, hash };
  }

  async trackingStart(): Promise<number> {
    return (await this.#withClient((client) => headRow(client, false))).started_at;
  }

  async readRange(afterSeq: number, limit: number): Promise<StoredAuditEvent[]> {
    const rows = await this.#query<EventDbRow>(
      `SELECT ${EVENT_COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [afterSeq, limit],
    );
    return rows.map(parseEventRow);
  }

  async getEvent(seq: number): Promise<StoredAuditEvent | undefined> {
    const rows = await this.#query<EventDbRow>(`SELECT ${EVENT_COLS} FROM audit_events WHERE seq = $1`, [seq]);
    return rows[0] && parseEventRow(rows[0]);
  }

  async firstSeqAtOrAfter(time: number): Promise<number | undefined> {
    const rows = await this.#query<{ seq: number | null }>(
      'SELECT MIN(seq) AS seq FROM audit_events WHERE event_time >= $1',
      [time],
    );
    return rows[0]?.seq ?? undefined;
  }

  async lookup(filter: AuditFilter, limit: number, beforeSeq?: number): Promise<StoredAuditEvent[]> {
    const params: unknown[] = [beforeSeq ?? Number.MAX_SAFE_INTEGER];
    const where: string[] = ['e.seq < $1'];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      where.push(condition.replace('?', `$${params.length}`));
    };
    let from = 'audit_events e';
    if (filter.keyArn !== undefined) {
      from = 'audit_event_keys k JOIN audit_events e ON e.seq = k.seq';
      add('k.key_arn = ?', filter.keyArn);
    }
    if (filter.eventName !== undefined) add('e.event_name = ?', filter.eventName);
    if (filter.principalArn !== undefined) add('e.principal = ?', filter.principalArn);
    if (filter.errorCode !== undefined) add('e.error_code = ?', filter.errorCode);
    if (filter.readOnly !== undefined) add('e.read_only = ?', filter.readOnly);
    if (filter.accountId !== undefined) add('e.account_id = ?', filter.accountId);
    if (filter.from !== undefined) add('e.event_time >= ?', filter.from);
    if (filter.to !== undefined) add('e.event_time < ?', filter.to);
    params.push(limit);
    const cols = EVENT_COLUMNS.map((c) => `e.${c}`).join(', ');
    const sql = `SELECT ${cols} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY e.seq DESC LIMIT $${params.length}`;
    return (await this.#query<EventDbRow>(sql, params)).map(parseEventRow);
  }

  async keyLastUsage(keyArn: string): Promise<KeyUsageRow | undefined> {
    const rows = await this.#query<KeyUsageDbRow>(
      'SELECT key_arn, operation, event_time, event_id, request_id FROM audit_key_usage WHERE key_arn = $1',
      [keyArn],
    );
    const row = rows[0];
    return row && parseKeyUsageRow(row);
  }

  async addDigest(
    make: (previous: DigestRow | undefined, head: ChainHead, stats: RangeStats) => DigestRow | undefined,
  ): Promise<DigestRow | undefined> {
    return this.#transaction(async (client) => {
      // The head row lock orders this with appenders and with another node's digest run.
      const head = await headRow(client, true);
      const last = (
        await client.query<DigestDbRow>(`SELECT ${DIGEST_COLS} FROM audit_digests ORDER BY number DESC LIMIT 1`)
      ).rows[0];
      const previous = last && parseDigestRow(last);
      const digest = make(previous, { seq: head.seq, hash: head.hash }, undigestedStats(head, previous));
      if (digest !== undefined) {
        await client.query(`INSERT INTO audit_digests (${DIGEST_COLS}) VALUES ($1, $2, $3, $4, $5)`, [
          digest.number,
          digest.fromSeq,
          digest.toSeq,
          digest.createdAt,
          digest.doc,
        ]);
        await client.query('UPDATE audit_head SET undigested_oldest = NULL, undigested_newest = NULL WHERE id = 1');
      }
      return digest;
    });
  }

  async digests(): Promise<DigestRow[]> {
    return (await this.#query<DigestDbRow>(`SELECT ${DIGEST_COLS} FROM audit_digests ORDER BY number`, [])).map(
      parseDigestRow,
    );
  }

  async digestsFrom(seq: number, limit: number): Promise<DigestRow[]> {
    return (
      await this.#query<DigestDbRow>(
        `SELECT ${DIGEST_COLS} FROM audit_digests WHERE to_seq >= $1 ORDER BY to_seq LIMIT $2`,
        [seq, limit],
      )
    ).map(parseDigestRow);
  }

  async prune(throughSeq: number): Promise<number> {
    return this.#transaction(async (client) => {
      await client.query('DELETE FROM audit_event_keys WHERE seq <= $1', [throughSeq]);
      return (await client.query('DELETE FROM audit_events WHERE seq <= $1', [throughSeq])).rowCount ?? 0;
    });
  }

  async close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    return this.#closed;
  }

  async #query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    return (await this.#withClient((client) => client.query<R>(sql, params))).rows;
  }

  #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, this.#target, fn);
  }

  /** Borrows a connection; a broken one is destroyed, and connection failures become KMS errors. */
  #withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withClient(this.#pool, this.#target, fn);
  }
}

/** A batch linked onto a head: the head after it, and APPEND_SQL's parameters from $7 on. */
interface LinkedBatch {
  head: ChainHead;
  oldest: number;
  newest: number;
  columns: unknown[][];
}

function linkBatch(from: ChainHead, events: readonly NewAuditEvent[], link: Linker): LinkedBatch {
  let { seq, hash } = from;
  let oldest = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  const eventColumns: unknown[][] = EVENT_COLUMNS.map(() => []);
  const keyArns: string[] = [];
  const keySeqs: number[] = [];
  const usage = new Map<string, NewAuditEvent>();
  for (const e of events) {
    seq += 1;
    const prev = hash;
    hash = link(prev, e.record);
    oldest = Math.min(oldest, e.eventTime);
    newest = Math.max(newest, e.eventTime);
    const row = [
      seq,
      e.eventId,
      e.requestId,
      e.eventTime,
      e.eventName,
      e.principalArn ?? null,
      e.accountId,
      e.errorCode ?? null,
      e.readOnly ?? null,
      e.keyArns.join(' '),
      e.countsAsUsage,
      e.record,
      prev,
      hash,
    ];
    for (let i = 0; i < row.length; i++) eventColumns[i]?.push(row[i]);
    for (const arn of new Set(e.keyArns)) {
      keyArns.push(arn);
      keySeqs.push(seq);
      if (e.countsAsUsage) usage.set(arn, e);
    }
  }
  const used = [...usage];
  return {
    head: { seq, hash },
    oldest,
    newest,
    columns: [
      ...eventColumns,
      keyArns,
      keySeqs,
      used.map(([arn]) => arn),
      used.map(([, e]) => e.eventName),
      used.map(([, e]) => e.eventTime),
      used.map(([, e]) => e.eventId),
      used.map(([, e]) => e.requestId),
    ],
  };
}

/** Runs APPEND_SQL: the head after it, `batch.head` if the head was still at `from`. */
async function appendBatch(client: pg.ClientBase, from: ChainHead, batch: LinkedBatch): Promise<ChainHead> {
  const result = await client.query<ChainHead>({
    name: 'trent-audit-append',
    text: APPEND_SQL,
    values: [batch.head.seq, batch.head.hash, batch.oldest, batch.newest, from.seq, from.hash, ...batch.columns],
  });
  const head = result.rows[0];
  if (head === undefined) throw new Error('the audit head row is missing');
  return head;
}

async function headRow(client: pg.ClientBase, lock: boolean): Promise<HeadRow> {
  const result = await client.query<HeadRow>(
    `SELECT seq, hash, started_at, undigested_oldest, undigested_newest FROM audit_head WHERE id = 1${
      lock ? ' FOR UPDATE' : ''
    }`,
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('the audit head row is missing');
  return row;
}
