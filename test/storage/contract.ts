import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AccessKeyRecord, AliasRecord, BackingKeyRecord, KeyRecord } from '../../src/storage/records.js';
import type { Store } from '../../src/storage/store.js';
import { keyRecord } from '../helpers/key-record.js';

/**
 * One fresh, empty store per test. `cleanup` closes `store` (close is idempotent) and removes
 * whatever the adapter created. `reopen`, when given, opens a new Store over the same data; the
 * test closes the first store before calling it and closes the reopened one itself.
 */
export interface StoreFixture {
  store: Store;
  reopen?: () => Promise<Store>;
  /**
   * Takes the closed store's data back to before it kept key counts: the count's table and
   * triggers dropped, their migration unrecorded, so that the next open migrates again.
   */
  forgetKeyCounts: () => Promise<void>;
  cleanup: () => Promise<void>;
}

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const REGION = 'eu-west-1';
const OTHER_REGION = 'us-east-1';
const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

function materialId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

function makeKey(keyId: string, over: Partial<KeyRecord> = {}): KeyRecord {
  return keyRecord(keyId, {
    accountId: ACCOUNT,
    region: REGION,
    creationDate: T0,
    description: `key ${keyId}`,
    policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
    currentMaterialId: materialId(`${keyId}/1`),
    ...over,
  });
}

function makeBackingKey(key: KeyRecord, version: number, createdAt = T0): BackingKeyRecord {
  return {
    keyArn: key.arn,
    materialId: materialId(`${key.keyId}/${version}`),
    wrapped: randomBytes(60),
    createdAt,
  };
}

function makeAlias(aliasName: string, targetKeyId: string, over: Partial<AliasRecord> = {}) {
  const alias: AliasRecord = {
    accountId: ACCOUNT,
    region: REGION,
    aliasName,
    targetKeyId,
    creationDate: T0,
    lastUpdatedDate: T0,
    ...over,
  };
  return alias;
}

function makeAccessKey(accessKeyId: string, accountId = ACCOUNT): AccessKeyRecord {
  return {
    accessKeyId,
    accountId,
    principalArn: `arn:aws:iam::${accountId}:root`,
    secretWrapped: randomBytes(72),
    createdAt: T0,
    description: `access key ${accessKeyId}`,
  };
}

// Key ids and alias names whose byte order differs from a case-insensitive or locale order, so an
// adapter sorting by anything but bytes (a PostgreSQL collation, say) fails the ordering tests.
const KEY_IDS = [
  '0b7c9d4e-0000-4000-8000-000000000001',
  '5f3a1c2e-0000-4000-8000-000000000002',
  'B0000000-0000-4000-8000-000000000005',
  'a1b2c3d4-0000-4000-8000-000000000003',
  'mrk-0123456789abcdef0123456789abcdef',
  'mrk-Z123456789abcdef0123456789abcdef',
  'ffffffff-0000-4000-8000-000000000004',
] as const;
const ALIAS_NAMES = ['alias/B-two', 'alias/a-one', 'alias/a_one', 'alias/a/one', 'alias/Z', 'alias/0'];

