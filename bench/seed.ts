import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { keyArn } from '../src/keys/arn.js';
import { KeyRepository } from '../src/keys/key-repository.js';
import { rootKeySource, setUpRootKey } from '../src/server/root-key-setup.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

/**
 * `count` more keys like the model key (a symmetric key of the default account), through the key
 * repository, so each is stored exactly as CreateKey stores one. Returns every key id, model first.
 */
export async function seedKeys(dataDir: string, modelArn: string, count: number): Promise<string[]> {
  const store = SqliteStore.open(join(dataDir, 'trent.db'), { bulkLoad: true });
  try {
    const rootKey = await setUpRootKey(store, rootKeySource(dataDir, process.env), process.env);
    const keys = new KeyRepository(store, rootKey, { keys: 1, aliases: 1, materials: 1 });
    const model = await store.getKey(modelArn);
    if (model === undefined) throw new Error(`the model key ${modelArn} is not in the store`);
    const ids = [model.keyId];
    for (let i = 0; i < count; i++) {
      const keyId = randomUUID();
      const arn = keyArn(model.region, model.accountId, keyId);
      await keys.create(
        { ...model, keyId, arn, creationDate: Date.now(), description: `scale ${i}`, revision: 0 },
        randomBytes(32),
      );
      ids.push(keyId);
    }
    return ids;
  } finally {
    await store.close();
  }
}
