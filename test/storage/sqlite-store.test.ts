import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/storage/open-store.js';
import type { BackingKeyRecord, KeyRecord } from '../../src/storage/records.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, SchemaTooNewError } from '../../src/storage/sqlite/migrations.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { keyRecord as key } from '../helpers/key-record.js';
import { runStoreContract } from './contract.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'trent-sqlite-'));
}

runStoreContract('SqliteStore', async () => {
  const dir = tempDir();
  const path = join(dir, 'trent.db');
  const store = SqliteStore.open(path);
  return {
    store,
    reopen: async () => SqliteStore.open(path),
    forgetKeyCounts: async () => {
      withRawDb(path, (db) =>
        // As before migration 13, and so before 14 (the change feed naming grants) and 15 (grant
        // counts) too.
        db.exec(`DROP TRIGGER key_counts_insert; DROP TRIGGER key_counts_delete; DROP TABLE key_counts;
          DROP TRIGGER changes_grant_insert; DROP TRIGGER changes_grant_update; DROP TRIGGER changes_grant_delete;
          ALTER TABLE changes DROP COLUMN grant_id;
          DROP TRIGGER grant_counts_insert; DROP TRIGGER grant_counts_delete; DROP TABLE grant_counts;
          DROP INDEX grants_by_grantee; DROP INDEX grants_by_name;
          DELETE FROM schema_migrations WHERE version >= 13;`),
      );
    },
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** Opens the file beside the store, as an operator's sqlite3 shell would. */
function withRawDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function backing(k: KeyRecord, wrapped: Buffer): BackingKeyRecord {
  return { keyArn: k.arn, materialId: randomBytes(32).toString('hex'), wrapped, createdAt: 0 };
}

/** Every file in `dir` (db, -wal, -shm) whose bytes contain any 16-byte window of `secret`. */
function filesHolding(dir: string, secret: Buffer): string[] {
  const windows = [0, 16, 32, 48].map((at) => secret.subarray(at, at + 16));
  return readdirSync(dir).filter((name) => {
    const bytes = readFileSync(join(dir, name));
    return windows.some((w) => bytes.includes(w));
  });
}

describe('SqliteStore on disk', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = tempDir();
    path = join(dir, 'trent.db');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('numbers migrations 1, 2, 3… in order', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
    assert.equal(LATEST_SCHEMA_VERSION, MIGRATIONS.length);
  });

  it('records each migration once, across reopens', async () => {
    await SqliteStore.open(path).close();
    const read = () =>
      withRawDb(path, (db) =>
        db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all(),
      );
    const first = read();
    assert.deepEqual(
      first.map((r) => {
        const { version, name } = r as { version: number; name: string };
        return { version, name };
      }),
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );
    await SqliteStore.open(path).close();
    assert.deepEqual(read(), first);
  });

  it('refuses a store migrated by a newer Trent, naming both versions', async () => {
    await SqliteStore.open(path).close();
    const newer = LATEST_SCHEMA_VERSION + 1;
    withRawDb(path, (db) => {
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        newer,
        'from the future',
        Date.now(),
      );
    });
    assert.throws(
      () => SqliteStore.open(path),
      (err: unknown) => {
        assert.ok(err instanceof SchemaTooNewError);
        assert.equal(err.storeVersion, newer);
        assert.equal(err.knownVersion, LATEST_SCHEMA_VERSION);
        assert.match(err.message, new RegExp(`schema is at version ${newer}\\b`));
        assert.match(err.message, new RegExp(`up to ${LATEST_SCHEMA_VERSION}\\b`));
        return true;
      },
    );
    // The refusal left the store as it was and holds no lock on it.
    withRawDb(path, (db) => {
      const max = db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get();
      assert.equal(max, newer);
      db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(newer);
    });
    await SqliteStore.open(path).close();
  });

  it('runs in WAL mode', async () => {
    const store = SqliteStore.open(path);
    try {
      await store.putMetaIfAbsent('probe', 'x');
      assert.ok(existsSync(`${path}-wal`), 'no -wal file beside the database');
      withRawDb(path, (db) => {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      });
    } finally {
      await store.close();
    }
  });

  it('leaves no trace of deleted wrapped material in any file', async () => {
    const store = SqliteStore.open(path);
    try {
      const kept = key('kept-key');
      await store.insertKey(kept, [backing(kept, randomBytes(64))]);
      const checkpointed = key('checkpointed-key');
      const checkpointedBlob = randomBytes(64);
      await store.insertKey(checkpointed, [backing(checkpointed, checkpointedBlob)]);
      // Copy it into the main file too, as an automatic checkpoint would have by now.
      withRawDb(path, (db) => db.pragma('wal_checkpoint(TRUNCATE)'));
      const walOnly = key('wal-only-key');
      const walOnlyBlob = randomBytes(64);
      await store.insertKey(walOnly, [backing(walOnly, walOnlyBlob)]);
      // The scan must see them while they exist, or its silence later proves nothing.
      assert.ok(filesHolding(dir, checkpointedBlob).includes('trent.db'));
      assert.deepEqual(filesHolding(dir, walOnlyBlob), ['trent.db-wal']);

      assert.equal(await store.deleteKey(checkpointed.arn), true);
      assert.equal(await store.deleteKey(walOnly.arn), true);

      assert.deepEqual(filesHolding(dir, checkpointedBlob), []);
      assert.deepEqual(filesHolding(dir, walOnlyBlob), []);
      assert.equal((await store.getBackingKeys(kept.arn)).length, 1);
    } finally {
      await store.close();
    }
    assert.deepEqual(readdirSync(dir), ['trent.db']);
  });

  it('lets two stores on one file agree on putMetaIfAbsent', async () => {
    const a = SqliteStore.open(path);
    const b = SqliteStore.open(path);
    try {
      assert.equal(await a.putMetaIfAbsent('deployment-id', 'from-a'), 'from-a');
      assert.equal(await b.putMetaIfAbsent('deployment-id', 'from-b'), 'from-a');
      assert.equal(await b.getMeta('deployment-id'), 'from-a');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('openStore', () => {
  let dir: string;

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens <dataDir>/trent.db when no store is named', async () => {
    for (const spec of [undefined, '']) {
      const store = await openStore(spec, dir);
      await store.putMetaIfAbsent('spec', String(spec));
      await store.close();
    }
    assert.ok(existsSync(join(dir, 'trent.db')));
    withRawDb(join(dir, 'trent.db'), (db) => {
      assert.equal(db.prepare("SELECT value FROM meta WHERE name = 'spec'").pluck().get(), 'undefined');
    });
  });

  it('resolves a relative sqlite: path against the working directory', async () => {
    const file = join(dir, 'elsewhere.db');
    const store = await openStore(`sqlite:${relative(process.cwd(), file)}`, '/nonexistent');
    await store.close();
    assert.ok(existsSync(file));
  });

  it('opens an absolute sqlite: path', async () => {
    const file = join(dir, 'absolute.db');
    await (await openStore(`sqlite:${file}`, '/nonexistent')).close();
    assert.ok(existsSync(file));
  });

  it('refuses other schemes, saying what it accepts', async () => {
    await assert.rejects(openStore('mysql://trent:pw@db/trent', dir), {
      message: "Unsupported store 'mysql://trent:***@db/trent': use sqlite:PATH or postgres://…",
    });
    await assert.rejects(openStore('sqlite:', dir), /names no file/);
  });
});
