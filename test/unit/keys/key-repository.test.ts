import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeyRepository, newMaterialId } from '../../../src/keys/key-repository.js';
import { materialsOf } from '../../../src/keys/rotation.js';
import type { KeyRecord } from '../../../src/storage/records.js';
import { SqliteStore } from '../../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../../src/storage/store.js';
import { keyRecord } from '../../helpers/key-record.js';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';

function newKey(fields: Partial<KeyRecord> = {}): KeyRecord {
  return keyRecord(randomUUID(), { accountId: ACCOUNT, region: REGION, description: 'test', revision: 0, ...fields });
}

/** The record as the domain reads it: `materials` through materialsOf. */
function asRead(key: KeyRecord) {
  const { materials: _m, ...rest } = key;
  return { ...rest, versions: materialsOf(key) };
}

describe('KeyRepository caches', () => {
  let dir: string;
  let store: SqliteStore;
  const rootKey = randomBytes(32);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trent-key-repository-'));
    store = SqliteStore.open(join(dir, 'trent.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a cached record reads as the stored one', async () => {
    const created = await new KeyRepository(store, rootKey).create(newKey(), randomBytes(32));
    const tagged = await new KeyRepository(store, rootKey).create(
      newKey({ tags: [{ TagKey: 'team', TagValue: 'payments' }] }),
      randomBytes(32),
    );
    for (const key of [created, tagged]) {
      const fresh = new KeyRepository(store, rootKey);
      const read = await fresh.get(key.arn);
      assert.ok(read !== undefined);
      assert.deepEqual(asRead(read), asRead(key));
      assert.equal(await fresh.get(key.arn), read, 'the second read comes from the cache');
      assert.deepEqual(asRead((await new KeyRepository(store, rootKey).get(key.arn)) as KeyRecord), asRead(key));
    }
  });

  it('material: every version, cached per key, forgotten with the key', async () => {
    const keys = new KeyRepository(store, rootKey);
    const first = await keys.create(newKey(), randomBytes(32));
    const firstId = first.currentMaterialId as string;
    const once = await keys.material(first, firstId);
    assert.ok(once !== undefined);
    const firstMaterial = await keys.material(first, firstId);
    assert.notEqual(firstMaterial, once, 'cached from the second use');
    assert.equal(await keys.material(first, firstId), firstMaterial);
    const secondId = newMaterialId();
    const bytes = randomBytes(32);
    const expected = Buffer.from(bytes);
    const rotated = await keys.updateWithMaterial(first.arn, (key) => ({
      key: { ...key, currentMaterialId: secondId, materials: [...materialsOf(key), { materialId: secondId }] },
      materials: { insert: [{ materialId: secondId, material: bytes }] },
    }));
    assert.deepEqual((await keys.material(rotated, secondId))?.export(), expected);
    assert.equal(await keys.material(rotated, firstId), firstMaterial, 'the first version is still cached');
    assert.equal(await keys.material(rotated, newMaterialId()), undefined);

    const other = await keys.create(newKey(), randomBytes(32));
    assert.equal(await keys.material(rotated, other.currentMaterialId as string), undefined, "another key's version");

    assert.equal(await keys.destroy(rotated), true);
    assert.equal(await keys.material(rotated, firstId), undefined);
    assert.equal(await keys.material(rotated, secondId), undefined);
  });

  it('a pass over many keys once each leaves the material of a key in use cached', async () => {
    const keys = new KeyRepository(store, rootKey, { keys: 100, aliases: 100, materials: 4 });
    const hot = await keys.create(newKey(), randomBytes(32));
    const hotId = hot.currentMaterialId as string;
    await keys.material(hot, hotId);
    const cached = await keys.material(hot, hotId);
    for (let i = 0; i < 20; i++) {
      const other = await keys.create(newKey(), randomBytes(32));
      await keys.material(other, other.currentMaterialId as string);
    }
    assert.equal(await keys.material(hot, hotId), cached);
  });

  it('public key of the current material', async () => {
    const keys = new KeyRepository(store, rootKey);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const key = await keys.create(newKey({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' }), der);
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    assert.deepEqual(await keys.publicKey(key), spki);
    assert.equal(await keys.publicKey(key), await keys.publicKey(key));
    keys.forgetKey(key.arn);
    assert.deepEqual(await keys.publicKey(key), spki);
  });

  it('a read that a forget overtook is returned but not cached', async () => {
    const key = newKey();
    let reads = 0;
    let release = () => {};
    const slowStore = {
      getKey: async () => {
        reads++;
        if (reads === 1) await new Promise<void>((resolve) => (release = resolve));
        return key;
      },
    } as unknown as Store;
    const keys = new KeyRepository(slowStore, rootKey);
    const first = keys.get(key.arn);
    await new Promise((resolve) => setImmediate(resolve));
    keys.forgetKey(key.arn); // another process changed the key while the read was on its way
    release();
    assert.equal((await first)?.arn, key.arn);
    await keys.get(key.arn);
    assert.equal(reads, 2, 'read again: the first read was not cached');
    await keys.get(key.arn);
    assert.equal(reads, 2, 'the second read was cached');
  });
});
