import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { auditIndexPath } from '../../src/storage/sqlite/audit-index.js';
import { MIGRATIONS } from '../../src/storage/sqlite/migrations.js';
import { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { SqliteConnections } from '../../src/storage/sqlite/wal-database.js';
import { event, KEY_A, KEY_B, link, runAuditLogContract } from './audit-log-contract.js';

runAuditLogContract('SqliteAuditLog (beside a SqliteStore on one file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trent-audit-'));
  const path = join(dir, 'trent.db');
  const store = SqliteStore.open(path);
  const log = SqliteAuditLog.open(path);
  return {
    log,
    reopen: async () => SqliteAuditLog.open(path),
    cleanup: async () => {
      await log.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteAuditLog: lookup indexes built after the append, in a file of their own', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trent-audit-index-'));
    path = join(dir, 'trent.db');
    SqliteStore.open(path).close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const indexedSeq = () => {
    const db = new Database(auditIndexPath(path), { readonly: true });
    try {
      return db.prepare('SELECT indexed_seq FROM audit_index_state').pluck().get();
    } finally {
      db.close();
    }
  };

  it('leaves the indexes to after the append, and every read brings them up to date first', async () => {
    // Without the index thread, so that nothing but the reads below indexes.
    const log = SqliteAuditLog.open(path, { indexInBackground: false });
    try {
      await log.append([usage(1, KEY_A), usage(2, KEY_B)], link);
      // Nothing indexed by the append's own transaction…
      assert.equal(indexedSeq(), 0);
      // …yet a read sees everything appended, here and in a process that only reads.
      assert.equal((await log.keyLastUsage(KEY_B))?.eventId, 'event-2');
      assert.equal(indexedSeq(), 2);
      await log.append([usage(3, KEY_A)], link);
      const reader = SqliteAuditLog.open(path);
      try {
        assert.deepEqual(
          (await reader.lookup({ keyArn: KEY_A }, 10)).map((e) => e.seq),
          [3, 1],
        );
        assert.equal((await reader.lookup({ eventName: 'Decrypt' }, 10)).length, 0);
        assert.equal(await reader.firstSeqAtOrAfter(usage(3, KEY_A).eventTime), 3);
      } finally {
        await reader.close();
      }
    } finally {
      await log.close();
    }
  });

  it('catches up on its own (on its thread) while records keep coming, without a read', async () => {
    const log = SqliteAuditLog.open(path);
    try {
      await log.append([usage(1, KEY_A)], link);
      const deadline = Date.now() + 5_000;
      while (indexedSeq() !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(indexedSeq(), 1);
    } finally {
      await log.close();
    }
  });

  it('resumes after a crash that left records unindexed', async () => {
    // Another process appends and dies at once, before its indexes could catch up.
    const module = new URL('../../src/storage/sqlite/sqlite-audit-log.js', import.meta.url).href;
    const script = `
      const { SqliteAuditLog } = await import(${JSON.stringify(module)});
      const log = SqliteAuditLog.open(${JSON.stringify(path)}, { indexInBackground: false });
      await log.append(${JSON.stringify([usage(1, KEY_A), usage(2, KEY_A)])}, (prev, text) => prev + '.');
      process.exit(0);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(indexedSeq(), 0);
    const next = SqliteAuditLog.open(path);
    try {
      assert.equal((await next.keyLastUsage(KEY_A))?.eventId, 'event-2');
      assert.deepEqual(
        (await next.lookup({ principalArn: 'arn:aws:iam::111122223333:root' }, 10)).map((e) => e.seq),
        [2, 1],
      );
      assert.equal(indexedSeq(), 2);
    } finally {
      await next.close();
    }
  });

  it('migrates a log written before the indexes moved: old records indexed, new ones indexed after', async () => {
    rmSync(path);
    // A store at schema 7 with one audit record indexed the old way.
    const old = new Database(path);
    applyMigrationsUpTo(old, 7);
    old
      .prepare(
        `INSERT INTO audit_events (seq, event_id, request_id, event_time, event_name, principal, account_id,
         error_code, read_only, key_arns, usage, record, prev_hash, hash)
       VALUES (1, 'event-1', 'request-1', 1700000001000, 'Encrypt', 'arn:aws:iam::111122223333:root', '111122223333',
         NULL, 1, ?, 1, '{"n":1}', ?, 'h1')`,
      )
      .run(KEY_A, '0'.repeat(64));
    old.prepare('INSERT INTO audit_event_keys (key_arn, seq) VALUES (?, 1)').run(KEY_A);
    // KEY_B's last use was in a record pruned since: only this row remembers it.
    const b = PRUNED_USE_OF_B;
    old
      .prepare(
        'INSERT INTO audit_key_usage (key_arn, operation, event_time, event_id, request_id) VALUES (?, ?, ?, ?, ?)',
      )
      .run(KEY_B, b.operation, b.eventTime, b.eventId, b.requestId);
    old.prepare('INSERT INTO audit_head (id, seq, hash, started_at) VALUES (1, 1, ?, 0)').run('h1');
    old.close();
    const log = SqliteAuditLog.open(path);
    try {
      const tables = new Database(path, { readonly: true });
      try {
        const left = tables
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'audit_%' ORDER BY name")
          .pluck()
          .all();
        assert.deepEqual(left, ['audit_digests', 'audit_events', 'audit_head']);
      } finally {
        tables.close();
      }
      assert.deepEqual(await log.keyLastUsage(KEY_B), PRUNED_USE_OF_B);
      await log.append([usage(2, KEY_A)], link);
      assert.deepEqual(
        (await log.lookup({ eventName: 'Encrypt', from: 1700000001000 }, 10)).map((e) => e.seq),
        [2, 1],
      );
      assert.deepEqual(
        (await log.lookup({ keyArn: KEY_A }, 10)).map((e) => e.seq),
        [2, 1],
      );
    } finally {
      await log.close();
    }
  });

  it('migrates a log whose head kept no event times: the undigested records found at the upgrade', async () => {
    rmSync(path);
    // Schema 11: records 1-2 under a digest, 3-4 after it, their times out of order.
    const old = new Database(path);
    applyMigrationsUpTo(old, 11);
    const insert = old.prepare(
      `INSERT INTO audit_events (seq, event_id, request_id, event_time, event_name, principal, account_id,
       error_code, read_only, key_arns, usage, record, prev_hash, hash)
       VALUES (?, ?, ?, ?, 'Encrypt', NULL, '111122223333', NULL, 1, '', 1, '{}', 'p', 'h')`,
    );
    for (const [seq, time] of [
      [1, 1_000],
      [2, 2_000],
      [3, 9_000],
      [4, 5_000],
    ] as const) {
      insert.run(seq, `event-${seq}`, `request-${seq}`, time);
    }
    old
      .prepare("INSERT INTO audit_digests (number, from_seq, to_seq, created_at, doc) VALUES (1, 1, 2, 0, '{}')")
      .run();
    old.prepare("INSERT INTO audit_head (id, seq, hash, started_at) VALUES (1, 4, 'h', 0)").run();
    old.close();
    const log = SqliteAuditLog.open(path);
    try {
      let seen: unknown;
      await log.addDigest((_previous, _head, stats) => {
        seen = stats;
        return undefined;
      });
      assert.deepEqual(seen, { count: 2, oldestEventTime: 5_000, newestEventTime: 9_000 });
    } finally {
      await log.close();
    }
  });

  it('upgrades an index file of version 1 (last uses by ARN), keeping the last uses of pruned records', async () => {
    const first = SqliteAuditLog.open(path, { now: () => 1_000 });
    await first.append([usage(1, KEY_A), usage(2, KEY_A)], link);
    await first.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(auditIndexPath(path) + suffix, { force: true });
    const v1 = new Database(auditIndexPath(path));
    v1.exec(`
      CREATE TABLE audit_index (seq INTEGER NOT NULL PRIMARY KEY, event_time INTEGER NOT NULL,
        event_name TEXT NOT NULL, principal TEXT);
      CREATE TABLE audit_event_keys (key_arn TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key_arn, seq))
        WITHOUT ROWID;
      CREATE TABLE audit_key_usage (key_arn TEXT NOT NULL PRIMARY KEY, operation TEXT NOT NULL,
        event_time INTEGER NOT NULL, event_id TEXT NOT NULL, request_id TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE audit_index_state (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        indexed_seq INTEGER NOT NULL, log_started_at INTEGER NOT NULL);
      INSERT INTO audit_index_state VALUES (1, 2, 1000);
      PRAGMA user_version = 1;`);
    const row = v1.prepare('INSERT INTO audit_key_usage VALUES (?, ?, ?, ?, ?)');
    row.run(KEY_A, 'Encrypt', usage(1, KEY_A).eventTime, 'event-1', 'request-1');
    // KEY_B's last use was in a record pruned since: only this row remembers it.
    const b = PRUNED_USE_OF_B;
    row.run(KEY_B, b.operation, b.eventTime, b.eventId, b.requestId);
    v1.close();
    const log = SqliteAuditLog.open(path);
    try {
      assert.equal((await log.keyLastUsage(KEY_A))?.eventId, 'event-2');
      assert.deepEqual(await log.keyLastUsage(KEY_B), PRUNED_USE_OF_B);
      assert.deepEqual(
        (await log.lookup({ keyArn: KEY_A }, 10)).map((e) => e.seq),
        [2, 1],
      );
      assert.equal(indexedSeq(), 2);
    } finally {
      await log.close();
    }
  });

  it('empties an index file left by another log instead of mixing the two', async () => {
    const first = SqliteAuditLog.open(path, { now: () => 1_000 });
    await first.append([usage(1, KEY_A), usage(2, KEY_A)], link);
    assert.equal((await first.keyLastUsage(KEY_A))?.eventId, 'event-2');
    await first.close();
    // The log goes, its index file stays: a new log starts at seq 1 again.
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    SqliteStore.open(path).close();
    const second = SqliteAuditLog.open(path, { now: () => 2_000 });
    try {
      assert.equal(await second.keyLastUsage(KEY_A), undefined);
      await second.append([usage(3, KEY_B)], link);
      assert.deepEqual(
        (await second.lookup({}, 10)).map((e) => e.eventId),
        ['event-3'],
      );
    } finally {
      await second.close();
    }
  });

  it('rebuilds a missing index file from the records', async () => {
    const first = SqliteAuditLog.open(path);
    await first.append([usage(1, KEY_A), usage(2, KEY_B)], link);
    await first.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(auditIndexPath(path) + suffix, { force: true });
    const again = SqliteAuditLog.open(path);
    try {
      assert.deepEqual(
        (await again.lookup({ keyArn: KEY_B }, 10)).map((e) => e.seq),
        [2],
      );
      assert.equal((await again.keyLastUsage(KEY_A))?.eventId, 'event-1');
    } finally {
      await again.close();
    }
  });

  it("prunes records and their index rows, and keeps the pruned keys' last use", async () => {
    const log = SqliteAuditLog.open(path);
    try {
      await log.append([usage(1, KEY_A), usage(2, KEY_B), usage(3, KEY_B)], link);
      assert.equal(await log.prune(2), 2);
      assert.deepEqual(
        (await log.lookup({}, 10)).map((e) => e.seq),
        [3],
      );
      assert.deepEqual(await log.lookup({ keyArn: KEY_A }, 10), []);
      assert.equal((await log.keyLastUsage(KEY_A))?.eventId, 'event-1');
      assert.equal((await log.keyLastUsage(KEY_B))?.eventId, 'event-3');
      const index = new Database(auditIndexPath(path), { readonly: true });
      try {
        assert.deepEqual(index.prepare('SELECT seq FROM audit_event_keys ORDER BY seq').pluck().all(), [3]);
        assert.deepEqual(index.prepare('SELECT seq FROM audit_index ORDER BY seq').pluck().all(), [3]);
        // Kept aside: the last use of the key whose records went, not of the one still in the log.
        assert.deepEqual(
          index
            .prepare('SELECT k.key_arn, u.event_id FROM audit_key_usage u JOIN audit_keys k ON k.ref = u.key_ref')
            .all(),
          [{ key_arn: KEY_A, event_id: 'event-1' }],
        );
      } finally {
        index.close();
      }
    } finally {
      await log.close();
    }
  });
});

describe('SqliteAuditLog: WAL checkpoints', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trent-audit-checkpoint-'));
    path = join(dir, 'trent.db');
    SqliteStore.open(path).close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** `count` records of ~1 KB from `first` on: a commit's worth. */
  const batch = (first: number, count: number) =>
    Array.from({ length: count }, (_, i) =>
      event(first + i, { record: `{"n":${first + i},"pad":"${'x'.repeat(1000)}"}` }),
    );

  /** Appends `batches` commits of 16 records, a turn of the event loop after each (for the thread's answers). */
  const appendBatches = async (log: SqliteAuditLog, batches: number) => {
    for (let b = 0; b < batches; b++) {
      await log.append(batch(b * 16 + 1, 16), link);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  it('checkpoints on the index thread; the appending connection checkpoints itself only as a backstop', async () => {
    const connections = new SqliteConnections();
    const log = SqliteAuditLog.open(path, { connections });
    const shared = connections.acquire(path, () => {
      throw new Error('the log should hold the connection');
    });
    try {
      assert.equal(shared.db.pragma('wal_autocheckpoint', { simple: true }), 10_000);
      const before = statSync(path).size;
      // ~2,000 records: past the thread's checkpoint interval (1,000 pages), far short of the backstop.
      await appendBatches(log, 125);
      // A read waits for the thread, which takes its messages in order: the checkpoint came first.
      await log.keyLastUsage(KEY_A);
      assert.ok(statSync(path).size > before + 1_000_000, 'the records were copied into the database file');
    } finally {
      shared.release();
      await log.close();
    }
  });

  it('checkpoints on the appending connection when there is no index thread', async () => {
    const log = SqliteAuditLog.open(path, { indexInBackground: false });
    try {
      const before = statSync(path).size;
      await appendBatches(log, 125);
      assert.ok(statSync(path).size > before + 1_000_000, 'the records were copied into the database file');
    } finally {
      await log.close();
    }
  });

  it("starts the WAL from its beginning again after each of the thread's checkpoints, under steady appends", async () => {
    const log = SqliteAuditLog.open(path);
    try {
      // ~9,000 pages of WAL written (~6.5 a commit of 16), each commit during the thread's copy as
      // likely as under load: without the event loop's checkpoint after the thread's, the WAL would
      // grow to all of them (the backstop is at 10,000). It starts over every ~1,000 pages; the
      // margin is for a busy machine's thread that answers late.
      await appendBatches(log, 1_350);
      const walPages = statSync(`${path}-wal`).size / (4096 + 24);
      assert.ok(walPages < 6_000, `the WAL grew to ${Math.round(walPages)} pages`);
      assert.equal((await log.head()).seq, 1_350 * 16);
    } finally {
      await log.close();
    }
  });
});

/** KEY_B's last use, in a record pruned long ago: only a last-use row remembers it. */
const PRUNED_USE_OF_B = {
  keyArn: KEY_B,
  operation: 'Decrypt',
  eventTime: 1600000000000,
  eventId: 'event-0',
  requestId: 'request-0',
};

/** An Encrypt by the account root on `keyArn`, at second `n`. */
const usage = (n: number, keyArn: string) => event(n, { keyArns: [keyArn] });

/** The schema as an older Trent left it: migrations up to `version` only. */
function applyMigrationsUpTo(db: Database.Database, version: number): void {
  db.pragma('journal_mode = WAL');
  db.exec(
    'CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(m.version, m.name);
  }
}
