import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditRecord } from '../../src/audit/record.js';
import { verifyLog } from '../../src/audit/verify-log.js';
import { WorkerAppender } from '../../src/audit/worker-appender.js';
import { type Appender, AuditWriter, indexOf, LogAppender, TurnBatchingAppender } from '../../src/audit/writer.js';
import type { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { auditRecord, openTestAuditLog, type TestAuditLog, testSigningKey } from '../helpers/audit.js';

/**
 * The audit writer, with each appender, on a real SQLite file: many concurrent writes — from two
 * writers on one file, as two processes would be — form one correct chain; an unwritable table, or
 * a crashed append thread, fails the writes closed, /health's source says so, and the next write
 * recovers.
 */
const signingKey = testSigningKey();

function record(eventName = 'Encrypt'): AuditRecord {
  return auditRecord({ eventName });
}

const APPENDERS: [string, (path: string) => Appender | undefined][] = [
  ['on the event loop (default)', () => undefined],
  ['on a thread of its own (WorkerAppender)', (path) => new WorkerAppender(path)],
];

describe('audit writer', () => {
  let fixture: TestAuditLog;
  let path: string;
  let log: SqliteAuditLog;

  before(() => {
    fixture = openTestAuditLog('trent-audit-writer-');
    ({ path, log } = fixture);
  });

  after(() => fixture.close());

  async function assertChain(expected: number): Promise<void> {
    const result = await verifyLog(log, signingKey.publicKeyPem);
    assert.deepEqual(result.findings, []);
    assert.equal(result.ok, true);
    assert.equal((await log.head()).seq, expected);
  }

  for (const [name, appender] of APPENDERS) {
    it(`commits many concurrent writes, from two writers on one file, as one correct chain: ${name}`, async () => {
      const startSeq = (await log.head()).seq;
      const a = new AuditWriter(log, signingKey, Date.now, 0, appender(path));
      const b = new AuditWriter(log, signingKey, Date.now, 0, appender(path));
      const written = Array.from({ length: 400 }, (_, i) => record(i % 2 === 0 ? 'Encrypt' : 'Decrypt'));
      await Promise.all(written.map((r, i) => (i % 2 === 0 ? a : b).write(r, Date.now())));
      assert.deepEqual(a.health(), { ok: true });
      await Promise.all([a.close(), b.close()]);
      await assertChain(startSeq + 400);
      const stored = await log.readRange(startSeq, 1000);
      assert.deepEqual(new Set(stored.map((e) => e.requestId)), new Set(written.map((r) => r.requestID)));
      // A writer's own records keep the order in which they were written.
      const order = new Map(written.map((r, i) => [r.requestID, i]));
      const fromA = stored.map((e) => order.get(e.requestId) ?? -1).filter((i) => i % 2 === 0);
      assert.deepEqual(
        fromA,
        [...fromA].sort((x, y) => x - y),
      );
    });

    it('fails the writes in flight closed when the thread crashes, and recovers with a new thread', async () => {
      const appender = new WorkerAppender(path);
      const writer = new AuditWriter(log, signingKey, Date.now, 0, appender);
      await writer.write(record(), Date.now());
      const startSeq = (await log.head()).seq;
      const inFlight = Array.from({ length: 50 }, () => record());
      const settled = Promise.allSettled(inFlight.map((r) => writer.write(r, Date.now())));
      // Let the batch reach the thread, then kill it before its acknowledgement can be read.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await appender.terminateThread();
      const outcomes = await settled;
      // A write in flight resolves only if the thread acknowledged it before it died; the others
      // fail closed, and the writer reports it.
      const failed = outcomes.filter((o) => o.status === 'rejected');
      for (const o of failed) assert.match(String(o.reason), /audit writer thread stopped/);
      assert.equal(writer.health().ok, failed.length === 0);

      const next = record('DescribeKey');
      await writer.write(next, Date.now());
      assert.deepEqual(writer.health(), { ok: true });
      await writer.close();
      // The crashed batch was committed whole or not at all; either way, one correct chain, with
      // every acknowledged record in it.
      const head = (await log.head()).seq;
      assert.ok(head === startSeq + 1 || head === startSeq + 1 + inFlight.length, `head ${head}`);
      if (failed.length < inFlight.length) assert.equal(head, startSeq + 1 + inFlight.length);
      await assertChain(head);
      assert.equal((await log.getEvent(head))?.requestId, next.requestID);
    });

    it(`fails writes closed while the audit table cannot be written, and recovers when it can: ${name}`, async () => {
      const writer = new AuditWriter(log, signingKey, Date.now, 0, appender(path));
      await writer.write(record(), Date.now());
      const startSeq = (await log.head()).seq;
      const db = new Database(path);
      try {
        db.exec(
          "CREATE TRIGGER audit_read_only BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit table is read-only'); END",
        );
        const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => writer.write(record(), Date.now())));
        assert.ok(outcomes.every((o) => o.status === 'rejected'));
        assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /read-only/);
        const health = writer.health();
        assert.equal(health.ok, false);
        assert.match(health.ok ? '' : health.reason, /read-only/);
        db.exec('DROP TRIGGER audit_read_only');
      } finally {
        db.close();
      }
      await Promise.all(Array.from({ length: 20 }, () => writer.write(record(), Date.now())));
      assert.deepEqual(writer.health(), { ok: true });
      await writer.close();
      await assertChain(startSeq + 20);
    });
  }

  it("settles a batch the thread committed at the next record written, before the thread's reply is read (WorkerAppender)", async () => {
    const writer = new AuditWriter(log, signingKey, Date.now, 0, new WorkerAppender(path));
    try {
      await writer.write(record(), Date.now());
      const startSeq = (await log.head()).seq;
      let settled = false;
      const first = writer.write(record(), Date.now()).then(() => {
        settled = true;
      });
      // One turn of the event loop hands the batch to the thread; from here on only microtasks run,
      // so the thread's reply (a message, read by the event loop) cannot arrive.
      await new Promise((resolve) => setImmediate(resolve));
      const deadline = Date.now() + 10_000;
      while ((await log.head()).seq === startSeq) {
        assert.ok(Date.now() < deadline, 'the thread did not commit the batch');
        sleepWithoutTurning(2);
      }
      sleepWithoutTurning(50);
      assert.equal(settled, false);
      const second = writer.write(record(), Date.now());
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.equal(settled, true);
      await Promise.all([first, second]);
    } finally {
      await writer.close();
    }
  });

  it('commits a lone record on the calling thread while the thread is idle, and more on the thread (WorkerAppender)', async () => {
    const appender = new WorkerAppender(path, new LogAppender(log));
    try {
      const event = () => indexOf(record(), Date.now());
      const startSeq = (await log.head()).seq;
      const lone = appender.append([event()]);
      // Committed before append returned: here. The thread could not have, in so short a time.
      assert.equal((await log.head()).seq, startSeq + 1);
      await lone;
      const pair = appender.append([event(), event()]);
      assert.equal((await log.head()).seq, startSeq + 1);
      await pair;
      assert.equal((await log.head()).seq, startSeq + 3);
      await assertChain(startSeq + 3);
    } finally {
      await appender.close();
    }
  });

  it('refuses writes after close (WorkerAppender)', async () => {
    const writer = new AuditWriter(log, signingKey, Date.now, 0, new WorkerAppender(path));
    await writer.close();
    await assert.rejects(writer.write(record(), Date.now()), /closed/);
  });
});

