import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyGrants } from '../../../src/policy/key-grants.js';
import type { GrantRecord } from '../../../src/storage/grant-store.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const BOB = 'arn:aws:iam::111122223333:user/bob';

const grant = (grantId: string, granteePrincipal = ALICE): GrantRecord => ({
  keyArn: 'arn:aws:kms:us-east-1:111122223333:key/k',
  grantId,
  granteePrincipal,
  issuingAccount: 'arn:aws:iam::111122223333:root',
  operations: ['Encrypt'],
  creationDate: 0,
});

const ids = (grants: readonly GrantRecord[]) => grants.map((g) => g.grantId);

describe('KeyGrants', () => {
  it("keeps each grantee's grants in grant id order, however they were added", () => {
    const grants = new KeyGrants([grant('b'), grant('d'), grant('c', BOB)]);
    for (const id of ['e', 'a', 'c0', 'bb']) grants.add(grant(id));
    assert.deepEqual(ids(grants.of(ALICE)), ['a', 'b', 'bb', 'c0', 'd', 'e']);
    assert.deepEqual(ids(grants.of(BOB)), ['c']);
    assert.deepEqual(grants.of('arn:aws:iam::111122223333:user/nobody'), []);
    assert.equal(grants.size, 7);
  });

  it('removes a grant by id from its grantee, and forgets a grantee left without grants', () => {
    const grants = new KeyGrants([grant('a'), grant('b'), grant('c'), grant('x', BOB)]);
    grants.remove('b');
    grants.remove('x');
    grants.remove('unknown');
    assert.deepEqual(ids(grants.of(ALICE)), ['a', 'c']);
    assert.deepEqual(grants.of(BOB), []);
    assert.equal(grants.has('b'), false);
    assert.equal(grants.size, 2);
  });

  it('replaces the grant with the same id, under its grantee now', () => {
    const grants = new KeyGrants([grant('a'), grant('b')]);
    grants.add(grant('a', BOB));
    assert.deepEqual(ids(grants.of(ALICE)), ['b']);
    assert.deepEqual(ids(grants.of(BOB)), ['a']);
    assert.equal(grants.size, 2);
  });
});
