import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KMSInternalException } from '../../../src/errors.js';
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

  it("holds a secret key's current material unwrapped, an asymmetric key's wrapped", async () => {
    const secret = randomBytes(32);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const creator = new KeyRepository(store, rootKey);
    const symmetric = await creator.create(newKey(), Buffer.from(secret));
    const signing = await creator.create(newKey({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' }), der);
    const use = (keys: KeyRepository, key: KeyRecord) => keys.material(key, key.currentMaterialId as string);

    // Held as they were created, or as preloaded; with the root key gone, only what must be
    // unwrapped at its use fails.
    const root = Buffer.from(rootKey);
    const made = new KeyRepository(store, root);
    const createdHere = await made.create(newKey(), Buffer.from(secret));
    const preloaded = new KeyRepository(store, root);
    await preloaded.preload();
    root.fill(0);
    assert.deepEqual((await use(made, createdHere))?.export(), secret);
    assert.deepEqual((await use(preloaded, symmetric))?.export(), secret);
    await assert.rejects(use(preloaded, signing), KMSInternalException);
    // Forgotten, a key's material is read and unwrapped again.
    preloaded.forgetKey(symmetric.arn);
    await assert.rejects(use(preloaded, symmetric), KMSInternalException);
  });

  it('withMaterial: a first use gets the held bytes, the second a KeyObject it caches', async () => {
    const secret = randomBytes(32);
    const created = await new KeyRepository(store, rootKey).create(newKey(), Buffer.from(secret));
    const keys = new KeyRepository(store, rootKey);
    await keys.preload();
    const key = (await keys.get(created.arn)) as KeyRecord;
    const id = key.currentMaterialId as string;
    const seen: (KeyObject | Buffer)[] = [];
    const use = (material: KeyObject | Buffer) => {
      seen.push(material);
      return Buffer.isBuffer(material) ? Buffer.from(material) : material.export();
    };
    for (let i = 0; i < 3; i++) assert.deepEqual(await keys.withMaterial(key, id, use), secret);
    assert.ok(Buffer.isBuffer(seen[0]), 'first use: the bytes, no KeyObject');
    assert.ok(!Buffer.isBuffer(seen[1]) && seen[2] === seen[1], 'second use: a KeyObject, cached');
    assert.equal(await keys.material(key, id), seen[1]);
    assert.equal(await keys.withMaterial(key, newMaterialId(), use), undefined, 'no such version');
    // A version not held (not current) comes from the store, as a KeyObject.
    const signing = await keys.create(
      newKey({ keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' }),
      randomBytes(32),
    );
    keys.forgetKey(signing.arn);
    const fresh = new KeyRepository(store, rootKey);
    const other = await fresh.withMaterial(signing, signing.currentMaterialId as string, (m) => Buffer.isBuffer(m));
    assert.equal(other, false, 'read from the store: a KeyObject');
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

describe('KeyRepository preload', () => {
  let dir: string;
  let store: SqliteStore;
  const rootKey = randomBytes(32);
  /** Every key's current material, as created (create zeroes the buffer it is given). */
  const materials = new Map<string, Buffer>();
  let created: KeyRecord[] = [];
  let rotated: { arn: string; firstMaterialId: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trent-key-preload-'));
    store = SqliteStore.open(join(dir, 'trent.db'));
    const keys = new KeyRepository(store, rootKey);
    for (let i = 0; i < 5; i++) {
      const bytes = randomBytes(32);
      const key = await keys.create(newKey(), Buffer.from(bytes));
      materials.set(key.arn, bytes);
      created.push(key);
    }
    // One key rotated once: its old version is not preloaded, its new one is.
    const first = created[0] as KeyRecord;
    const secondId = newMaterialId();
    const second = randomBytes(32);
    materials.set(first.arn, Buffer.from(second));
    const after = await keys.updateWithMaterial(first.arn, (key) => ({
      key: { ...key, currentMaterialId: secondId, materials: [...materialsOf(key), { materialId: secondId }] },
      materials: { insert: [{ materialId: secondId, material: second }] },
    }));
    rotated = { arn: first.arn, firstMaterialId: first.currentMaterialId as string };
    created[0] = after;
    // One key waiting for imported material: a record and no material.
    created.push(await keys.create(newKey({ origin: 'EXTERNAL', keyState: 'PendingImport' }), undefined));
    created = created.sort((a, b) => Buffer.compare(Buffer.from(a.arn), Buffer.from(b.arn)));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The store, counting the reads a key's first use makes. */
  function counting(over: Partial<Store> = {}) {
    const reads = { getKey: 0, getBackingKeys: 0, scanKeys: 0 };
    const proxy = new Proxy(store, {
      get(target, name: string) {
        if (name in over) return over[name as keyof Store];
        const value = Reflect.get(target, name, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (name in reads) reads[name as keyof typeof reads]++;
          return value.apply(target, args);
        };
      },
    }) as Store;
    return { proxy, reads };
  }

  it("caches every key's record and current material, wrapped: a first use then reads nothing", async () => {
    const { proxy, reads } = counting();
    const keys = new KeyRepository(proxy, rootKey);
    assert.equal(await keys.preload(() => false, 2), created.length);
    assert.equal(reads.scanKeys, 4, 'six keys in pages of two, then an empty page');
    for (const key of created) {
      const read = await keys.get(key.arn);
      assert.deepEqual(asRead(read as KeyRecord), asRead(key));
      if (key.currentMaterialId === undefined) continue;
      const material = await keys.material(read as KeyRecord, key.currentMaterialId);
      assert.deepEqual(material?.export(), materials.get(key.arn));
    }
    assert.deepEqual({ getKey: reads.getKey, getBackingKeys: reads.getBackingKeys }, { getKey: 0, getBackingKeys: 0 });
    // A version that is not current is read from the store, as before.
    const old = await keys.material((await keys.get(rotated.arn)) as KeyRecord, rotated.firstMaterialId);
    assert.ok(old !== undefined);
    assert.equal(reads.getBackingKeys, 1);
  });

  it('caches at most half the key cache, and nothing once told to stop', async () => {
    const { proxy, reads } = counting();
    const half = new KeyRepository(proxy, rootKey, { keys: 6, aliases: 6, materials: 6 });
    assert.equal(await half.preload(() => false, 2), 3);
    for (const key of created) await half.get(key.arn);
    assert.equal(reads.getKey, created.length - 3, 'the keys past the limit are read at their first use');

    const stopped = counting();
    assert.equal(await new KeyRepository(stopped.proxy, rootKey).preload(() => true), 0);
    assert.equal(stopped.reads.scanKeys, 0);
  });

  it('keeps a newer cached record, and skips a page that a forget overtook', async () => {
    const target = created[1] as KeyRecord;
    let keys: KeyRepository | undefined;
    const newer = counting({
      // While the page is on its way, a request changes one of its keys.
      scanKeys: async (afterArn: string, limit: number) => {
        const page = await store.scanKeys(afterArn, limit);
        await keys?.update(target.arn, (key) => ({ ...key, description: 'changed meanwhile' }));
        return page;
      },
    });
    keys = new KeyRepository(newer.proxy, rootKey);
    await keys.preload(() => false, 100);
    assert.equal((await keys.get(target.arn))?.description, 'changed meanwhile');

    let forgetting: KeyRepository | undefined;
    const overtaken = counting({
      // While the page is on its way, another process changes one of its keys.
      scanKeys: async (afterArn: string, limit: number) => {
        const page = await store.scanKeys(afterArn, limit);
        forgetting?.forgetKey(target.arn);
        return page;
      },
    });
    forgetting = new KeyRepository(overtaken.proxy, rootKey);
    assert.equal(await forgetting.preload(() => false, 100), 0);
    await forgetting.get(target.arn);
    assert.equal(overtaken.reads.getKey, 1, 'read at its first use: the page was not cached');
  });
});
