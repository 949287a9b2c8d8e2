import { mkdirSync } from 'node:fs';
import { type Deployment, setUpDeployment } from '../server/first-start.js';
import { rootKeySource, setUpRootKey } from '../server/root-key-setup.js';
import { resolveSettings } from '../server/settings.js';
import { openStore } from '../storage/open-store.js';
import type { Store } from '../storage/store.js';

/**
 * Opens a deployment's store for an admin command, with the same options and environment the
 * server takes. The store may be in use by a running server: SQLite in WAL mode lets both work.
 */
export interface OpenDeployment {
  store: Store;
  rootKey: Buffer;
  deployment: Deployment;
}

export interface StoreOptions {
  dataDir?: string;
  store?: string;
}

export async function openDeployment(options: StoreOptions): Promise<OpenDeployment> {
  const settings = resolveSettings({ dataDir: options.dataDir, store: options.store }, process.env);
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(settings.store, settings.dataDir);
  try {
    const rootKey = await setUpRootKey(store, rootKeySource(settings.dataDir, process.env), process.env);
    const deployment = await setUpDeployment(store, rootKey, settings.dataDir, undefined, Date.now());
    return { store, rootKey, deployment };
  } catch (err) {
    await store.close();
    throw err;
  }
}

export function addStoreOptions<T extends { option(flags: string, description: string): T }>(command: T): T {
  return command
    .option('--data-dir <dir>', "the deployment's data directory (default .trent; env TRENT_DATA_DIR)")
    .option('--store <spec>', 'the store, as for trent server (env TRENT_STORE)');
}
