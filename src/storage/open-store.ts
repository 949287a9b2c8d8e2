import { resolve } from 'node:path';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

const SQLITE_SCHEME = 'sqlite:';

/**
 * Opens the store named by `--store`: `sqlite:PATH` (a relative PATH resolves against the working
 * directory), or, when no store is named, `sqlite:<dataDir>/trent.db`. The data directory must
 * already exist; this never creates directories.
 */
export async function openStore(spec: string | undefined, dataDir: string): Promise<Store> {
  if (!spec) return SqliteStore.open(resolve(dataDir, 'trent.db'));
  if (spec.startsWith(SQLITE_SCHEME)) {
    const path = spec.slice(SQLITE_SCHEME.length);
    if (path === '') throw new Error(`Store '${spec}' names no file: use sqlite:PATH`);
    return SqliteStore.open(resolve(path));
  }
  throw new Error(`Unsupported store '${spec}': use sqlite:PATH`);
}
