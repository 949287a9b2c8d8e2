import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  type AuditLog,
  GENESIS_HASH,
  type Linker,
  type NewAuditEvent,
  type RangeStats,
} from '../../src/storage/audit-log.js';

/**
 * The AuditLog contract, for every adapter: appends chain in order with the given linker, survive a
 * reopen, index what lookups filter on (newest first, paged), keep the last usage per key, number
 * digests and hand `addDigest` the right range, and prune without losing the head.
 */
export interface AuditLogFixture {
  log: AuditLog;
  reopen: () => Promise<AuditLog>;
  cleanup: () => Promise<void>;
}

export const link: Linker = (prev, text) => createHash('sha256').update(prev).update(text).digest('hex');
export const KEY_A = 'arn:aws:kms:eu-west-1:111122223333:key/a';
export const KEY_B = 'arn:aws:kms:eu-west-1:111122223333:key/b';

export function event(n: number, over: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    eventId: `event-${n}`,
    requestId: `request-${n}`,
    eventTime: 1_700_000_000_000 + n * 1000,
    eventName: 'Encrypt',
    principalArn: 'arn:aws:iam::111122223333:root',
    accountId: '111122223333',
    errorCode: undefined,
    readOnly: true,
    keyArns: [KEY_A],
    countsAsUsage: true,
    record: `{"n":${n}}`,
    ...over,
  };
}

