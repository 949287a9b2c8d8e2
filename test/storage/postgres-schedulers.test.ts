import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteDueKeys } from '../../src/keys/delete-due-keys.js';
import { KeyRepository } from '../../src/keys/key-repository.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SchedulerLock } from '../../src/storage/postgres/scheduler-lock.js';
import type { KeyRecord } from '../../src/storage/records.js';
import { keyRecord } from '../helpers/key-record.js';
import { createTestSchema } from '../helpers/postgres.js';

function pendingKey(n: number): KeyRecord {
  return keyRecord(`00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, {
    keyState: 'PendingDeletion',
    deletionDate: 1_700_000_000_000 + n,
  });
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(20);
  }
}

describe('Schedulers on several PostgreSQL nodes', () => {
  it('one node holds the scheduler lock; another takes over when it goes', async () => {
    const schema = await createTestSchema();
    const events: string[] = [];
    const lock = (name: string) =>
      new SchedulerLock(
        schema.url,
        { acquired: () => events.push(`${name} acquired`), lost: () => events.push(`${name} lost`) },
        100,
      );
    const a = lock('a');
    const b = lock('b');
    try {
      await a.start();
      await b.start();
      assert.equal(a.held, true);
      assert.equal(b.held, false);
      await sleep(300);
      assert.equal(b.held, false, 'still held by a');
      await a.close(); // a node stopping (or dying: its session ends either way)
      await until(() => b.held, 2000);
      assert.deepEqual(events, ['a acquired', 'b acquired']);
    } finally {
      await a.close();
      await b.close();
      await schema.drop();
    }
  });

  it('a node whose lock connection is killed loses the lock, and the other takes it', async () => {
    const schema = await createTestSchema();
    const store = await PostgresStore.open(schema.url);
    const events: string[] = [];
    const a = new SchedulerLock(schema.url, { acquired: () => events.push('a+'), lost: () => events.push('a-') }, 100);
    const b = new SchedulerLock(schema.url, { acquired: () => events.push('b+'), lost: () => events.push('b-') }, 100);
    try {
      await a.start();
      await b.start();
      // Terminate the backend holding the lock, as a crashed node's session would end.
      const admin = await import('../helpers/postgres.js');
      await admin.adminQuery(
        `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted AND a.application_name = $1`,
        [schema.name],
      );
      await until(() => events.includes('a-') && (a.held || b.held), 3000);
      await sleep(300);
      assert.equal(events[0], 'a+');
      assert.equal(events[1], 'a-');
      assert.ok(a.held !== b.held, 'exactly one node holds it again');
    } finally {
      await a.close();
      await b.close();
      await store.close();
      await schema.drop();
    }
  });

  it('two nodes racing the deletion scheduler delete each due key exactly once', async () => {
    const schema = await createTestSchema();
    const storeA = await PostgresStore.open(schema.url);
    const storeB = await PostgresStore.open(schema.url);
    try {
      const rootKey = randomBytes(32);
      const n = 60;
      for (let i = 1; i <= n; i++) await storeA.insertKey(pendingKey(i), []);
      const now = 1_800_000_000_000;
      const [byA, byB] = await Promise.all([
        deleteDueKeys(new KeyRepository(storeA, rootKey), now, 7),
        deleteDueKeys(new KeyRepository(storeB, rootKey), now, 7),
      ]);
      const all = [...byA, ...byB].map((k) => k.arn);
      assert.equal(all.length, n, `A deleted ${byA.length}, B ${byB.length}`);
      assert.equal(new Set(all).size, n, 'no key reported deleted twice');
      assert.equal(await storeA.countKeys('111122223333', 'eu-west-1'), 0);
    } finally {
      await storeA.close();
      await storeB.close();
      await schema.drop();
    }
  });
});
