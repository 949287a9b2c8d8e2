import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { runAuditLogContract } from './audit-log-contract.js';

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
