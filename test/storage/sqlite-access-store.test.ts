import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteAccessStore } from '../../src/storage/sqlite/sqlite-access-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { runAccessStoreContract } from './access-store-contract.js';

runAccessStoreContract('SqliteAccessStore (beside a SqliteStore on one file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trent-access-'));
  const path = join(dir, 'trent.db');
  const store = SqliteStore.open(path);
  const access = SqliteAccessStore.open(path);
  return {
    access,
    store,
    reopen: async () => SqliteAccessStore.open(path),
    forgetGrantCounts: async () => {
      const db = new Database(path);
      try {
        db.exec(`DROP TRIGGER grant_counts_insert; DROP TRIGGER grant_counts_delete; DROP TABLE grant_counts;
          DROP INDEX grants_by_grantee; DROP INDEX grants_by_name; DELETE FROM schema_migrations WHERE version >= 15;`);
      } finally {
        db.close();
      }
    },
    cleanup: async () => {
      await access.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
