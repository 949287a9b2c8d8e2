import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deleteDueKeys } from '../../src/keys/delete-due-keys.js';
import { KeyRepository } from '../../src/keys/key-repository.js';
import type { KeyRecord } from '../../src/storage/records.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { keyRecord } from '../helpers/key-record.js';

const DAY = 86_400_000;
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';

function newKey(now: number): KeyRecord {
  return keyRecord(randomUUID(), { accountId: ACCOUNT, region: REGION, creationDate: now, revision: 0 });
}

describe('deletion at the end of the waiting period', () => {
  let dir: string;
  let store: SqliteStore;
  let keys: KeyRepository;
  const rootKey = randomBytes(32);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trent-deletion-'));
    store = SqliteStore.open(join(dir, 'trent.db'));
    keys = new KeyRepository(store, rootKey);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('destroys keys whose window has ended, with their material and aliases, and no others', async () => {
    const now = Date.UTC(2030, 0, 1);
    const due = await keys.create(newKey(now), randomBytes(32));
    const notYet = await keys.create(newKey(now), randomBytes(32));
    const enabled = await keys.create(newKey(now), randomBytes(32));
    await keys.insertAlias({
      accountId: ACCOUNT,
      region: REGION,
      aliasName: 'alias/doomed',
      targetKeyId: due.keyId,
      creationDate: now,
      lastUpdatedDate: now,
    });
    await keys.update(due.arn, (k) => ({ ...k, keyState: 'PendingDeletion', deletionDate: now + 7 * DAY }));
    await keys.update(notYet.arn, (k) => ({ ...k, keyState: 'PendingDeletion', deletionDate: now + 30 * DAY }));

    assert.deepEqual(await deleteDueKeys(keys, now + 6 * DAY), []);
    const deleted = await deleteDueKeys(keys, now + 7 * DAY);
    assert.deepEqual(
      deleted.map((k) => k.arn),
      [due.arn],
    );

    assert.equal(await keys.get(due.arn), undefined);
    assert.deepEqual(await store.getBackingKeys(due.arn), []);
    assert.equal(await keys.getAlias(ACCOUNT, REGION, 'alias/doomed'), undefined);
    assert.equal((await keys.get(notYet.arn))?.keyState, 'PendingDeletion');
    assert.equal((await keys.get(enabled.arn))?.keyState, 'Enabled');
  });

  it('leaves the wrapped material nowhere in the database files', async () => {
    const now = Date.UTC(2030, 0, 1);
    const key = await keys.create(newKey(now), randomBytes(32));
    const [backing] = await store.getBackingKeys(key.arn);
    assert.ok(backing !== undefined);
    const needle = backing.wrapped.subarray(backing.wrapped.length - 24);
    const scan = () => readdirSync(dir).some((f) => readFileSync(join(dir, f)).includes(needle));
    assert.ok(scan(), 'the scan finds the wrapped material before deletion');
    await keys.update(key.arn, (k) => ({ ...k, keyState: 'PendingDeletion', deletionDate: now + 7 * DAY }));
    await deleteDueKeys(keys, now + 8 * DAY);
    assert.equal(scan(), false);
  });

  it('does not destroy a key whose deletion was cancelled after the scheduler read it', async () => {
    const now = Date.UTC(2030, 0, 1);
    const key = await keys.create(newKey(now), randomBytes(32));
    const pending = await keys.update(key.arn, (k) => ({ ...k, keyState: 'PendingDeletion', deletionDate: now }));
    await keys.update(key.arn, (k) => ({ ...k, keyState: 'Disabled' }));
    assert.equal(await keys.destroy(pending), false);
    assert.equal((await store.getKey(key.arn))?.keyState, 'Disabled');
  });
});
