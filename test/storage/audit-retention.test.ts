import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord } from '../../src/audit/record.js';
import { pruneAudit } from '../../src/audit/retention.js';
import { verifyLog } from '../../src/audit/verify-log.js';
import { AuditWriter } from '../../src/audit/writer.js';
import type { AuditLog } from '../../src/storage/audit-log.js';
import { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { auditRecord, openTestAuditLog, type TestAuditLog, testSigningKey } from '../helpers/audit.js';
import { turnsDuring } from '../helpers/event-loop.js';

/**
 * Retention in steps, on a real SQLite log: the writer signs a digest every N records, and a prune
 * deletes one digest's records per transaction with a turn of the event loop between, ending where
 * one prune of everything would, and verifiable.
 */
const signingKey = testSigningKey();

function record(time: number): AuditRecord {
  return auditRecord({ eventTime: new Date(time).toISOString().replace(/\.\d+Z$/, 'Z') });
}

describe('audit retention in steps', () => {
  let fixture: TestAuditLog;
  let log: SqliteAuditLog;
  const old = Date.now() - 10 * 86_400_000;

  before(() => {
    fixture = openTestAuditLog('trent-retention-');
    log = fixture.log;
  });
  after(() => fixture.close());

  it('signs a digest every N records of a writer', async () => {
    const writer = new AuditWriter(log, signingKey, () => old, 0, undefined, 5);
    // Each write resolves once committed; the digest it triggers is signed (synchronously, on
    // SQLite) as that commit resolves, before the next record's batch is committed.
    for (let i = 0; i < 23; i++) await writer.write(record(old), old);
    const ranges = (await log.digests()).map((d) => [d.fromSeq, d.toSeq]);
    assert.deepEqual(ranges, [
      [1, 5],
      [6, 10],
      [11, 15],
      [16, 20],
    ]);
    await writer.close();
    // close() signed a last digest over 21..23.
    assert.deepEqual((await log.digests()).at(-1)?.toSeq, 23);
  });

  it('prunes one digest at a time, turning the event loop between, and stays verifiable', async () => {
    const steps: number[] = [];
    const spy = {
      digestsFrom: (seq: number, limit: number) => log.digestsFrom(seq, limit),
      readRange: (after: number, limit: number) => log.readRange(after, limit),
      prune: (throughSeq: number) => {
        steps.push(throughSeq);
        return log.prune(throughSeq);
      },
    } as unknown as AuditLog;
    // Records of 10 days ago: everything digested is past a cutoff of one day.
    const { turns, value } = await turnsDuring(pruneAudit(spy, Date.now() - 86_400_000));
    assert.deepEqual(value, { events: 23, throughSeq: 23 });
    assert.deepEqual(steps, [5, 10, 15, 20, 23]);
    assert.ok(turns >= 4, `the event loop turned ${turns} times`);
    assert.equal((await log.readRange(0, 10)).length, 0);
    const verified = await verifyLog(log, signingKey.publicKeyPem);
    assert.ok(verified.ok, JSON.stringify(verified.findings));
    // Nothing left to prune: no steps.
    steps.length = 0;
    assert.deepEqual(await pruneAudit(spy, Date.now()), { events: 0, throughSeq: 0 });
    assert.deepEqual(steps, []);
  });
});

describe('audit retention over many digests', () => {
  let fixture: TestAuditLog;
  const old = Date.now() - 10 * 86_400_000;
  const recent = Date.now();

  before(() => {
    fixture = openTestAuditLog('trent-retention-pages-');
  });
  after(() => fixture.close());

  it('reads the digests a page at a time and stops at the first with a record past the cutoff', async () => {
    const { log } = fixture;
    let clock = old;
    const writer = new AuditWriter(log, signingKey, () => clock, 0, undefined, 2);
    for (let i = 0; i < 300; i++) await writer.write(record(old), old);
    clock = recent;
    for (let i = 0; i < 10; i++) await writer.write(record(recent), recent);
    await writer.close();
    assert.equal((await log.digests()).length, 155);

    assert.deepEqual(await pruneAudit(log, recent - 86_400_000), { events: 300, throughSeq: 300 });
    assert.deepEqual(
      (await log.readRange(0, 100)).map((e) => e.seq),
      Array.from({ length: 10 }, (_, i) => 301 + i),
    );
    const verified = await verifyLog(log, signingKey.publicKeyPem);
    assert.ok(verified.ok, JSON.stringify(verified.findings));
  });
});

/**
 * A prune step's index work — keeping the last use of the keys whose records go, dropping their
 * index rows — runs on the index thread of a process that indexes in the background: with a key per
 * record it is most of the step. The event loop turns meanwhile, and the kept last uses are those
 * the calling thread keeps (a log that does not index in the background).
 */
describe('a prune step with its index work on the index thread', () => {
  const old = Date.now() - 10 * 86_400_000;
  const keyOf = (n: number) =>
    `arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

  // Records 0-499 (pruned) use keys 0-499, one each; records 500-1,499 use keys 0-99 again.
  const keyUsedBy = (record: number) => (record < 500 ? record : (record - 500) % 100);
  const lastUserOf = (key: number) => (key < 100 ? 1_400 + key : key);

  /**
   * `appender`: the log that wrote the records prunes them (its index thread is running); `other`:
   * another serving process's log, which never appended (a cluster worker running the schedulers);
   * `inline`: a log that does not index in the background.
   */
  async function prunedLog(pruner: 'appender' | 'other' | 'inline') {
    const fixture = openTestAuditLog('trent-prune-thread-');
    const writer = new AuditWriter(fixture.log, signingKey, () => old, 0, undefined, 500);
    const records = Array.from({ length: 1_500 }, (_, n) =>
      auditRecord({
        eventTime: new Date(old).toISOString().replace(/\.\d+Z$/, 'Z'),
        resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: keyOf(keyUsedBy(n)) }],
      }),
    );
    // 500 at a time: each chunk one commit, and the digest its 500th record triggers ends there.
    for (let i = 0; i < records.length; i += 500) {
      await Promise.all(records.slice(i, i + 500).map((r) => writer.write(r, old)));
    }
    await writer.close();
    const log =
      pruner === 'appender'
        ? fixture.log
        : SqliteAuditLog.open(fixture.path, { indexInBackground: pruner === 'other' });
    const throughSeq = (await log.digests())[0]?.toSeq ?? 0;
    const { turns, value } = await turnsDuring(log.prune(throughSeq));
    const close = async () => {
      if (log !== fixture.log) await log.close();
      await fixture.close();
    };
    return { log, records, throughSeq, turns, pruned: value, close };
  }

  it('turns the event loop while the thread works, and keeps what the calling thread keeps', async () => {
    const runs = {
      appender: await prunedLog('appender'),
      other: await prunedLog('other'),
      inline: await prunedLog('inline'),
    };
    try {
      for (const [name, run] of Object.entries(runs)) {
        assert.equal(run.throughSeq, 500, name);
        assert.equal(run.pruned, 500, name);
        if (name === 'inline') assert.equal(run.turns, 0);
        else assert.ok(run.turns > 0, `${name}: the event loop did not turn during the prune`);
        // A key last used by a pruned record keeps that use; the others' last uses are later.
        for (const key of [0, 99, 100, 300, 499]) {
          const used = await run.log.keyLastUsage(keyOf(key));
          assert.equal(used?.eventId, run.records[lastUserOf(key)]?.eventID, `${name}: key ${key}`);
        }
        // The pruned records' index rows are gone: a key used only by them finds no record.
        assert.deepEqual(await run.log.lookup({ keyArn: keyOf(300) }, 10), [], name);
        assert.equal((await run.log.lookup({ keyArn: keyOf(0) }, 10)).length, 10, name);
      }
    } finally {
      for (const run of Object.values(runs)) await run.close();
    }
  });
});
