import type { AuditLog, DigestRow, NewAuditEvent } from '../storage/audit-log.js';
import { canonicalJson } from './canonical.js';
import { linkRecord } from './chain.js';
import { makeDigest } from './digest.js';
import { type AuditRecord, TRACKED_OPERATIONS } from './record.js';
import type { AuditSigningKey } from './signing-key.js';

/**
 * Where the request path sends records. `write` resolves once the record is on stable storage and
 * rejects when it cannot be written; the caller then fails the request closed.
 */
export interface AuditSink {
  write(record: AuditRecord, time: number): Promise<void>;
  /** Whether the last attempt to write succeeded, for GET /health. */
  health(): { ok: true } | { ok: false; reason: string };
  /** Signs a digest over the records not yet covered (no-op if there are none). */
  signDigest(): Promise<DigestRow | undefined>;
  close(): Promise<void>;
}

/**
 * Appends batches of events to the chain, durably and in the order given: `append` resolves once
 * the batch is on stable storage and rejects if none of it could be written.
 */
export interface Appender {
  append(events: NewAuditEvent[]): Promise<void>;
  close(): Promise<void>;
  /** Settles the batches committed since it last looked, if it can tell without waiting. */
  poll?(): void;
}

/**
 * Besides the timer (`--audit-digest-interval-ms`), a writer signs a digest after every this many
 * of its records, so that a digest never covers more than about this many from one process:
 * retention prunes one digest's records at a time (retention.ts), each step's delete a stop of the
 * event loop — on this VM, with a key per record, up to 37 ms for a step of 10,000, 9–16 ms for one
 * of 2,000. A digest costs the same whatever it covers (its stats are kept in the head row):
 * 2.5–3.6 ms here, most of it the commit's fsync, ~1.5 µs a record at this count.
 */
export const DIGEST_EVERY_RECORDS = 2_000;

/**
 * Group commit. Records written within the same turn of the event loop go to the appender as one
 * batch (TurnBatchingAppender); the appender commits, in one transaction (one fsync), every batch
 * handed to it while its previous commit was in progress. The default appender commits on the
 * event loop (with better-sqlite3, synchronously); WorkerAppender (`--audit-commit thread`) commits on
 * a thread of its own instead, which on a 2-CPU machine served 1–10% more under concurrency, with a
 * longer tail (docs/audit.md, "Where records are committed"), so it is not the default.
 */
export class AuditWriter implements AuditSink {
  readonly #batches: TurnBatchingAppender;
  #failure: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Records written since this writer last asked for a digest by count. */
  #sinceDigest = 0;

  constructor(
    private readonly log: AuditLog,
    private readonly signingKey: AuditSigningKey,
    private readonly now: () => number = Date.now,
    digestIntervalMs = 0,
    appender: Appender = new LogAppender(log),
    private readonly digestEveryRecords = DIGEST_EVERY_RECORDS,
  ) {
    this.#batches = new TurnBatchingAppender(appender, (err) => {
      this.#failure = err === undefined ? undefined : err instanceof Error ? err.message : String(err);
    });
    if (digestIntervalMs > 0) {
      this.#timer = setInterval(() => void this.signDigest().catch(() => undefined), digestIntervalMs);
      this.#timer.unref();
    }
  }

  write(record: AuditRecord, time: number): Promise<void> {
    const written = this.#batches.append([indexOf(record, time)]);
    if (this.digestEveryRecords > 0 && ++this.#sinceDigest >= this.digestEveryRecords) {
      this.#sinceDigest = 0;
      // Once this record is committed; not `this.signDigest()`, which waits for a moment with
      // nothing in flight, and under steady load that moment may not come.
      void written.then(() => signDigest(this.log, this.signingKey, this.now())).catch(() => undefined);
    }
    return written;
  }

  health(): { ok: true } | { ok: false; reason: string } {
    return this.#failure === undefined ? { ok: true } : { ok: false, reason: this.#failure };
  }

  async signDigest(): Promise<DigestRow | undefined> {
    await this.#batches.drained();
    return signDigest(this.log, this.signingKey, this.now());
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#batches.drained();
    try {
      await this.signDigest();
    } catch {
      // The store may be unwritable (that is reported by health); closing must still finish.
    }
    await this.#batches.close();
  }
}

