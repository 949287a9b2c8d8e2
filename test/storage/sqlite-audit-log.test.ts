import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/storage/sqlite/migrations.js';
import { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
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

describe('SqliteAuditLog: lookup indexes built after the append', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trent-audit-index-'));
    path = join(dir, 'trent.db');
    SqliteStore.open(path).close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const indexedSeq = () => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT indexed_seq FROM audit_index_state').pluck().get();
    } finally {
      db.close();
    }
  };

  it('leaves the indexes to after the append, and every read brings them up to date first', async () => {
    const log = SqliteAuditLog.open(path);
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

  it('catches up on its own while records keep coming, without a read', async () => {
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
      const log = SqliteAuditLog.open(${JSON.stringify(path)});
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
    old.prepare('INSERT INTO audit_head (id, seq, hash, started_at) VALUES (1, 1, ?, 0)').run('h1');
    old.close();
    const log = SqliteAuditLog.open(path);
    try {
      assert.equal(indexedSeq(), 1);
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
});

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
