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

/**
 * Runs a function in a write transaction on `db`: BEGIN IMMEDIATE … COMMIT (a savepoint when
 * nested), rolled back if it throws. IMMEDIATE takes the write lock up front, so another process
 * holding it makes us wait (busy_timeout) instead of failing mid-transaction on an upgrade. Build it
 * once per connection: better-sqlite3's `transaction()` makes four wrappers and defines their
 * properties, ~12 µs a call here (a one-row transaction in `:memory:`: 16 µs built each time, 4 µs
 * built once).
 */
export function writeTransactions(db: Database.Database): <T>(fn: () => T) => T {
  return db.transaction(<T>(fn: () => T): T => fn()).immediate as <T>(fn: () => T) => T;
}

/** A connection handed out by SqliteConnections: `release` once, when done with it. */
export interface SharedConnection {
  readonly db: Database.Database;
  release(): void;
}

/**
 * One process's connections to its SQLite files: one per file, shared by the adapters that open it
 * (by default the store, the access store and the audit log all live in trent.db), and closed
 * when the last of them is released.
 *
 * Why share: in WAL mode a connection drops its whole page cache whenever another connection has
 * committed to the file. The audit log commits on every request, so a store on a connection of its
 * own read each key it had not cached (a key's first use, ListKeys, grants) through an empty page
 * cache: ~50 µs a point read among 100,000 keys against ~10 µs (docs/performance-log.md).
 */
export class SqliteConnections {
  readonly #open = new Map<string, { db: Database.Database; users: number }>();

  /** The connection to `path` (an absolute path), made by `open` if there is none yet. */
  acquire(path: string, open: () => Database.Database): SharedConnection {
    let entry = this.#open.get(path);
    if (entry === undefined) {
      entry = { db: open(), users: 0 };
      this.#open.set(path, entry);
    }
    const shared = entry;
    shared.users += 1;
    let released = false;
    return {
      db: shared.db,
      release: () => {
        if (released) return;
        released = true;
        shared.users -= 1;
        if (shared.users > 0) return;
        if (this.#open.get(path) === shared) this.#open.delete(path);
        if (shared.db.open) shared.db.close();
      },
    };
  }
}

/**
 * A connection to `path` opened by openWalDatabase at synchronous=FULL: `connections`' shared one
 * when given, else one of the caller's own.
 */
export function connectWal(path: string, what: string, connections?: SqliteConnections): SharedConnection {
  const open = () => openWalDatabase(path, what, 'FULL');
  return connections?.acquire(path, open) ?? ownConnection(open());
}

/** A connection of the caller's own: released means closed. */
export function ownConnection(db: Database.Database): SharedConnection {
  return {
    db,
    release: () => {
      if (db.open) db.close();
    },
  };
}
