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

  it('keeps the same order and answers once a key holds more than a few grants', () => {
    const made = Array.from({ length: 100 }, (_, i) =>
      grant(`g${String((i * 37) % 100).padStart(3, '0')}`, i % 3 ? ALICE : BOB),
    );
    const grants = new KeyGrants();
    for (const g of made) grants.add(g);
    const sorted = (who: string) =>
      made
        .filter((g) => g.granteePrincipal === who)
        .map((g) => g.grantId)
        .sort();
    assert.deepEqual(ids(grants.of(ALICE)), sorted(ALICE));
    assert.deepEqual(ids(grants.of(BOB)), sorted(BOB));
    assert.equal(grants.size, 100);
    assert.equal(grants.has('g050'), true);
    grants.remove('g050');
    assert.equal(grants.has('g050'), false);
    assert.equal(grants.size, 99);
    const loaded = new KeyGrants([...made].sort((a, b) => (a.grantId < b.grantId ? -1 : 1)));
    assert.deepEqual(ids(loaded.of(ALICE)), sorted(ALICE));
    assert.equal(loaded.has('g099'), true);
  });

  it('replaces the grant with the same id, under its grantee now', () => {
    const grants = new KeyGrants([grant('a'), grant('b')]);
    grants.add(grant('a', BOB));
    assert.deepEqual(ids(grants.of(ALICE)), ['b']);
    assert.deepEqual(ids(grants.of(BOB)), ['a']);
    assert.equal(grants.size, 2);
  });

  it('a partial set holds the grantees loaded, and a grant added to another by id only', () => {
    const grants = KeyGrants.partial();
    assert.equal(grants.loaded(ALICE), false);
    grants.add(grant('c'));
    assert.equal(grants.has('c'), true);
    assert.equal(grants.loaded(ALICE), false);
    grants.load(ALICE, [grant('b'), grant('c'), grant('d')], grants.changes);
    assert.equal(grants.loaded(ALICE), true);
    assert.deepEqual(ids(grants.of(ALICE)), ['b', 'c', 'd']);
    grants.add(grant('a'));
    grants.remove('c');
    assert.deepEqual(ids(grants.of(ALICE)), ['a', 'b', 'd']);
    grants.load(BOB, [], grants.changes);
    grants.add(grant('x', BOB));
    grants.remove('x');
    assert.equal(grants.loaded(BOB), true);
    assert.deepEqual(grants.of(BOB), []);
  });

  it('a partial set does not hold a grantee read before a change', () => {
    const grants = KeyGrants.partial();
    const before = grants.changes;
    grants.add(grant('z', BOB));
    grants.load(ALICE, [grant('a')], before);
    assert.equal(grants.loaded(ALICE), false);
    assert.deepEqual(grants.of(ALICE), []);
  });

  it('a whole set has every grantee loaded', () => {
    const grants = new KeyGrants([grant('a')]);
    assert.equal(grants.loaded(BOB), true);
    grants.load(BOB, [grant('b', BOB)], grants.changes);
    assert.deepEqual(grants.of(BOB), []);
  });
});
