import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GENESIS_HASH, type Linker, type NewAuditEvent, type RangeStats } from '../../src/storage/audit-log.js';
import { openAuditLog } from '../../src/storage/open-audit-log.js';
import { PostgresAuditLog } from '../../src/storage/postgres/postgres-audit-log.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { createTestSchema } from '../helpers/postgres.js';
import { runAuditLogContract } from './audit-log-contract.js';

runAuditLogContract('PostgresAuditLog (beside a PostgresStore in one schema)', async () => {
  const schema = await createTestSchema();
  const store = await PostgresStore.open(schema.url);
  const log = await PostgresAuditLog.open(schema.url);
  return {
    log,
    reopen: () => PostgresAuditLog.open(schema.url),
    cleanup: async () => {
      await log.close();
      await store.close();
      await schema.drop();
    },
  };
});

const link: Linker = (prev, text) => createHash('sha256').update(prev).update(text).digest('hex');

function event(node: string, n: number): NewAuditEvent {
  return {
    eventId: `${node}-${n}`,
    requestId: `${node}-req-${n}`,
    eventTime: 1_700_000_000_000 + n,
    eventName: 'Encrypt',
    principalArn: undefined,
    accountId: '111122223333',
    errorCode: undefined,
    readOnly: true,
    keyArns: [`arn:aws:kms:eu-west-1:111122223333:key/${node}`],
    countsAsUsage: true,
    record: `{"node":"${node}","n":${n}}`,
  };
}

describe('PostgresAuditLog on several nodes', () => {
  it('two logs on one schema, appending at once, form one gapless chain', async () => {
    const schema = await createTestSchema();
    // Opened together: the migration lock lets one migrate, the other find it done.
    const [a, b] = await Promise.all([PostgresAuditLog.open(schema.url), PostgresAuditLog.open(schema.url)]);
    try {
      const appends: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        appends.push(a.append([event('a', 2 * i), event('a', 2 * i + 1)], link));
        appends.push(b.append([event('b', i)], link));
      }
      await Promise.all(appends);
      const rows = await a.readRange(0, 1000);
      assert.equal(rows.length, 120);
      let prev = GENESIS_HASH;
      rows.forEach((r, i) => {
        assert.equal(r.seq, i + 1);
        assert.equal(r.prevHash, prev);
        assert.equal(r.hash, link(prev, r.record));
        prev = r.hash;
      });
      assert.deepEqual(await b.head(), { seq: 120, hash: prev });
      assert.equal(new Set(rows.map((r) => r.eventId)).size, 120);
    } finally {
      await a.close();
      await b.close();
      await schema.drop();
    }
  });

  it('a node whose last append is no longer the head links after the other node, and keeps the digest span', async () => {
    const schema = await createTestSchema();
    const a = await PostgresAuditLog.open(schema.url);
    const b = await PostgresAuditLog.open(schema.url);
    try {
      await a.append([event('a', 1)], link);
      // b moves the head past where a left it, and signs a digest over both records.
      await b.append([event('b', 2)], link);
      const first = await b.addDigest((_previous, head) => ({
        number: 1,
        fromSeq: 1,
        toSeq: head.seq,
        createdAt: 1,
        doc: '{}',
      }));
      assert.equal(first?.toSeq, 2);
      // a's next appends: the first finds the head moved, the second starts where the first left it.
      await a.append([event('a', 5), event('a', 3)], link);
      await a.append([event('a', 4)], link);
      const rows = await b.readRange(0, 100);
      assert.deepEqual(
        rows.map((r) => r.eventId),
        ['a-1', 'b-2', 'a-5', 'a-3', 'a-4'],
      );
      let prev = GENESIS_HASH;
      for (const [i, r] of rows.entries()) {
        assert.equal(r.seq, i + 1);
        assert.equal(r.prevHash, prev);
        assert.equal(r.hash, link(prev, r.record));
        prev = r.hash;
      }
      assert.deepEqual(await b.head(), { seq: 5, hash: prev });
      let stats: RangeStats | undefined;
      await b.addDigest((_previous, _head, s) => {
        stats = s;
        return undefined;
      });
      // Only the records after the digest, as the head row counts them: not a-1 or b-2.
      assert.deepEqual(stats, {
        count: 3,
        oldestEventTime: event('a', 3).eventTime,
        newestEventTime: event('a', 5).eventTime,
      });
    } finally {
      await a.close();
      await b.close();
      await schema.drop();
    }
  });

  it('openAuditLog chooses PostgreSQL for a postgres:// store, not a file in the data directory', async () => {
    const schema = await createTestSchema();
    const log = await openAuditLog(schema.url, '/nonexistent-data-dir');
    try {
      assert.ok(log instanceof PostgresAuditLog);
    } finally {
      await log.close();
      await schema.drop();
    }
  });
});