/**
 * Appends on the calling thread, through `log.append`: batches handed over while a commit is in
 * progress are committed together next.
 */
export class LogAppender implements Appender {
  #queue: { events: NewAuditEvent[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #busy = false;

  constructor(private readonly log: AuditLog) {}

  append(events: NewAuditEvent[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ events, resolve, reject });
      if (!this.#busy) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.log.append(
          batch.flatMap((b) => b.events),
          linkRecord,
        );
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.#busy = false;
  }

  async close(): Promise<void> {}
}

/**
 * Hands everything appended within one turn of the event loop to `inner` as one batch: the
 * AuditWriter's group commit, and the cluster primary's in front of its LogAppender (the workers'
 * batches arrive as separate IPC messages; without it the first message of each turn would be
 * committed on its own, with an fsync of its own, before the others in the same turn were read).
 * `onBatch` hears each batch's outcome (undefined: committed).
 */
export class TurnBatchingAppender implements Appender {
  #queue: { events: NewAuditEvent[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly inner: Appender,
    private readonly onBatch: (err: unknown) => void = () => {},
  ) {}

  append(events: NewAuditEvent[]): Promise<void> {
    this.inner.poll?.();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ events, resolve, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    // A commit that ended during this turn is answered now, and this batch can go at once.
    this.inner.poll?.();
    const batch = this.#queue;
    this.#queue = [];
    const done = this.inner
      .append(batch.flatMap((b) => b.events))
      .then(
        () => {
          this.onBatch(undefined);
          for (const b of batch) b.resolve();
        },
        (err: unknown) => {
          this.onBatch(err);
          for (const b of batch) b.reject(err);
        },
      )
      .finally(() => this.#inFlight.delete(done));
    this.#inFlight.add(done);
  }

  /** Resolves once everything appended so far is committed (or has failed). */
  async drained(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight.size > 0) {
      if (this.#queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      else await Promise.all(this.#inFlight);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Signs a digest over every record after the last digest; undefined if there are none. */
export function signDigest(log: AuditLog, key: AuditSigningKey, now: number): Promise<DigestRow | undefined> {
  return log.addDigest((previous, head, stats) => {
    const after = previous?.toSeq ?? 0;
    if (head.seq <= after) return undefined;
    const previousHash =
      previous === undefined ? undefined : (JSON.parse(previous.doc) as { lastHash: string }).lastHash;
    return makeDigest(
      previous,
      {
        fromSeq: after + 1,
        toSeq: head.seq,
        // Before the first digest, the range starts at the chain's beginning.
        previousHash: previousHash ?? '0'.repeat(64),
        lastHash: head.hash,
        count: stats.count,
      },
      { oldest: stats.oldestEventTime, newest: stats.newestEventTime, now },
      key,
    );
  });
}

/** The columns the log indexes, all derived from the record itself. */
export function indexOf(record: AuditRecord, time: number): NewAuditEvent {
  const keyArns = (record.resources ?? []).map((r) => r.ARN);
  return {
    eventId: record.eventID,
    requestId: record.requestID,
    eventTime: time,
    eventName: record.eventName,
    principalArn: record.userIdentity.arn,
    accountId: record.recipientAccountId,
    errorCode: record.errorCode,
    readOnly: record.readOnly,
    keyArns,
    countsAsUsage:
      record.eventType === 'AwsApiCall' && record.errorCode === undefined && TRACKED_OPERATIONS.has(record.eventName),
    record: canonicalJson(record),
  };
}

/** For the bench-only `--audit off` (dev mode): records go nowhere. */
export class DisabledAuditSink implements AuditSink {
  async write(): Promise<void> {}
  health(): { ok: true } {
    return { ok: true };
  }
  async signDigest(): Promise<undefined> {
    return undefined;
  }
  async close(): Promise<void> {}
}
