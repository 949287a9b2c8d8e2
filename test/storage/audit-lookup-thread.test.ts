import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditWriter } from '../../src/audit/writer.js';
import { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { auditRecord, openTestAuditLog, type TestAuditLog, testSigningKey } from '../helpers/audit.js';
import { turnsDuring } from '../helpers/event-loop.js';

/**
 * Lookups of a serving process run on a thread of their own: one that reads the whole log (a
 * filter no index narrows) leaves the event loop turning, and finds what the same lookup finds on
 * the calling thread (a process that does not index in the background, like the CLI's).
 */
describe('audit lookups on a thread', { timeout: 120_000 }, () => {
  let fixture: TestAuditLog;
  const RECORDS = 40_000;

  before(async () => {
    fixture = openTestAuditLog('trent-lookup-thread-');
    const writer = new AuditWriter(fixture.log, testSigningKey(), Date.now, 0, undefined, 0);
    for (let i = 0; i < RECORDS; i += 1000) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, j) => {
          const n = i + j;
          // Two refused calls among them, at seq 7 and 30,007.
          const refused = n === 6 || n === 30_006;
          const record = auditRecord(refused ? { errorCode: 'AccessDenied', errorMessage: 'no' } : {});
          return writer.write(record, Date.now());
        }),
      );
    }
    await writer.close();
  });
  after(() => fixture.close());

  it('scans the log off the event loop and finds what the calling thread finds', async () => {
    const { turns, value } = await turnsDuring(fixture.log.lookup({ errorCode: 'AccessDenied' }, 10));
    assert.deepEqual(
      value.map((e) => e.seq),
      [30_007, 7],
    );
    assert.ok(turns > 0, 'the event loop did not turn during the lookup');

    const inline = SqliteAuditLog.open(fixture.path, { indexInBackground: false });
    try {
      const here = await turnsDuring(inline.lookup({ errorCode: 'AccessDenied' }, 10));
      assert.equal(here.turns, 0);
      assert.deepEqual(
        here.value.map((e) => [e.seq, e.hash]),
        value.map((e) => [e.seq, e.hash]),
      );
    } finally {
      await inline.close();
    }
  });

  it('a lookup still waiting when the log closes fails; the log reopened looks up again', async () => {
    const log = SqliteAuditLog.open(fixture.path);
    const waiting = log.lookup({ errorCode: 'NoSuchError' }, 10);
    const settled = waiting.then(
      () => 'answered',
      () => 'failed',
    );
    await log.close();
    // Either the thread answered before close() stopped it, or the lookup failed: never a hang.
    assert.ok(['answered', 'failed'].includes(await settled));
    const again = SqliteAuditLog.open(fixture.path);
    try {
      assert.deepEqual(
        (await again.lookup({ errorCode: 'AccessDenied' }, 1)).map((e) => e.seq),
        [30_007],
      );
    } finally {
      await again.close();
    }
  });
});
