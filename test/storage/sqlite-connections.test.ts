import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { linkRecord } from '../../src/audit/chain.js';
import { SqliteAccessStore } from '../../src/storage/sqlite/sqlite-access-store.js';
import { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { openWalDatabase, SqliteConnections } from '../../src/storage/sqlite/wal-database.js';
import { keyRecord as key } from '../helpers/key-record.js';

/** One connection per SQLite file, shared by a server's store, access store and audit log. */

function tempFile(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'trent-connections-'));
  return { path: join(dir, 'trent.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const event = (n: number) => ({
  eventId: `event-${n}`,
  requestId: `request-${n}`,
  eventTime: 1_700_000_000_000 + n,
  eventName: 'Encrypt',
  principalArn: 'arn:aws:iam::111122223333:user/alice',
  accountId: '111122223333',
  errorCode: undefined,
  readOnly: true,
  keyArns: [],
  countsAsUsage: false,
  record: JSON.stringify({ n }),
});

describe('SqliteConnections', () => {
  it('hands out one connection per file and closes it when the last user releases it', () => {
    const file = tempFile();
    const other = tempFile();
    try {
      const connections = new SqliteConnections();
      const open = (path: string) => () => openWalDatabase(path, 'test', 'FULL');
      const a = connections.acquire(file.path, open(file.path));
      const b = connections.acquire(file.path, open(file.path));
      const c = connections.acquire(other.path, open(other.path));
      assert.equal(a.db, b.db);
      assert.notEqual(a.db, c.db);
      a.release();
      a.release(); // a second release of the same handle does not count again
      assert.equal(b.db.open, true);
      b.release();
      assert.equal(b.db.open, false);
      assert.equal(c.db.open, true);
      const again = connections.acquire(file.path, open(file.path));
      assert.notEqual(again.db, a.db);
      assert.equal(again.db.open, true);
      again.release();
      c.release();
    } finally {
      file.remove();
      other.remove();
    }
  });

  it('lets the store, the access store and the audit log close in any order, each working until its own close', async () => {
    const file = tempFile();
    try {
      const connections = new SqliteConnections();
      const store = SqliteStore.open(file.path, { connections });
      const access = SqliteAccessStore.open(file.path, connections);
      const log = SqliteAuditLog.open(file.path, { connections, indexInBackground: false });
      const k = key('1234abcd-12ab-34cd-56ef-1234567890ab');
      await store.insertKey(k, []);
      await store.close();
      // The store's close leaves the shared connection open for the others.
      await log.append([event(1)], linkRecord);
      assert.deepEqual(await access.listGrants(k.arn, { limit: 10 }), []);
      await access.close();
      await log.append([event(2)], linkRecord);
      assert.equal((await log.head()).seq, 2);
      await log.close();
      // Everything the three wrote is in the file, read back through a connection of a fresh pool.
      const reopened = SqliteStore.open(file.path, { connections: new SqliteConnections() });
      try {
        assert.equal((await reopened.getKey(k.arn))?.keyId, k.keyId);
      } finally {
        await reopened.close();
      }
    } finally {
      file.remove();
    }
  });

  it('refuses a bulk load (no fsync) on a shared connection', () => {
    const file = tempFile();
    try {
      assert.throws(
        () => SqliteStore.open(file.path, { bulkLoad: true, connections: new SqliteConnections() }),
        /connection of its own/,
      );
    } finally {
      file.remove();
    }
  });

  it("leaves the store's secure_delete on after the audit log prunes without it", async () => {
    const file = tempFile();
    try {
      const connections = new SqliteConnections();
      const store = SqliteStore.open(file.path, { connections });
      const log = SqliteAuditLog.open(file.path, { connections, indexInBackground: false });
      const probe = connections.acquire(file.path, () => {
        throw new Error('the connection should already be open');
      });
      try {
        await log.append([event(1), event(2), event(3)], linkRecord);
        assert.equal(probe.db.pragma('secure_delete', { simple: true }), 1);
        assert.equal(await log.prune(2), 2);
        assert.equal(probe.db.pragma('secure_delete', { simple: true }), 1);
      } finally {
        probe.release();
        await log.close();
        await store.close();
      }
    } finally {
      file.remove();
    }
  });
});
