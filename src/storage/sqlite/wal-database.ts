import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Opens the SQLite file at `path` — created readable by its owner only if it is not there — in WAL
 * mode, waiting up to 5 s for another connection's write lock, at the given `synchronous` level.
 * `what` names the file in the error when WAL cannot be had.
 */
export function openWalDatabase(path: string, what: string, synchronous: 'FULL' | 'NORMAL'): Database.Database {
  closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path, { timeout: 5000 });
  try {
    db.pragma('busy_timeout = 5000');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`${what} ${path}: cannot switch to WAL mode (got '${String(mode)}')`);
    db.pragma(`synchronous = ${synchronous}`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