function byteOrder(values: readonly string[]): string[] {
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

async function collectPages<T>(
  fetch: (after: string | undefined) => Promise<T[]>,
  cursor: (row: T) => string,
  limit: number,
): Promise<T[][]> {
  const pages: T[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await fetch(after);
    assert.ok(page.length <= limit, `page of ${page.length} exceeds limit ${limit}`);
    if (page.length === 0) return pages;
    pages.push(page);
    const last = page[page.length - 1];
    assert.ok(last !== undefined);
    after = cursor(last);
  }
}

function sortedByMaterial(records: BackingKeyRecord[]): BackingKeyRecord[] {
  return [...records].sort((a, b) => a.materialId.localeCompare(b.materialId));
}

/** The behaviour every Store adapter must have. Call once per adapter, at a test file's top. */
export function runStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('keys', () => {
      it('inserts a key and reads it back equal; an unknown ARN reads as undefined', async () => {
        const key = makeKey(KEY_IDS[0], {
          tags: [{ TagKey: 'team', TagValue: 'crypto — ünïcødé ✓' }],
          description: 'with "quotes", \\backslashes\\ and\nnewlines',
        });
        await store.insertKey(key, [makeBackingKey(key, 1)]);
        assert.deepEqual(await store.getKey(key.arn), key);
        assert.equal(await store.getKey(`${key.arn}-nope`), undefined);
      });

      it('round-trips optional fields, both absent and present', async () => {
        const bare = makeKey(KEY_IDS[0], { keyState: 'PendingImport', origin: 'EXTERNAL' });
        delete bare.currentMaterialId;
        const full = makeKey(KEY_IDS[1], {
          keyState: 'PendingDeletion',
          deletionDate: T0 + 7 * DAY,
          pendingWindowInDays: 7,
          multiRegion: true,
          policy: 'x'.repeat(131_072),
        });
        await store.insertKey(bare, []);
        await store.insertKey(full, [makeBackingKey(full, 1)]);
        const readBare = await store.getKey(bare.arn);
        assert.deepEqual(readBare, bare);
        assert.ok(readBare && !('currentMaterialId' in readBare));
        assert.ok(readBare && !('deletionDate' in readBare));
        assert.deepEqual(await store.getKey(full.arn), full);
      });

      it('stores the backing keys given with the key', async () => {
        const key = makeKey(KEY_IDS[0]);
        const backing = [makeBackingKey(key, 1), makeBackingKey(key, 2, T0 + DAY)];
        await store.insertKey(key, backing);
        assert.deepEqual(sortedByMaterial(await store.getBackingKeys(key.arn)), sortedByMaterial(backing));
      });

      it('refuses a second key with the same ARN and changes nothing', async () => {
        const key = makeKey(KEY_IDS[0]);
        const first = makeBackingKey(key, 1);
        await store.insertKey(key, [first]);
        const impostor = { ...key, description: 'impostor' };
        await assert.rejects(store.insertKey(impostor, [makeBackingKey(key, 2)]));
        assert.deepEqual(await store.getKey(key.arn), key);
        assert.deepEqual(await store.getBackingKeys(key.arn), [first]);
        assert.equal(await store.countKeys(ACCOUNT, REGION), 1);
      });

      it('inserts nothing when one of the backing keys cannot be stored', async () => {
        const key = makeKey(KEY_IDS[0]);
        const bk = makeBackingKey(key, 1);
        await assert.rejects(store.insertKey(key, [bk, { ...bk, wrapped: randomBytes(60) }]));
        assert.equal(await store.getKey(key.arn), undefined);
        assert.deepEqual(await store.getBackingKeys(key.arn), []);
      });

      it('inserts no key when its one backing key cannot be stored', async () => {
        const key = makeKey(KEY_IDS[0]);
        const unstorable = { ...makeBackingKey(key, 1), wrapped: null as unknown as Buffer };
        await assert.rejects(store.insertKey(key, [unstorable]));
        assert.equal(await store.getKey(key.arn), undefined);
        assert.equal(await store.countKeys(ACCOUNT, REGION), 0);
      });

      it('updates compare-and-set on the revision', async () => {
        const key = makeKey(KEY_IDS[0]);
        await store.insertKey(key, []);

        const disabled: KeyRecord = { ...key, keyState: 'Disabled', revision: 2 };
        assert.equal(await store.updateKey(disabled), true);
        assert.deepEqual(await store.getKey(key.arn), disabled);

        // A writer that read revision 1 too, and so also proposes revision 2, has lost.
        const stale: KeyRecord = { ...key, description: 'stale', revision: 2 };
        assert.equal(await store.updateKey(stale), false);
        assert.deepEqual(await store.getKey(key.arn), disabled);

        const skipping: KeyRecord = { ...disabled, description: 'skips', revision: 4 };
        assert.equal(await store.updateKey(skipping), false);
        assert.deepEqual(await store.getKey(key.arn), disabled);

        const enabled: KeyRecord = { ...disabled, keyState: 'Enabled', revision: 3 };
        assert.equal(await store.updateKey(enabled), true);
        assert.deepEqual(await store.getKey(key.arn), enabled);
      });

      it('reports an update of an unknown key as lost', async () => {
        assert.equal(await store.updateKey(makeKey(KEY_IDS[0], { revision: 2 })), false);
        assert.equal(await store.getKey(makeKey(KEY_IDS[0]).arn), undefined);
      });

      it('lists keys of one account and region in key id byte order, page by page', async () => {
        for (const id of [...KEY_IDS].reverse()) await store.insertKey(makeKey(id), []);
        await store.insertKey(makeKey('00000000-other-account', { accountId: OTHER_ACCOUNT }), []);
        await store.insertKey(makeKey('00000000-other-region', { region: OTHER_REGION }), []);

        const all = await store.listKeys(ACCOUNT, REGION, { limit: 100 });
        assert.deepEqual(
          all.map((k) => k.keyId),
          byteOrder(KEY_IDS),
        );
        assert.deepEqual(
          all,
          byteOrder(KEY_IDS).map((id) => makeKey(id)),
        );

        const pages = await collectPages(
          (after) => store.listKeys(ACCOUNT, REGION, { limit: 3, after }),
          (k) => k.keyId,
          3,
        );
        assert.deepEqual(
          pages.map((p) => p.length),
          [3, 3, 1],
        );
        assert.deepEqual(
          pages.flat().map((k) => k.keyId),
          byteOrder(KEY_IDS),
        );

        const last = all.at(-1)?.keyId;
        assert.ok(last !== undefined);
        assert.deepEqual(await store.listKeys(ACCOUNT, REGION, { limit: 10, after: last }), []);
        assert.deepEqual(await store.listKeys('999999999999', REGION, { limit: 10 }), []);
      });

      it('counts keys of one account and region', async () => {
        assert.equal(await store.countKeys(ACCOUNT, REGION), 0);
        for (const id of KEY_IDS.slice(0, 3)) await store.insertKey(makeKey(id), []);
        await store.insertKey(makeKey(KEY_IDS[0], { accountId: OTHER_ACCOUNT }), []);
        await store.insertKey(makeKey(KEY_IDS[0], { region: OTHER_REGION }), []);
        assert.equal(await store.countKeys(ACCOUNT, REGION), 3);
        assert.equal(await store.countKeys(OTHER_ACCOUNT, REGION), 1);
        assert.equal(await store.countKeys(ACCOUNT, OTHER_REGION), 1);
      });

      it('counts the keys a store held before it kept their count', async () => {
        const reopen = fixture.reopen;
        assert.ok(reopen, 'the adapter gives no way to reopen');
        for (const id of KEY_IDS.slice(0, 3)) await store.insertKey(makeKey(id), []);
        await store.insertKey(makeKey(KEY_IDS[0], { region: OTHER_REGION }), []);
        await store.close();
        await fixture.forgetKeyCounts();
        const migrated = await reopen();
        try {
          assert.equal(await migrated.countKeys(ACCOUNT, REGION), 3);
          assert.equal(await migrated.countKeys(ACCOUNT, OTHER_REGION), 1);
          assert.equal(await migrated.deleteKey(makeKey(KEY_IDS[1]).arn), true);
          await migrated.insertKey(makeKey(KEY_IDS[3], { accountId: OTHER_ACCOUNT }), []);
          assert.equal(await migrated.countKeys(ACCOUNT, REGION), 2);
          assert.equal(await migrated.countKeys(OTHER_ACCOUNT, REGION), 1);
        } finally {
          await migrated.close();
        }
      });

      it('deletes a key with its backing keys and the aliases pointing to it', async () => {
        const doomed = makeKey(KEY_IDS[0]);
        const kept = makeKey(KEY_IDS[1]);
        // Same key id elsewhere: its aliases name the same target id but are not the doomed key's.
        const twin = makeKey(KEY_IDS[0], { accountId: OTHER_ACCOUNT });
        await store.insertKey(doomed, [makeBackingKey(doomed, 1), makeBackingKey(doomed, 2)]);
        const keptBacking = makeBackingKey(kept, 1);
        await store.insertKey(kept, [keptBacking]);
        await store.insertKey(twin, [makeBackingKey(twin, 1)]);
        assert.equal(await store.insertAlias(makeAlias('alias/doomed-1', doomed.keyId)), true);
        assert.equal(await store.insertAlias(makeAlias('alias/doomed-2', doomed.keyId)), true);
        const keptAlias = makeAlias('alias/kept', kept.keyId);
        const twinAlias = makeAlias('alias/twin', twin.keyId, { accountId: OTHER_ACCOUNT });
        assert.equal(await store.insertAlias(keptAlias), true);
        assert.equal(await store.insertAlias(twinAlias), true);

        assert.equal(await store.deleteKey(doomed.arn), true);

        assert.equal(await store.getKey(doomed.arn), undefined);
        assert.deepEqual(await store.getBackingKeys(doomed.arn), []);
        assert.equal(await store.getAlias(ACCOUNT, REGION, 'alias/doomed-1'), undefined);
        assert.equal(await store.getAlias(ACCOUNT, REGION, 'alias/doomed-2'), undefined);
        assert.equal(await store.countAliasesForKey(ACCOUNT, REGION, doomed.keyId), 0);
        assert.deepEqual(await store.getKey(kept.arn), kept);
        assert.deepEqual(await store.getBackingKeys(kept.arn), [keptBacking]);
        assert.deepEqual(await store.getAlias(ACCOUNT, REGION, 'alias/kept'), keptAlias);
        assert.deepEqual(await store.getKey(twin.arn), twin);
        assert.deepEqual(await store.getAlias(OTHER_ACCOUNT, REGION, 'alias/twin'), twinAlias);
        assert.equal(await store.countKeys(ACCOUNT, REGION), 1);

        assert.equal(await store.deleteKey(doomed.arn), false);
      });

      it('reports deleting an unknown key as false', async () => {
        assert.equal(await store.deleteKey(makeKey(KEY_IDS[0]).arn), false);
      });

      it('lets a deleted key id be created again, with no leftovers', async () => {
        const key = makeKey(KEY_IDS[0]);
        await store.insertKey(key, [makeBackingKey(key, 1)]);
        await store.insertAlias(makeAlias('alias/old', key.keyId));
        await store.deleteKey(key.arn);
        const reborn = makeKey(KEY_IDS[0], { description: 'reborn' });
        const fresh = makeBackingKey(reborn, 9);
        await store.insertKey(reborn, [fresh]);
        assert.deepEqual(await store.getKey(key.arn), reborn);
        assert.deepEqual(await store.getBackingKeys(key.arn), [fresh]);
        assert.equal(await store.countAliasesForKey(ACCOUNT, REGION, key.keyId), 0);
      });
    });

    describe('keys due for deletion', () => {
      const pending = (id: string, deletionDate: number, over: Partial<KeyRecord> = {}) =>
        makeKey(id, { keyState: 'PendingDeletion', deletionDate, pendingWindowInDays: 7, ...over });

      it('lists PendingDeletion keys due by now, in every account and region', async () => {
        const now = T0 + 30 * DAY;
        const due = [
          pending(KEY_IDS[0], now - DAY),
          pending(KEY_IDS[1], now),
          pending(KEY_IDS[2], now - 2 * DAY, { accountId: OTHER_ACCOUNT }),
          pending(KEY_IDS[3], now - 3 * DAY, { region: OTHER_REGION }),
        ];
        const notDue = [
          pending(KEY_IDS[4], now + 1),
          makeKey(KEY_IDS[5], { keyState: 'Disabled' }),
          makeKey(KEY_IDS[6]),
        ];
        for (const k of [...due, ...notDue]) await store.insertKey(k, []);

        const listed = await store.listKeysDueForDeletion(now, 100);
        assert.deepEqual(listed.map((k) => k.arn).sort(), due.map((k) => k.arn).sort());
        const byArn = new Map(due.map((k) => [k.arn, k]));
        for (const k of listed) assert.deepEqual(k, byArn.get(k.arn));
      });

      it('returns at most `limit` keys', async () => {
        const now = T0 + 30 * DAY;
        for (const id of KEY_IDS) await store.insertKey(pending(id, now - DAY), []);
        const listed = await store.listKeysDueForDeletion(now, 3);
        assert.equal(listed.length, 3);
        for (const k of listed) assert.equal(k.keyState, 'PendingDeletion');
      });

      it('forgets a key whose deletion was cancelled', async () => {
        const now = T0 + 30 * DAY;
        const key = pending(KEY_IDS[0], now - DAY);
        await store.insertKey(key, []);
        const { deletionDate: _d, pendingWindowInDays: _p, ...rest } = key;
        const cancelled: KeyRecord = { ...rest, keyState: 'Disabled', revision: 2 };
        assert.equal(await store.updateKey(cancelled), true);
        assert.deepEqual(await store.listKeysDueForDeletion(now, 10), []);
      });

      it('picks up a key scheduled for deletion by an update', async () => {
        const now = T0 + 30 * DAY;
        const key = makeKey(KEY_IDS[0]);
        await store.insertKey(key, []);
        assert.deepEqual(await store.listKeysDueForDeletion(now, 10), []);
        const scheduled = { ...pending(KEY_IDS[0], now - DAY), revision: 2 };
        assert.equal(await store.updateKey(scheduled), true);
        assert.deepEqual(await store.listKeysDueForDeletion(now, 10), [scheduled]);
      });
    });

    describe('key scan', () => {
      it('pages through every key of every account and region in ARN byte order, each with its backing keys', async () => {
        const scopes = [
          { accountId: ACCOUNT, region: REGION },
          { accountId: OTHER_ACCOUNT, region: REGION },
          { accountId: ACCOUNT, region: OTHER_REGION },
        ];
        const expected = new Map<string, BackingKeyRecord[]>();
        for (const [i, keyId] of KEY_IDS.entries()) {
          const key = makeKey(keyId, scopes[i % scopes.length]);
          // One key with no material (an import pending), one with three versions, the rest one.
          const versions = i === 1 ? [] : i === 2 ? [1, 2, 3] : [1];
          const backing = versions.map((v) => makeBackingKey(key, v, T0 + (3 - v) * DAY));
          await store.insertKey(key, backing.slice(0, 1));
          for (const b of backing.slice(1)) await store.insertBackingKey(b);
          expected.set(key.arn, await store.getBackingKeys(key.arn));
        }
        assert.deepEqual(await store.scanKeys('', 10), await store.scanKeys('', 100));
        const pages = await collectPages(
          (after) => store.scanKeys(after ?? '', 3),
          (scanned) => scanned.key.arn,
          3,
        );
        assert.deepEqual(
          pages.map((page) => page.length),
          [3, 3, 1],
        );
        const scanned = pages.flat();
        assert.deepEqual(
          scanned.map((s) => s.key.arn),
          byteOrder([...expected.keys()]),
        );
        for (const { key, backingKeys } of scanned) {
          assert.deepEqual(key, await store.getKey(key.arn));
          assert.deepEqual(backingKeys, expected.get(key.arn), key.arn);
        }
        assert.equal(scanned.find((s) => s.key.keyId === KEY_IDS[2])?.backingKeys.length, 3);
        assert.deepEqual(scanned.find((s) => s.key.keyId === KEY_IDS[1])?.backingKeys, []);
        assert.deepEqual(await store.scanKeys(scanned[scanned.length - 1]?.key.arn ?? '', 3), []);
      });

      it('finds nothing in an empty store', async () => {
        assert.deepEqual(await store.scanKeys('', 100), []);
      });
    });

    describe('backing keys', () => {
      it('adds versions to an existing key', async () => {
        const key = makeKey(KEY_IDS[0]);
        const v1 = makeBackingKey(key, 1);
        await store.insertKey(key, [v1]);
        const v2 = makeBackingKey(key, 2, T0 + 365 * DAY);
        const v3 = makeBackingKey(key, 3, T0 + 730 * DAY);
        await store.insertBackingKey(v2);
        await store.insertBackingKey(v3);
        assert.deepEqual(sortedByMaterial(await store.getBackingKeys(key.arn)), sortedByMaterial([v1, v2, v3]));
      });

      it('keeps backing keys apart per key', async () => {
        const a = makeKey(KEY_IDS[0]);
        const b = makeKey(KEY_IDS[1]);
        const va = makeBackingKey(a, 1);
        const vb = makeBackingKey(b, 1);
        await store.insertKey(a, [va]);
        await store.insertKey(b, [vb]);
        assert.deepEqual(await store.getBackingKeys(a.arn), [va]);
        assert.deepEqual(await store.getBackingKeys(b.arn), [vb]);
        assert.deepEqual(await store.getBackingKeys(`${a.arn}-nope`), []);
      });

      it('refuses a duplicate material id for the same key', async () => {
        const key = makeKey(KEY_IDS[0]);
        const v1 = makeBackingKey(key, 1);
        await store.insertKey(key, [v1]);
        await assert.rejects(store.insertBackingKey({ ...v1, wrapped: randomBytes(60) }));
        assert.deepEqual(await store.getBackingKeys(key.arn), [v1]);
      });

      it('refuses a backing key for a key that does not exist', async () => {
        const ghost = makeKey(KEY_IDS[0]);
        await assert.rejects(store.insertBackingKey(makeBackingKey(ghost, 1)));
        assert.deepEqual(await store.getBackingKeys(ghost.arn), []);
      });
    });

    describe('key updates with backing keys (rotation, import)', () => {
      it('commits a new backing key and the key row together', async () => {
        const key = makeKey(KEY_IDS[0]);
        const v1 = makeBackingKey(key, 1);
        await store.insertKey(key, [v1]);
        const v2 = makeBackingKey(key, 2, T0 + DAY);
        const rotated: KeyRecord = { ...key, currentMaterialId: v2.materialId, revision: 2 };
        assert.equal(await store.updateKey(rotated, { insert: [v2] }), true);
        assert.deepEqual(await store.getKey(key.arn), rotated);
        assert.deepEqual(sortedByMaterial(await store.getBackingKeys(key.arn)), sortedByMaterial([v1, v2]));
      });

      it('adds no backing key when the compare-and-set loses', async () => {
        const key = makeKey(KEY_IDS[0]);
        const v1 = makeBackingKey(key, 1);
        await store.insertKey(key, [v1]);
        const v2 = makeBackingKey(key, 2);
        const stale: KeyRecord = { ...key, currentMaterialId: v2.materialId, revision: 3 };
        assert.equal(await store.updateKey(stale, { insert: [v2] }), false);
        assert.deepEqual(await store.getKey(key.arn), key);
        assert.deepEqual(await store.getBackingKeys(key.arn), [v1]);
      });

      it('changes neither the row nor the backing keys when a backing key cannot be stored', async () => {
        const key = makeKey(KEY_IDS[0]);
        const v1 = makeBackingKey(key, 1);
        await store.insertKey(key, [v1]);
        const duplicate = { ...v1, wrapped: randomBytes(60) };
        const next: KeyRecord = { ...key, description: 'rotated', revision: 2 };
        await assert.rejects(store.updateKey(next, { insert: [duplicate] }));
        assert.deepEqual(await store.getKey(key.arn), key);
        assert.deepEqual(await store.getBackingKeys(key.arn), [v1]);
        await assert.rejects(store.updateKey(next, { insert: [makeBackingKey(makeKey(KEY_IDS[1]), 1)] }));
        assert.deepEqual(await store.getKey(key.arn), key);
      });

      it('deletes the named backing keys with the update, and only those', async () => {
        const key = makeKey(KEY_IDS[0]);
        const other = makeKey(KEY_IDS[1]);
        const v1 = makeBackingKey(key, 1);
        const v2 = makeBackingKey(key, 2);
        const o1 = { ...makeBackingKey(other, 1), materialId: v1.materialId };
        await store.insertKey(key, [v1, v2]);
        await store.insertKey(other, [o1]);
        const next: KeyRecord = { ...key, keyState: 'PendingImport', revision: 2 };
        assert.equal(await store.updateKey(next, { delete: [v1.materialId] }), true);
        assert.deepEqual(await store.getBackingKeys(key.arn), [v2]);
        assert.deepEqual(await store.getBackingKeys(other.arn), [o1]);
        // A lost race deletes nothing.
        assert.equal(await store.updateKey({ ...next, revision: 2 }, { delete: [v2.materialId] }), false);
        assert.deepEqual(await store.getBackingKeys(key.arn), [v2]);
      });
    });

    describe('keys due for rotation and with expired material', () => {
      it('lists Enabled keys whose next rotation date has come, in every account and region', async () => {
        const due = makeKey(KEY_IDS[0], { nextRotationDate: T0 });
        const elsewhere = makeKey(KEY_IDS[1], {
          accountId: OTHER_ACCOUNT,
          region: OTHER_REGION,
          nextRotationDate: T0 - DAY,
        });
        const later = makeKey(KEY_IDS[2], { nextRotationDate: T0 + 1 });
        const disabled = makeKey(KEY_IDS[3], { keyState: 'Disabled', nextRotationDate: T0 - DAY });
        const never = makeKey(KEY_IDS[4]);
        for (const k of [due, elsewhere, later, disabled, never]) await store.insertKey(k, []);
        const listed = await store.listKeysDueForRotation(T0, 10);
        assert.deepEqual(listed.map((k) => k.arn).sort(), [due.arn, elsewhere.arn].sort());
        assert.equal((await store.listKeysDueForRotation(T0, 1)).length, 1);
        assert.equal(await store.updateKey({ ...due, nextRotationDate: T0 + 90 * DAY, revision: 2 }), true);
        assert.deepEqual(
          (await store.listKeysDueForRotation(T0, 10)).map((k) => k.arn),
          [elsewhere.arn],
        );
      });

      it('lists keys in any state whose material has expired', async () => {
        const expired = makeKey(KEY_IDS[0], { origin: 'EXTERNAL', materialExpiry: T0 });
        const pending = makeKey(KEY_IDS[1], {
          origin: 'EXTERNAL',
          keyState: 'PendingDeletion',
          materialExpiry: T0 - 1,
        });
        const valid = makeKey(KEY_IDS[2], { origin: 'EXTERNAL', materialExpiry: T0 + 1 });
        const forever = makeKey(KEY_IDS[3], { origin: 'EXTERNAL' });
        for (const k of [expired, pending, valid, forever]) await store.insertKey(k, []);
        const listed = await store.listKeysWithExpiredMaterial(T0, 10);
        assert.deepEqual(listed.map((k) => k.arn).sort(), [expired.arn, pending.arn].sort());
      });
    });

    describe('aliases', () => {
      it('inserts and reads an alias; an unknown name reads as undefined', async () => {
        const alias = makeAlias('alias/app', KEY_IDS[0]);
        assert.equal(await store.insertAlias(alias), true);
        assert.deepEqual(await store.getAlias(ACCOUNT, REGION, 'alias/app'), alias);
        assert.equal(await store.getAlias(ACCOUNT, REGION, 'alias/other'), undefined);
        assert.equal(await store.getAlias(OTHER_ACCOUNT, REGION, 'alias/app'), undefined);
        assert.equal(await store.getAlias(ACCOUNT, OTHER_REGION, 'alias/app'), undefined);
      });

      it('refuses a taken name without changing the alias', async () => {
        const alias = makeAlias('alias/app', KEY_IDS[0]);
        assert.equal(await store.insertAlias(alias), true);
        const rival = makeAlias('alias/app', KEY_IDS[1], { creationDate: T0 + DAY });
        assert.equal(await store.insertAlias(rival), false);
        assert.deepEqual(await store.getAlias(ACCOUNT, REGION, 'alias/app'), alias);
      });

      it('allows the same name in another account or region', async () => {
        assert.equal(await store.insertAlias(makeAlias('alias/app', KEY_IDS[0])), true);
        const inOtherAccount = makeAlias('alias/app', KEY_IDS[1], { accountId: OTHER_ACCOUNT });
        const inOtherRegion = makeAlias('alias/app', KEY_IDS[2], { region: OTHER_REGION });
        assert.equal(await store.insertAlias(inOtherAccount), true);
        assert.equal(await store.insertAlias(inOtherRegion), true);
        assert.deepEqual(await store.getAlias(OTHER_ACCOUNT, REGION, 'alias/app'), inOtherAccount);
        assert.deepEqual(await store.getAlias(ACCOUNT, OTHER_REGION, 'alias/app'), inOtherRegion);
      });

      it('points an existing alias elsewhere', async () => {
        const alias = makeAlias('alias/app', KEY_IDS[0]);
        await store.insertAlias(alias);
        const moved = { ...alias, targetKeyId: KEY_IDS[1], lastUpdatedDate: T0 + DAY };
        assert.equal(await store.updateAlias(moved), true);
        assert.deepEqual(await store.getAlias(ACCOUNT, REGION, 'alias/app'), moved);
        assert.equal(await store.countAliasesForKey(ACCOUNT, REGION, KEY_IDS[0]), 0);
        assert.equal(await store.countAliasesForKey(ACCOUNT, REGION, KEY_IDS[1]), 1);
      });

      it('reports updating an unknown alias as false and creates nothing', async () => {
        const ghost = makeAlias('alias/ghost', KEY_IDS[0]);
        assert.equal(await store.updateAlias(ghost), false);
        assert.equal(await store.getAlias(ACCOUNT, REGION, 'alias/ghost'), undefined);
      });

      it('deletes an alias once', async () => {
        await store.insertAlias(makeAlias('alias/app', KEY_IDS[0]));
        await store.insertAlias(makeAlias('alias/app', KEY_IDS[0], { region: OTHER_REGION }));
        assert.equal(await store.deleteAlias(ACCOUNT, REGION, 'alias/app'), true);
        assert.equal(await store.getAlias(ACCOUNT, REGION, 'alias/app'), undefined);
        assert.equal(await store.deleteAlias(ACCOUNT, REGION, 'alias/app'), false);
        assert.ok(await store.getAlias(ACCOUNT, OTHER_REGION, 'alias/app'));
      });

      it('lists aliases in name byte order, page by page, filtered by target', async () => {
        const target = (i: number) => (i % 2 === 0 ? KEY_IDS[0] : KEY_IDS[1]);
        for (const [i, name] of ALIAS_NAMES.entries()) {
          assert.equal(await store.insertAlias(makeAlias(name, target(i))), true);
        }
        await store.insertAlias(makeAlias('alias/0', KEY_IDS[0], { accountId: OTHER_ACCOUNT }));
        await store.insertAlias(makeAlias('alias/0', KEY_IDS[0], { region: OTHER_REGION }));

        const all = await store.listAliases(ACCOUNT, REGION, { limit: 100 });
        assert.deepEqual(
          all.map((a) => a.aliasName),
          byteOrder(ALIAS_NAMES),
        );

        const pages = await collectPages(
          (after) => store.listAliases(ACCOUNT, REGION, { limit: 4, after }),
          (a) => a.aliasName,
          4,
        );
        assert.deepEqual(
          pages.map((p) => p.length),
          [4, 2],
        );
        assert.deepEqual(
          pages.flat().map((a) => a.aliasName),
          byteOrder(ALIAS_NAMES),
        );

        const ofFirst = byteOrder(ALIAS_NAMES.filter((_, i) => target(i) === KEY_IDS[0]));
        const filtered = await store.listAliases(ACCOUNT, REGION, { limit: 100 }, KEY_IDS[0]);
        assert.deepEqual(
          filtered.map((a) => a.aliasName),
          ofFirst,
        );
        for (const a of filtered) assert.equal(a.targetKeyId, KEY_IDS[0]);

        const filteredPages = await collectPages(
          (after) => store.listAliases(ACCOUNT, REGION, { limit: 2, after }, KEY_IDS[0]),
          (a) => a.aliasName,
          2,
        );
        assert.deepEqual(
          filteredPages.flat().map((a) => a.aliasName),
          ofFirst,
        );
        assert.deepEqual(await store.listAliases(ACCOUNT, REGION, { limit: 10 }, 'no-such'), []);
      });

      it('counts the aliases of one key in one account and region', async () => {
        assert.equal(await store.countAliasesForKey(ACCOUNT, REGION, KEY_IDS[0]), 0);
        await store.insertAlias(makeAlias('alias/one', KEY_IDS[0]));
        await store.insertAlias(makeAlias('alias/two', KEY_IDS[0]));
        await store.insertAlias(makeAlias('alias/other', KEY_IDS[1]));
        await store.insertAlias(makeAlias('alias/one', KEY_IDS[0], { accountId: OTHER_ACCOUNT }));
        await store.insertAlias(makeAlias('alias/one', KEY_IDS[0], { region: OTHER_REGION }));
        assert.equal(await store.countAliasesForKey(ACCOUNT, REGION, KEY_IDS[0]), 2);
        assert.equal(await store.countAliasesForKey(ACCOUNT, REGION, KEY_IDS[1]), 1);
        assert.equal(await store.countAliasesForKey(OTHER_ACCOUNT, REGION, KEY_IDS[0]), 1);
      });
    });

    describe('accounts', () => {
      it('puts and gets an account; an unknown one reads as undefined', async () => {
        const account = { accountId: ACCOUNT, createdAt: T0 };
        await store.putAccount(account);
        assert.deepEqual(await store.getAccount(ACCOUNT), account);
        assert.equal(await store.getAccount(OTHER_ACCOUNT), undefined);
      });

      it('replaces an account put twice', async () => {
        await store.putAccount({ accountId: ACCOUNT, createdAt: T0 });
        await store.putAccount({ accountId: ACCOUNT, createdAt: T0 + DAY });
        const later = { accountId: ACCOUNT, createdAt: T0 + DAY };
        assert.deepEqual(await store.getAccount(ACCOUNT), later);
      });
    });

    describe('access keys', () => {
      it('inserts and gets an access key; an unknown id reads as undefined', async () => {
        const key = makeAccessKey('AKIAIOSFODNN7EXAMPLE');
        assert.equal(await store.insertAccessKey(key), true);
        assert.deepEqual(await store.getAccessKey(key.accessKeyId), key);
        assert.equal(await store.getAccessKey('AKIAUNKNOWN000000000'), undefined);
      });

      it('refuses a taken id without changing the key', async () => {
        const key = makeAccessKey('AKIAIOSFODNN7EXAMPLE');
        await store.insertAccessKey(key);
        const rival = makeAccessKey('AKIAIOSFODNN7EXAMPLE', OTHER_ACCOUNT);
        assert.equal(await store.insertAccessKey(rival), false);
        assert.deepEqual(await store.getAccessKey(key.accessKeyId), key);
      });

      it('lists all access keys or those of one account', async () => {
        const mine = [makeAccessKey('AKIA00000000000000B1'), makeAccessKey('AKIA00000000000000A1')];
        const theirs = makeAccessKey('AKIA00000000000000C1', OTHER_ACCOUNT);
        for (const k of [...mine, theirs]) await store.insertAccessKey(k);
        const byId = (a: AccessKeyRecord, b: AccessKeyRecord) => a.accessKeyId.localeCompare(b.accessKeyId);
        assert.deepEqual((await store.listAccessKeys()).sort(byId), [...mine, theirs].sort(byId));
        assert.deepEqual((await store.listAccessKeys(ACCOUNT)).sort(byId), [...mine].sort(byId));
        assert.deepEqual(await store.listAccessKeys(OTHER_ACCOUNT), [theirs]);
        assert.deepEqual(await store.listAccessKeys('999999999999'), []);
      });

      it('deletes an access key once', async () => {
        const key = makeAccessKey('AKIAIOSFODNN7EXAMPLE');
        await store.insertAccessKey(key);
        assert.equal(await store.deleteAccessKey(key.accessKeyId), true);
        assert.equal(await store.getAccessKey(key.accessKeyId), undefined);
        assert.equal(await store.deleteAccessKey(key.accessKeyId), false);
      });
    });

    describe('meta', () => {
      it('reads an unset name as undefined', async () => {
        assert.equal(await store.getMeta('root-key-check'), undefined);
      });

      it('keeps the first value; a later one loses and learns the winner', async () => {
        assert.equal(await store.putMetaIfAbsent('setup', 'first'), 'first');
        assert.equal(await store.putMetaIfAbsent('setup', 'second'), 'first');
        assert.equal(await store.getMeta('setup'), 'first');
        assert.equal(await store.putMetaIfAbsent('other', 'x'), 'x');
      });

      it('makes concurrent callers agree on one winner', async () => {
        const values = Array.from({ length: 8 }, (_, i) => `candidate-${i}`);
        const results = await Promise.all(values.map((v) => store.putMetaIfAbsent('race', v)));
        const winner = results[0];
        assert.ok(winner !== undefined && values.includes(winner));
        for (const r of results) assert.equal(r, winner);
        assert.equal(await store.getMeta('race'), winner);
      });
    });

    describe('buffers', () => {
      const samples = (): Buffer[] => [
        Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
        Buffer.alloc(48, 0),
        Buffer.from([0xff, 0x00, 0xfe, 0x00]),
        randomBytes(200_000),
      ];

      it('round-trips wrapped material byte-exact, as Node Buffers', async () => {
        const key = makeKey(KEY_IDS[0]);
        const records = samples().map((wrapped, i) => ({ ...makeBackingKey(key, i), wrapped }));
        await store.insertKey(key, records.slice(0, 2));
        for (const r of records.slice(2)) await store.insertBackingKey(r);
        const read = sortedByMaterial(await store.getBackingKeys(key.arn));
        const expected = sortedByMaterial(records);
        assert.equal(read.length, expected.length);
        for (const [i, r] of read.entries()) {
          assert.ok(Buffer.isBuffer(r.wrapped), 'wrapped must be a Buffer');
          assert.ok(r.wrapped.equals(expected[i]?.wrapped ?? Buffer.alloc(0)), `#${i} differs`);
        }
      });

      it('round-trips wrapped secrets byte-exact, as Node Buffers', async () => {
        for (const [i, secretWrapped] of samples().entries()) {
          const record = { ...makeAccessKey(`AKIA0000000000000${i}X0`), secretWrapped };
          await store.insertAccessKey(record);
          const read = await store.getAccessKey(record.accessKeyId);
          assert.ok(read && Buffer.isBuffer(read.secretWrapped), 'secretWrapped must be a Buffer');
          assert.ok(read.secretWrapped.equals(secretWrapped), `secret #${i} differs`);
        }
      });
    });

    describe('durability', () => {
      it('reads back everything written after a close and reopen', async (t) => {
        const reopen = fixture.reopen;
        if (!reopen) {
          t.skip('the adapter gives no way to reopen');
          return;
        }
        const key = makeKey(KEY_IDS[0]);
        const v1 = makeBackingKey(key, 1);
        const v2 = makeBackingKey(key, 2, T0 + DAY);
        await store.insertKey(key, [v1]);
        await store.insertBackingKey(v2);
        const updated: KeyRecord = { ...key, description: 'updated', revision: 2 };
        assert.equal(await store.updateKey(updated), true);
        const gone = makeKey(KEY_IDS[1]);
        await store.insertKey(gone, [makeBackingKey(gone, 1)]);
        await store.deleteKey(gone.arn);
        const alias = makeAlias('alias/durable', key.keyId);
        await store.insertAlias(alias);
        const account = { accountId: ACCOUNT, createdAt: T0 };
        await store.putAccount(account);
        const accessKey = makeAccessKey('AKIAIOSFODNN7EXAMPLE');
        await store.insertAccessKey(accessKey);
        await store.putMetaIfAbsent('setup', 'done');
        await store.close();

        const reopened = await reopen();
        try {
          assert.deepEqual(await reopened.getKey(key.arn), updated);
          assert.deepEqual(sortedByMaterial(await reopened.getBackingKeys(key.arn)), sortedByMaterial([v1, v2]));
          assert.equal(await reopened.getKey(gone.arn), undefined);
          assert.deepEqual(await reopened.getBackingKeys(gone.arn), []);
          assert.deepEqual(await reopened.getAlias(ACCOUNT, REGION, 'alias/durable'), alias);
          assert.deepEqual(await reopened.getAccount(ACCOUNT), account);
          assert.deepEqual(await reopened.getAccessKey(accessKey.accessKeyId), accessKey);
          assert.equal(await reopened.getMeta('setup'), 'done');
          assert.equal(await reopened.countKeys(ACCOUNT, REGION), 1);
        } finally {
          await reopened.close();
        }
      });
    });

    it('closes more than once without error', async () => {
      await store.close();
      await store.close();
    });
  });
}
