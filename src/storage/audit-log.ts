/**
 * The audit trail's storage, apart from `Store`: an append-only, hash-chained sequence of records,
 * the signed digests over ranges of it, and the per-key "last usage" index that GetKeyLastUsage
 * reads. The storage knows nothing of the record format or of the hash: the audit layer (src/audit)
 * passes a `Linker` that computes each record's hash from the previous hash and the record's text,
 * and the adapter runs it inside the transaction that appends, so concurrent writers (several
 * processes, several nodes) still form one chain.
 *
 * Every method is atomic and durable when its promise resolves. Adapters: `sqlite/`. The contract
 * suite is test/storage/audit-log-contract.ts.
 */

/** The hash of a record given the previous record's hash and the record's canonical text. */
export type Linker = (previousHash: string, recordText: string) => string;

/** An event to append; `seq`, `prevHash` and `hash` are assigned by `append`. */
export interface NewAuditEvent {
  eventId: string;
  requestId: string;
  /** Epoch milliseconds. */
  eventTime: number;
  eventName: string;
  /** The caller's principal ARN, when known. */
  principalArn: string | undefined;
  /** The account receiving the record (CloudTrail's recipientAccountId). */
  accountId: string;
  errorCode: string | undefined;
  readOnly: boolean | undefined;
  /** ARNs of the keys in the record's `resources`. */
  keyArns: readonly string[];
  /** True when the event is a successful cryptographic use of its keys (GetKeyLastUsage). */
  countsAsUsage: boolean;
  /** The record, in the audit layer's canonical text; stored and hashed as is. */
  record: string;
}

export interface StoredAuditEvent extends NewAuditEvent {
  seq: number;
  prevHash: string;
  hash: string;
}

/** The newest record of the chain (seq 0 and the genesis hash when the log is empty). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export interface RangeStats {
  count: number;
  oldestEventTime: number | undefined;
  newestEventTime: number | undefined;
}

/** The audit head row as both adapters keep it. */
export interface HeadRow {
  seq: number;
  hash: string;
  started_at: number;
  /** The oldest and newest event time of the records after the last digest (null: none yet). */
  undigested_oldest: number | null;
  undigested_newest: number | null;
}

/**
 * The stats of the records after the last digest, read from the head row: every append keeps their
 * event times there (a scan of the range inside the digest's transaction held the log's write lock
 * for 13–16 ms per 10,000 records), and seqs have no gaps after the last digest (records are
 * numbered as they are appended and pruned only up to a digest's end).
 */
export function undigestedStats(head: HeadRow, previous: DigestRow | undefined): RangeStats {
  return {
    count: Math.max(0, head.seq - (previous?.toSeq ?? 0)),
    oldestEventTime: head.undigested_oldest ?? undefined,
    newestEventTime: head.undigested_newest ?? undefined,
  };
}

/** The head's undigested event times once `events` are appended after it. */
export function undigestedAfter(
  head: HeadRow,
  events: readonly NewAuditEvent[],
): { oldest: number | null; newest: number | null } {
  let oldest = head.undigested_oldest;
  let newest = head.undigested_newest;
  for (const e of events) {
    if (oldest === null || e.eventTime < oldest) oldest = e.eventTime;
    if (newest === null || e.eventTime > newest) newest = e.eventTime;
  }
  return { oldest, newest };
}

/** A signed digest, as the audit layer made it; `doc` is its canonical text. */
export interface DigestRow {
  /** 1, 2, 3…: digest n+1 covers the records after digest n's `toSeq`. */
  number: number;
  fromSeq: number;
  toSeq: number;
  createdAt: number;
  doc: string;
}

export interface AuditFilter {
  keyArn?: string;
  eventName?: string;
  principalArn?: string;
  errorCode?: string;
  readOnly?: boolean;
  accountId?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
}

export interface KeyUsageRow {
  keyArn: string;
  operation: string;
  eventTime: number;
  eventId: string;
  requestId: string;
}

