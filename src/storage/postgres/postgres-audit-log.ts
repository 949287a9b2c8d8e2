import type pg from 'pg';
import {
  type AuditFilter,
  type AuditLog,
  type ChainHead,
  type DigestRow,
  GENESIS_HASH,
  type HeadRow,
  type KeyUsageRow,
  type Linker,
  type NewAuditEvent,
  type RangeStats,
  type StoredAuditEvent,
  undigestedAfter,
  undigestedStats,
} from '../audit-log.js';
import type { PostgresTarget } from './connection.js';
import { inTransaction, openMigratedPool, withClient } from './pool-client.js';

interface EventRow {
  seq: number;
  event_id: string;
  request_id: string;
  event_time: number;
  event_name: string;
  principal: string | null;
  account_id: string;
  error_code: string | null;
  read_only: boolean | null;
  key_arns: string;
  usage: boolean;
  record: string;
  prev_hash: string;
  hash: string;
}

interface DigestDbRow {
  number: number;
  from_seq: number;
  to_seq: number;
  created_at: number;
  doc: string;
}

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
/** Events per INSERT statement: 14 parameters each, far below PostgreSQL's 65,535. */
const INSERT_CHUNK = 500;

/**
 * The audit log in PostgreSQL, shared by every node of a deployment (the SQLite log's twin: the same
 * tables, migration 3 of the PostgreSQL schema). `append` reads the chain head with
 * `SELECT … FOR UPDATE` inside the transaction that inserts the batch and moves the head, so
 * appenders on several nodes queue on that one row lock and form one chain with no gap or fork; a
 * resolved append is committed (and durable, with PostgreSQL's default synchronous_commit).
 */
export class PostgresAuditLog implements AuditLog {
  readonly #pool: pg.Pool;
  readonly #target: PostgresTarget;
  #closed: Promise<void> | undefined;

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
    await this.#transaction(async (client) => {
      const head = await headRow(client, true);
      let { seq, hash } = head;
      const eventKeys: Array<[string, number]> = [];
      const usage = new Map<string, NewAuditEvent>();
      for (let start = 0; start < events.length; start += INSERT_CHUNK) {
        const chunk = events.slice(start, start + INSERT_CHUNK);
        const params: unknown[] = [];
        const tuples: string[] = [];
        for (const e of chunk) {
          seq += 1;
          const prev = hash;
          hash = link(prev, e.record);
          const base = params.length;
          params.push(
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
          );
          tuples.push(`(${EVENT_COLUMNS.map((_, i) => `$${base + i + 1}`).join(', ')})`);
          for (const arn of new Set(e.keyArns)) {
            eventKeys.push([arn, seq]);
            if (e.countsAsUsage) usage.set(arn, e);
          }
        }
        await client.query(`INSERT INTO audit_events (${EVENT_COLS}) VALUES ${tuples.join(', ')}`, params);
      }
      if (eventKeys.length > 0) {
        await client.query(
          `INSERT INTO audit_event_keys (key_arn, seq)
           SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING`,
          [eventKeys.map(([arn]) => arn), eventKeys.map(([, s]) => s)],
        );
      }
      if (usage.size > 0) {
        const rows = [...usage];
        await client.query(
          `INSERT INTO audit_key_usage (key_arn, operation, event_time, event_id, request_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[])
           ON CONFLICT (key_arn) DO UPDATE SET operation = excluded.operation, event_time = excluded.event_time,
             event_id = excluded.event_id, request_id = excluded.request_id`,
          [
            rows.map(([arn]) => arn),
            rows.map(([, e]) => e.eventName),
            rows.map(([, e]) => e.eventTime),
            rows.map(([, e]) => e.eventId),
            rows.map(([, e]) => e.requestId),
          ],
        );
      }
      const { oldest, newest } = undigestedAfter(head, events);
      await client.query(
        'UPDATE audit_head SET seq = $1, hash = $2, undigested_oldest = $3, undigested_newest = $4 WHERE id = 1',
        [seq, hash, oldest, newest],
      );
    });
  }

  async head(): Promise<ChainHead> {
    const { seq, hash } = await this.#withClient((client) => headRow(client, false));
    return { seq, hash };
  }

  async trackingStart(): Promise<number> {
    return (await this.#withClient((client) => headRow(client, false))).started_at;
  }

  async readRange(afterSeq: number, limit: number): Promise<StoredAuditEvent[]> {
    const rows = await this.#query<EventRow>(
      `SELECT ${EVENT_COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [afterSeq, limit],
    );
    return rows.map(parseEvent);
  }

  async getEvent(seq: number): Promise<StoredAuditEvent | undefined> {
    const rows = await this.#query<EventRow>(`SELECT ${EVENT_COLS} FROM audit_events WHERE seq = $1`, [seq]);
    return rows[0] && parseEvent(rows[0]);
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
    return (await this.#query<EventRow>(sql, params)).map(parseEvent);
  }

  async keyLastUsage(keyArn: string): Promise<KeyUsageRow | undefined> {
    const rows = await this.#query<{
      key_arn: string;
      operation: string;
      event_time: number;
      event_id: string;
      request_id: string;
    }>('SELECT key_arn, operation, event_time, event_id, request_id FROM audit_key_usage WHERE key_arn = $1', [keyArn]);
    const row = rows[0];
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
    return this.#transaction(async (client) => {
      // The head row lock orders this with appenders and with another node's digest run.
      const head = await headRow(client, true);
      const last = (
        await client.query<DigestDbRow>(`SELECT ${DIGEST_COLS} FROM audit_digests ORDER BY number DESC LIMIT 1`)
      ).rows[0];
      const previous = last && parseDigest(last);
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
      parseDigest,
    );
  }

  async digestsFrom(seq: number, limit: number): Promise<DigestRow[]> {
    return (
      await this.#query<DigestDbRow>(
        `SELECT ${DIGEST_COLS} FROM audit_digests WHERE to_seq >= $1 ORDER BY to_seq LIMIT $2`,
        [seq, limit],
      )
    ).map(parseDigest);
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
    readOnly: r.read_only ?? undefined,
    keyArns: r.key_arns === '' ? [] : r.key_arns.split(' '),
    countsAsUsage: r.usage,
    record: r.record,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function parseDigest(r: DigestDbRow): DigestRow {
  return { number: r.number, fromSeq: r.from_seq, toSeq: r.to_seq, createdAt: r.created_at, doc: r.doc };
}
