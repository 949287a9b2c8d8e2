import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { watchChanges } from '../../src/storage/sqlite/change-feed.js';
import { SqliteAccessStore } from '../../src/storage/sqlite/sqlite-access-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { StoreChange } from '../../src/storage/store.js';
import { keyRecord as key } from '../helpers/key-record.js';

/** The change feed (docs/multi-process.md): what one connection writes, another hears of. */

const settle = () => new Promise((r) => setTimeout(r, 250));

describe('SqliteStore change feed', () => {
  it("reports another connection's key and alias updates and deletions, not inserts", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trent-feed-'));
    const writer = SqliteStore.open(join(dir, 'trent.db'));
    const reader = SqliteStore.open(join(dir, 'trent.db'));
    const heard: StoreChange[] = [];
    const stop = await reader.watch((c) => heard.push(c));
    try {
      const k = key('1234abcd-12ab-34cd-56ef-1234567890ab');
      await writer.insertKey(k, []);
      const alias = {
        accountId: k.accountId,
        region: k.region,
        aliasName: 'alias/a',
        targetKeyId: k.keyId,
        creationDate: 0,
        lastUpdatedDate: 0,
      };
      assert.equal(await writer.insertAlias(alias), true);
      await settle();
      assert.deepEqual(heard, []);
      assert.equal(await writer.updateKey({ ...k, keyState: 'Disabled', revision: 2 }), true);
      assert.equal(await writer.updateAlias({ ...alias, lastUpdatedDate: 1 }), true);
      assert.equal(await writer.deleteKey(k.arn), true);
      await settle();
      const keyChange = { kind: 'key', arn: k.arn };
      const aliasChange = { kind: 'alias', accountId: k.accountId, region: k.region, aliasName: 'alias/a' };
      // update, alias update, then the deletion of the key and (with it) of its alias
      assert.deepEqual(heard.slice(0, 2), [keyChange, aliasChange]);
      assert.ok((heard as StoreChange[]).slice(2).some((c) => c.kind === 'key' && c.arn === k.arn));
      assert.ok((heard as StoreChange[]).slice(2).some((c) => c.kind === 'alias'));
    } finally {
      await stop();
      await reader.close();
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the grant another connection created or revoked, not only its key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trent-feed-'));
    const path = join(dir, 'trent.db');
    const writer = SqliteAccessStore.open(path);
    const reader = SqliteStore.open(path);
    const heard: StoreChange[] = [];
    const stop = await reader.watch((c) => heard.push(c));
    try {
      const keyArn = key('1234abcd-12ab-34cd-56ef-1234567890ab').arn;
      const grant = {
        keyArn,
        grantId: 'ab'.repeat(32),
        granteePrincipal: 'arn:aws:iam::111122223333:root',
        issuingAccount: 'arn:aws:iam::111122223333:root',
        operations: ['Decrypt'],
        creationDate: 1,
      };
      assert.equal(await writer.insertGrant(grant, 10), true);
      assert.equal(await writer.deleteGrant(keyArn, grant.grantId), true);
      await settle();
      const change = { kind: 'grant', keyArn, grantId: grant.grantId };
      assert.deepEqual(heard, [change, change]);
    } finally {
      await stop();
      await reader.close();
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hears everything after a gap: rows pruned past the last one seen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trent-feed-'));
    const path = join(dir, 'trent.db');
    (await SqliteStore.open(path)).close();
    const db = new Database(path);
    const heard: StoreChange[] = [];
    const stop = watchChanges(db, (c) => heard.push(c), 20);
    try {
      db.exec(`INSERT INTO changes (kind, key_arn) VALUES ('key', 'a'), ('key', 'b'), ('key', 'c')`);
      db.exec(`DELETE FROM changes WHERE key_arn IN ('a', 'b')`);
      await settle();
      assert.deepEqual(heard, [{ kind: 'all' }, { kind: 'key', arn: 'c' }]);
    } finally {
      await stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