describe('TurnBatchingAppender (the cluster primary)', () => {
  const event = (n: number) => ({
    eventId: `e${n}`,
    requestId: `r${n}`,
    eventTime: n,
    eventName: 'Encrypt',
    principalArn: undefined,
    accountId: '111122223333',
    errorCode: undefined,
    readOnly: true,
    keyArns: [],
    countsAsUsage: false,
    record: `{"n":${n}}`,
  });

  it('hands everything appended in one turn to the inner appender as one batch, in order', async () => {
    const batches: string[][] = [];
    const inner: Appender = {
      append: async (events) => {
        batches.push(events.map((e) => e.eventId));
      },
      close: async () => {},
    };
    const appender = new TurnBatchingAppender(inner);
    // Three workers' messages read in one turn, then one more in a later turn.
    await Promise.all([
      appender.append([event(1), event(2)]),
      appender.append([event(3)]),
      appender.append([event(4)]),
    ]);
    await appender.append([event(5)]);
    assert.deepEqual(batches, [['e1', 'e2', 'e3', 'e4'], ['e5']]);
  });

  it('fails every append of the batch when the inner append fails', async () => {
    const inner: Appender = {
      append: async () => {
        throw new Error('disk full');
      },
      close: async () => {},
    };
    const appender = new TurnBatchingAppender(inner);
    const results = await Promise.allSettled([appender.append([event(1)]), appender.append([event(2)])]);
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')),
      ['disk full', 'disk full'],
    );
  });
});

/** Blocks the thread for `ms` without letting the event loop turn. */
function sleepWithoutTurning(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