export interface AuditLog {
  /**
   * Appends `events` in order, in one transaction (one fsync for the batch): each gets the next
   * seq, the previous record's hash, and `link(prevHash, record)` as its hash.
   */
  append(events: readonly NewAuditEvent[], link: Linker): Promise<void>;
  head(): Promise<ChainHead>;
  /** When this log started recording (epoch ms); set by the first open. */
  trackingStart(): Promise<number>;
  /** Events with seq > `afterSeq`, oldest first, at most `limit`. */
  readRange(afterSeq: number, limit: number): Promise<StoredAuditEvent[]>;
  /** The event with this seq, if it is still stored. */
  getEvent(seq: number): Promise<StoredAuditEvent | undefined>;
  /** The lowest seq whose eventTime is at or after `time`, if any. */
  firstSeqAtOrAfter(time: number): Promise<number | undefined>;
  /** Newest first; `beforeSeq` is the pagination cursor (exclusive). */
  lookup(filter: AuditFilter, limit: number, beforeSeq?: number): Promise<StoredAuditEvent[]>;
  keyLastUsage(keyArn: string): Promise<KeyUsageRow | undefined>;

  /**
   * Adds the next digest, in one transaction with reading what it covers: `make` receives the
   * previous digest (if any), the chain head and the stats of the range after the previous
   * digest, and returns the new digest or undefined (nothing to cover). Returns what was added.
   */
  addDigest(
    make: (previous: DigestRow | undefined, head: ChainHead, stats: RangeStats) => DigestRow | undefined,
  ): Promise<DigestRow | undefined>;
  /** Every digest, oldest first. */
  digests(): Promise<DigestRow[]>;
  /** The digests that end at `seq` or after, oldest first, at most `limit` of them. */
  digestsFrom(seq: number, limit: number): Promise<DigestRow[]>;

  /** Deletes the events with seq <= `throughSeq` (digests are kept); returns how many. */
  prune(throughSeq: number): Promise<number>;

  close(): Promise<void>;
}

/** The previous hash of the first record ever appended. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * An audit record's row as both stores read it. SQLite returns its flags as 0 and 1, PostgreSQL as
 * booleans.
 */
export interface EventDbRow {
  seq: number;
  event_id: string;
  request_id: string;
  event_time: number;
  event_name: string;
  principal: string | null;
  account_id: string;
  error_code: string | null;
  read_only: boolean | number | null;
  key_arns: string;
  usage: boolean | number;
  record: string;
  prev_hash: string;
  hash: string;
}

export function parseEventRow(r: EventDbRow): StoredAuditEvent {
  return {
    seq: r.seq,
    eventId: r.event_id,
    requestId: r.request_id,
    eventTime: r.event_time,
    eventName: r.event_name,
    principalArn: r.principal ?? undefined,
    accountId: r.account_id,
    errorCode: r.error_code ?? undefined,
    readOnly: r.read_only === null ? undefined : Boolean(r.read_only),
    keyArns: r.key_arns === '' ? [] : r.key_arns.split(' '),
    countsAsUsage: Boolean(r.usage),
    record: r.record,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface DigestDbRow {
  number: number;
  from_seq: number;
  to_seq: number;
  created_at: number;
  doc: string;
}

export function parseDigestRow(r: DigestDbRow): DigestRow {
  return { number: r.number, fromSeq: r.from_seq, toSeq: r.to_seq, createdAt: r.created_at, doc: r.doc };
}

/** A key's last use as both stores keep it (audit_key_usage). */
export interface KeyUsageDbRow {
  key_arn: string;
  operation: string;
  event_time: number;
  event_id: string;
  request_id: string;
}

export function parseKeyUsageRow(r: KeyUsageDbRow): KeyUsageRow {
  return {
    keyArn: r.key_arn,
    operation: r.operation,
    eventTime: r.event_time,
    eventId: r.event_id,
    requestId: r.request_id,
  };
}