export function runAuditLogContract(name: string, open: () => Promise<AuditLogFixture>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let f: AuditLogFixture;
    beforeEach(async () => {
      f = await open();
    });
    afterEach(async () => {
      await f.cleanup();
    });

    it('starts empty at the genesis hash', async () => {
      assert.deepEqual(await f.log.head(), { seq: 0, hash: GENESIS_HASH });
      assert.deepEqual(await f.log.readRange(0, 10), []);
      assert.ok((await f.log.trackingStart()) > 0);
    });

    it('chains appended batches in order and keeps them across a reopen', async () => {
      await f.log.append([event(1), event(2)], link);
      await f.log.append([event(3)], link);
      const rows = await f.log.readRange(0, 10);
      assert.deepEqual(
        rows.map((r) => r.seq),
        [1, 2, 3],
      );
      let prev = GENESIS_HASH;
      for (const r of rows) {
        assert.equal(r.prevHash, prev);
        assert.equal(r.hash, link(prev, r.record));
        prev = r.hash;
      }
      assert.deepEqual(await f.log.head(), { seq: 3, hash: prev });
      await f.log.close();
      const reopened = await f.reopen();
      try {
        assert.deepEqual(await reopened.head(), { seq: 3, hash: prev });
        assert.deepEqual((await reopened.getEvent(2))?.record, '{"n":2}');
      } finally {
        await reopened.close();
      }
    });

    it('looks up newest first by every filter, and pages', async () => {
      await f.log.append(
        [
          event(1),
          event(2, { eventName: 'Decrypt', keyArns: [KEY_B] }),
          event(3, {
            errorCode: 'AccessDenied',
            countsAsUsage: false,
            principalArn: 'arn:aws:iam::111122223333:user/x',
          }),
          event(4, { eventName: 'CreateKey', readOnly: false, keyArns: [KEY_B], countsAsUsage: false }),
          event(5, { eventName: 'ReEncrypt', keyArns: [KEY_A, KEY_B] }),
        ],
        link,
      );
      const ids = async (filter: Parameters<AuditLog['lookup']>[0], limit = 10, before?: number) =>
        (await f.log.lookup(filter, limit, before)).map((e) => e.seq);
      assert.deepEqual(await ids({}), [5, 4, 3, 2, 1]);
      assert.deepEqual(await ids({ keyArn: KEY_B }), [5, 4, 2]);
      assert.deepEqual(await ids({ eventName: 'Decrypt' }), [2]);
      assert.deepEqual(await ids({ errorCode: 'AccessDenied' }), [3]);
      assert.deepEqual(await ids({ principalArn: 'arn:aws:iam::111122223333:user/x' }), [3]);
      assert.deepEqual(await ids({ readOnly: false }), [4]);
      assert.deepEqual(await ids({ from: event(2).eventTime, to: event(4).eventTime }), [3, 2]);
      assert.deepEqual(await ids({}, 2), [5, 4]);
      assert.deepEqual(await ids({}, 2, 4), [3, 2]);
      assert.equal(await f.log.firstSeqAtOrAfter(event(3).eventTime), 3);
      assert.deepEqual((await f.log.lookup({ keyArn: KEY_B }, 1))[0]?.keyArns, [KEY_A, KEY_B]);
    });

    it('keeps the last successful use per key', async () => {
      await f.log.append([event(1), event(2, { eventName: 'Decrypt', countsAsUsage: false })], link);
      await f.log.append([event(3, { eventName: 'ReEncrypt', keyArns: [KEY_A, KEY_B] })], link);
      const a = await f.log.keyLastUsage(KEY_A);
      assert.deepEqual(a, {
        keyArn: KEY_A,
        operation: 'ReEncrypt',
        eventTime: event(3).eventTime,
        eventId: 'event-3',
        requestId: 'request-3',
      });
      assert.equal((await f.log.keyLastUsage(KEY_B))?.operation, 'ReEncrypt');
      assert.equal(await f.log.keyLastUsage('arn:none'), undefined);
    });

    it('gives a digest the oldest and newest event time of its own records, in whatever order they came', async () => {
      const at = (n: number, second: number) => event(n, { eventTime: 1_700_000_000_000 + second * 1000 });
      // Event times out of order within an append and across appends, as clocks of several
      // processes leave them.
      await f.log.append([at(1, 50), at(2, 10)], link);
      await f.log.append([at(3, 90), at(4, 30)], link);
      // The stats a digest is made with; it is added when numbered, else nothing is.
      const statsOfDigest = async (number?: number, fromSeq?: number) => {
        let seen: RangeStats | undefined;
        await f.log.addDigest((_previous, head, stats) => {
          seen = stats;
          if (number === undefined || fromSeq === undefined) return undefined;
          return { number, fromSeq, toSeq: head.seq, createdAt: 1, doc: '{}' };
        });
        return seen;
      };
      assert.deepEqual(await statsOfDigest(1, 1), {
        count: 4,
        oldestEventTime: 1_700_000_010_000,
        newestEventTime: 1_700_000_090_000,
      });
      // The next digest: only the records after the first, whatever the first held.
      assert.deepEqual(await statsOfDigest(), { count: 0, oldestEventTime: undefined, newestEventTime: undefined });
      await f.log.append([at(5, 70), at(6, 60)], link);
      assert.deepEqual(await statsOfDigest(2, 5), {
        count: 2,
        oldestEventTime: 1_700_000_060_000,
        newestEventTime: 1_700_000_070_000,
      });
    });

    it('adds numbered digests over the range after the previous one, and prunes keeping the head', async () => {
      await f.log.append([event(1), event(2)], link);
      const make = (prevNumber: number, from: number, to: number, count: number) => ({
        number: prevNumber + 1,
        fromSeq: from,
        toSeq: to,
        createdAt: 1,
        doc: `{"count":${count}}`,
      });
      const d1 = await f.log.addDigest((previous, head, stats) => {
        assert.equal(previous, undefined);
        assert.equal(head.seq, 2);
        assert.deepEqual(stats, { count: 2, oldestEventTime: event(1).eventTime, newestEventTime: event(2).eventTime });
        return make(0, 1, head.seq, stats.count);
      });
      assert.equal(d1?.number, 1);
      await f.log.append([event(3)], link);
      const d2 = await f.log.addDigest((previous, head, stats) => {
        assert.equal(previous?.toSeq, 2);
        assert.equal(stats.count, 1);
        return make(previous?.number ?? 0, 3, head.seq, stats.count);
      });
      assert.equal(d2?.number, 2);
      assert.equal(await f.log.addDigest(() => undefined), undefined);
      assert.deepEqual(
        (await f.log.digests()).map((d) => [d.number, d.fromSeq, d.toSeq]),
        [
          [1, 1, 2],
          [2, 3, 3],
        ],
      );
      // The digests that end at a seq or after: what retention reads.
      const from = async (seq: number, limit: number) => (await f.log.digestsFrom(seq, limit)).map((d) => d.number);
      assert.deepEqual(await from(1, 10), [1, 2]);
      assert.deepEqual(await from(2, 10), [1, 2]);
      assert.deepEqual(await from(3, 10), [2]);
      assert.deepEqual(await from(4, 10), []);
      assert.deepEqual(await from(1, 1), [1]);
      const head = await f.log.head();
      assert.equal(await f.log.prune(2), 2);
      assert.deepEqual(
        (await f.log.readRange(0, 10)).map((e) => e.seq),
        [3],
      );
      assert.deepEqual(await f.log.lookup({ keyArn: KEY_A }, 10).then((r) => r.map((e) => e.seq)), [3]);
      assert.deepEqual(await f.log.head(), head);
      await f.log.append([event(4)], link);
      assert.equal((await f.log.getEvent(4))?.prevHash, head.hash);
    });
  });
}
