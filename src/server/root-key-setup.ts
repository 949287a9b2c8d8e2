import { join } from 'node:path';
import { createRootKeyFile, keyCheckValue, loadRootKey, RootKeyError, type RootKeySource } from '../crypto/root-key.js';
import type { Store } from '../storage/store.js';

/**
 * Finds the root key for a store, or refuses to start.
 *
 * The store keeps a key-check value of its root key. A store that has one needs the same root key
 * back: a missing source is an error (losing the root key loses every key — a new one would only
 * hide that), and a different key is an error. Only a store without one — a new deployment — gets a
 * new root key file.
 */
export const ROOT_KEY_FILE = 'root.key';
const CHECK = 'root-key-check';

export function rootKeySource(dataDir: string, env: NodeJS.ProcessEnv): RootKeySource {
  if (env.TRENT_ROOT_KEY !== undefined) return { kind: 'env', location: 'TRENT_ROOT_KEY' };
  return { kind: 'file', location: env.TRENT_ROOT_KEY_FILE ?? join(dataDir, ROOT_KEY_FILE) };
}

export async function setUpRootKey(store: Store, source: RootKeySource, env: NodeJS.ProcessEnv): Promise<Buffer> {
  const expected = await store.getMeta(CHECK);
  const where = source.kind === 'env' ? `environment variable ${source.location}` : `file ${source.location}`;
  let rootKey = loadRootKey(source, env);
  if (rootKey === undefined) {
    if (expected !== undefined || source.kind === 'env') {
      throw new RootKeyError(
        `The root key (${where}) is missing, but this store holds keys wrapped under one. Restore the root key; without it no key in the store can be used.`,
      );
    }
    rootKey = createRootKeyFile(source.location);
  }
  const stored = await store.putMetaIfAbsent(CHECK, keyCheckValue(rootKey));
  if (stored !== keyCheckValue(rootKey)) {
    throw new RootKeyError(`The root key (${where}) is not the root key of this store. Refusing to start.`);
  }
  return rootKey;
}
