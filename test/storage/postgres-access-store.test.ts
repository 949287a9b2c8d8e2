import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openAccessStore } from '../../src/storage/open-access-store.js';
import { PostgresAccessStore } from '../../src/storage/postgres/postgres-access-store.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import type { StoreChange } from '../../src/storage/store.js';
import { adminQuery, createTestSchema } from '../helpers/postgres.js';
import { runAccessStoreContract } from './access-store-contract.js';

runAccessStoreContract('PostgresAccessStore (beside a PostgresStore in one schema)', async () => {
  const schema = await createTestSchema();
  const store = await PostgresStore.open(schema.url);
  const access = await PostgresAccessStore.open(schema.url);
  return {
    access,
    store,
    reopen: () => PostgresAccessStore.open(schema.url),
    forgetGrantCounts: async () => {
      await adminQuery(`DROP TABLE ${schema.name}.grant_counts; DROP FUNCTION ${schema.name}.trent_count_grants CASCADE;
        DROP INDEX ${schema.name}.grants_by_grantee; DROP INDEX ${schema.name}.grants_by_name; DELETE FROM ${schema.name}.schema_migrations WHERE version >= 12`);
    },
    cleanup: async () => {
      await access.close();
      await store.close();
      await schema.drop();
    },
  };
});

describe('PostgresAccessStore across nodes', () => {
  it('tells every node watching the store of a grant created or revoked on another', async () => {
    const schema = await createTestSchema();
    const nodeB = await PostgresStore.open(schema.url);
    const accessA = await openAccessStore(schema.url, '/nonexistent-data-dir');
    const changes: StoreChange[] = [];
    const unwatch = await nodeB.watch((c) => changes.push(c));
    try {
      assert.ok(accessA instanceof PostgresAccessStore);
      const arn = 'arn:aws:kms:eu-west-1:111122223333:key/k';
      await accessA.insertGrant(
        {
          keyArn: arn,
          grantId: 'aa',
          granteePrincipal: 'arn:aws:iam::111122223333:root',
          issuingAccount: 'arn:aws:iam::111122223333:root',
          operations: ['Decrypt'],
          creationDate: 1,
        },
        10,
      );
      await accessA.deleteGrant(arn, 'aa');
      const deadline = Date.now() + 1000;
      while (changes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(changes, [
        { kind: 'grant', keyArn: arn, grantId: 'aa' },
        { kind: 'grant', keyArn: arn, grantId: 'aa' },
      ]);
    } finally {
      await unwatch();
      await accessA.close();
      await nodeB.close();
      await schema.drop();
    }
  });
});
