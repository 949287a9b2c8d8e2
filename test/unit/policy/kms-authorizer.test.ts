import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Caller } from '../../../src/auth/caller.js';
import { AccessDeniedException } from '../../../src/errors.js';
import { defaultKeyPolicy } from '../../../src/keys/default-policy.js';
import type { CallerIdentity, IdentityDirectory } from '../../../src/policy/identity-directory.js';
import { type AuthorizationRequest, GRANTS_READ_WHOLE, KmsAuthorizer } from '../../../src/policy/kms-authorizer.js';
import type { CompiledPolicy } from '../../../src/policy/policy.js';
import type { GrantRecord, GrantStore } from '../../../src/storage/grant-store.js';
import type { KeyRecord } from '../../../src/storage/records.js';
import { keyRecord } from '../../helpers/key-record.js';
import { A, B, policy, REGION, rootOf, session, user } from './fixtures.js';

const key = (keyId: string): KeyRecord =>
  keyRecord(keyId, { accountId: A, region: REGION, creationDate: 0, policy: defaultKeyPolicy(A) });

const K1 = key('11111111-1111-1111-1111-111111111111');
const K2 = key('22222222-2222-2222-2222-222222222222');

const callerOf = (arn: string, type: Caller['type']): Caller => ({ accountId: A, arn, type, accessKeyId: 'AKIA' });
const ROOT = callerOf(rootOf(A).arn, 'Root');
const ALICE = callerOf(user('alice').arn, 'IAMUser');

/** Alice holds `policies`; the root user none (it needs none). */
function authorizer(policies: CompiledPolicy[]): KmsAuthorizer {
  const directory = {
    identity: async (caller: Caller): Promise<CallerIdentity> => ({
      principal: caller.type === 'Root' ? rootOf(A) : user('alice'),
      policies: caller.type === 'Root' ? [] : policies,
      serviceControlPolicies: [],
    }),
  };
  return new KmsAuthorizer(directory as unknown as IdentityDirectory, undefined);
}

const encrypt = (auth: KmsAuthorizer, caller: Caller, k: KeyRecord, grantIds?: string[]) =>
  auth.authorize({
    caller,
    action: 'kms:Encrypt',
    key: k,
    resource: k.arn,
    resourceAccountId: A,
    sourceIp: '127.0.0.1',
    ...(grantIds === undefined ? {} : { grantIds }),
  });

const deniedOn = (arn: string) => (err: unknown) => {
  assert.ok(err instanceof AccessDeniedException);
  assert.match(err.message, new RegExp(`on resource: ${arn} because`));
  return true;
};

describe('KmsAuthorizer: decisions shared between keys', () => {
  it('a denial names the key of its request, though the keys share their decisions', async () => {
    const auth = authorizer([]);
    await encrypt(auth, ROOT, K1);
    await encrypt(auth, ROOT, K2);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
      await assert.rejects(encrypt(auth, ALICE, K2), deniedOn(K2.arn));
    }
  });

  it('an IAM policy that names one key allows that key only, cached or not', async () => {
    const auth = authorizer([policy({ Effect: 'Allow', Action: 'kms:*', Resource: K1.arn }, 'identity', 'k1')]);
    for (let i = 0; i < 2; i++) {
      await encrypt(auth, ALICE, K1);
      await assert.rejects(encrypt(auth, ALICE, K2), deniedOn(K2.arn));
    }
  });
});

describe('KmsAuthorizer: cached decisions follow what each policy reads', () => {
  // One principal object for every request, as the identity cache hands it out: what is derived
  // from it (its part of the cache key, its condition values) is kept with it, and what the
  // policies read is kept by their fingerprints — the decisions must still follow each policy.
  const alice = user('alice', A, { team: 'payments' });
  const authorizerOf = (policies: CompiledPolicy[]) => {
    const directory = {
      identity: async (): Promise<CallerIdentity> => ({ principal: alice, policies, serviceControlPolicies: [] }),
    };
    return new KmsAuthorizer(directory as unknown as IdentityDirectory, undefined);
  };
  const encryptFrom = (auth: KmsAuthorizer, sourceIp: string) =>
    auth.authorize({ caller: ALICE, action: 'kms:Encrypt', key: K1, resource: K1.arn, resourceAccountId: A, sourceIp });
  const allow = (condition: Record<string, Record<string, string>>, id: string) =>
    policy({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*', Condition: condition }, 'identity', id);

  it('a policy on the source address decides by it; then one on the principal tag, by that', async () => {
    const byAddress = authorizerOf([allow({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, 'address')]);
    for (let i = 0; i < 2; i++) {
      await encryptFrom(byAddress, '10.1.2.3');
      await assert.rejects(encryptFrom(byAddress, '192.0.2.1'), AccessDeniedException);
    }
    const byTag = authorizerOf([allow({ StringEquals: { 'aws:PrincipalTag/team': 'payments' } }, 'tag')]);
    const byOtherTag = authorizerOf([allow({ StringEquals: { 'aws:PrincipalTag/team': 'billing' } }, 'other-tag')]);
    for (let i = 0; i < 2; i++) {
      await encryptFrom(byTag, '192.0.2.1');
      await assert.rejects(encryptFrom(byOtherTag, '10.1.2.3'), AccessDeniedException);
    }
  });

  it('a condition key in another case reads the same value', async () => {
    const auth = authorizerOf([allow({ IpAddress: { 'AWS:SOURCEIP': '10.0.0.0/8' } }, 'upper')]);
    await encryptFrom(auth, '10.9.9.9');
    await assert.rejects(encryptFrom(auth, '203.0.113.7'), AccessDeniedException);
  });
});

describe('KmsAuthorizer: the clock keys for every policy that reads them', () => {
  // A role session's policies: the role's allows Encrypt; the session policy (AssumeRole's
  // `Policy`) decides by aws:CurrentTime. The clock must be in the request for it as for any other.
  const bob = session('app', 'bob');
  const BOB: Caller = { accountId: A, arn: bob.arn, type: 'AssumedRole', accessKeyId: 'ASIA' };
  const ROLE_POLICY = policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }, 'identity', 'role');
  const authorizerWith = (sessionPolicy: CompiledPolicy) => {
    const directory = {
      identity: async (): Promise<CallerIdentity> => ({
        principal: bob,
        policies: [ROLE_POLICY],
        serviceControlPolicies: [],
        sessionPolicy,
      }),
    };
    return new KmsAuthorizer(directory as unknown as IdentityDirectory, undefined);
  };
  const SINCE_2000 = { DateGreaterThan: { 'aws:CurrentTime': '2000-01-01T00:00:00Z' } };

  it('a session policy that allows since a date allows now', async () => {
    const auth = authorizerWith(
      policy({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*', Condition: SINCE_2000 }, 'identity', 's1'),
    );
    await encrypt(auth, BOB, K1);
  });

  it('a session policy that denies since a date denies now', async () => {
    const auth = authorizerWith(
      policy(
        [
          { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
          { Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*', Condition: SINCE_2000 },
        ],
        'identity',
        's2',
      ),
    );
    await assert.rejects(encrypt(auth, BOB, K1), AccessDeniedException);
  });
});

describe('KmsAuthorizer: the keys about the request itself', () => {
  /** Alice may do anything, except where `condition` holds. */
  const allowedUnless = (condition: object, id: string) =>
    authorizer([
      policy(
        [
          { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
          { Effect: 'Deny', Action: 'kms:*', Resource: '*', Condition: condition },
        ],
        'identity',
        id,
      ),
    ]);
  const encryptWith = (auth: KmsAuthorizer, request: Partial<AuthorizationRequest>) =>
    auth.authorize({
      caller: ALICE,
      action: 'kms:Encrypt',
      key: K1,
      resource: K1.arn,
      resourceAccountId: A,
      sourceIp: '127.0.0.1',
      ...request,
    });

  it('aws:RequestedRegion is the region the request was signed for (a region guard), cached or not', async () => {
    const auth = allowedUnless({ StringNotEquals: { 'aws:RequestedRegion': ['us-east-1'] } }, 'region-guard');
    for (let i = 0; i < 2; i++) {
      await encryptWith(auth, { requestedRegion: 'us-east-1' });
      await assert.rejects(encryptWith(auth, { requestedRegion: 'eu-west-1' }), AccessDeniedException);
    }
  });

  it('aws:ResourceAccount is the account that owns the resource (a data perimeter), cached or not', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template.
    const auth = allowedUnless({ StringNotEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' } }, 'perimeter');
    for (let i = 0; i < 2; i++) {
      await encryptWith(auth, { resourceAccountId: A });
      await assert.rejects(encryptWith(auth, { resourceAccountId: B }), AccessDeniedException);
    }
  });
});

describe('KmsAuthorizer: keys cached as having no grants', () => {
  /** A grant store holding one grant, for Alice to Encrypt with K1, that counts its reads. */
  function withGrantStore(limits?: { decisions: number; policies: number; grants: number }) {
    const reads: string[] = [];
    const grants: GrantRecord[] = [
      {
        keyArn: K1.arn,
        grantId: 'a'.repeat(64),
        granteePrincipal: user('alice').arn,
        issuingAccount: rootOf(A).arn,
        operations: ['Encrypt'],
        creationDate: 0,
      },
    ];
    const store = {
      listGrants: async (keyArn: string) => {
        reads.push(keyArn);
        return grants.filter((g) => g.keyArn === keyArn);
      },
    } as unknown as GrantStore;
    const directory = {
      identity: async (): Promise<CallerIdentity> => ({
        principal: user('alice'),
        policies: [],
        serviceControlPolicies: [],
      }),
    };
    return { auth: new KmsAuthorizer(directory as unknown as IdentityDirectory, store, limits), reads };
  }

  it('does not read the grants of a key cached so', async () => {
    const { auth, reads } = withGrantStore();
    assert.equal(auth.cacheNoGrants([K2.arn], auth.grantsVersion), 1);
    await assert.rejects(encrypt(auth, ALICE, K2), deniedOn(K2.arn));
    assert.deepEqual(reads, []);
    await encrypt(auth, ALICE, K1);
    assert.deepEqual(reads, [K1.arn]);
  });

  it('caches nothing when grants changed after the version was read', async () => {
    const { auth, reads } = withGrantStore();
    const version = auth.grantsVersion;
    auth.forgetGrants(K1.arn);
    assert.equal(auth.cacheNoGrants([K1.arn, K2.arn], version), 0);
    await encrypt(auth, ALICE, K1);
    assert.deepEqual(reads, [K1.arn]);
  });

  it('keeps what is cached already', async () => {
    const { auth, reads } = withGrantStore();
    await encrypt(auth, ALICE, K1);
    assert.equal(auth.cacheNoGrants([K1.arn], auth.grantsVersion), 0);
    await encrypt(auth, ALICE, K1);
    assert.deepEqual(reads, [K1.arn]);
  });

  it('fills the cache to less than the half an Lru always keeps', async () => {
    const { auth } = withGrantStore({ decisions: 10, policies: 10, grants: 10 });
    const arns = Array.from(
      { length: 20 },
      (_, i) => key(`${String(i).padStart(8, '0')}-1111-1111-1111-111111111111`).arn,
    );
    assert.equal(auth.cacheNoGrants(arns, auth.grantsVersion), 4);
  });
});

describe('KmsAuthorizer: a key with many grants', () => {
  const aliceGrant = (grantId: string, keyArn = K1.arn): GrantRecord => ({
    keyArn,
    grantId,
    granteePrincipal: user('alice').arn,
    issuingAccount: rootOf(A).arn,
    operations: ['Encrypt'],
    creationDate: 0,
  });
  const otherGrants = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      ...aliceGrant(`b${String(i).padStart(63, '0')}`),
      granteePrincipal: user(`user${i}`).arn,
    }));

  /**
   * The store's grants (K1: `others` for other users, by default one fewer than are read whole);
   * counts the reads of a key's grants, of a grantee's, and of one grant.
   */
  function withStore(others = GRANTS_READ_WHOLE - 1) {
    const held = new Map<string, GrantRecord>(otherGrants(others).map((g) => [g.grantId, g]));
    const reads = { all: 0, one: 0, grantee: 0 };
    const gates: { all?: Promise<void>; one?: Promise<void>; grantee?: Promise<void> } = {};
    const store = {
      listGrants: async (keyArn: string, page: { limit: number }, grantee?: string) => {
        if (grantee === undefined) reads.all++;
        else reads.grantee++;
        const grants = [...held.values()].filter(
          (g) => g.keyArn === keyArn && (grantee === undefined || g.granteePrincipal === grantee),
        );
        await (grantee === undefined ? gates.all : gates.grantee);
        return grants.sort((a, b) => (a.grantId < b.grantId ? -1 : 1)).slice(0, page.limit);
      },
      getGrant: async (keyArn: string, grantId: string) => {
        reads.one++;
        const g = held.get(grantId);
        await gates.one;
        return g?.keyArn === keyArn ? g : undefined;
      },
    } as unknown as GrantStore;
    const directory = {
      identity: async (caller: Caller): Promise<CallerIdentity> => ({
        principal: caller.type === 'Root' ? rootOf(A) : user('alice'),
        policies: [],
        serviceControlPolicies: [],
      }),
    };
    const auth = new KmsAuthorizer(directory as unknown as IdentityDirectory, store);
    return {
      auth,
      held,
      reads,
      /** Holds the answers to reads (of one grant, or of all) until the returned function is called. */
      hold: (which: 'one' | 'all' | 'grantee' = 'one') => {
        let open = () => {};
        gates[which] = new Promise((resolve) => (open = resolve));
        return () => {
          gates[which] = undefined;
          open();
        };
      },
    };
  }

  /** A grant for Alice made here lets her encrypt at once; retired here, it no longer does. */
  async function grantMadeAndRetiredHere(auth: KmsAuthorizer, held: Map<string, GrantRecord>): Promise<void> {
    const g = aliceGrant('a'.repeat(64));
    held.set(g.grantId, g);
    auth.grantChanged(K1.arn, { added: g });
    await encrypt(auth, ALICE, K1);
    held.delete(g.grantId);
    auth.grantChanged(K1.arn, { removed: g.grantId });
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
  }

  it('follows a grant created and retired here without reading the key’s grants again', async () => {
    const { auth, held, reads } = withStore();
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
    assert.equal(reads.all, 1);
    await grantMadeAndRetiredHere(auth, held);
    assert.deepEqual(reads, { all: 1, one: 0, grantee: 0 });
  });

  it('a grant added to a key cached as having none does not give it to other keys', async () => {
    const { auth, reads } = withStore();
    assert.equal(auth.cacheNoGrants([K2.arn, key('33333333-3333-3333-3333-333333333333').arn], auth.grantsVersion), 2);
    auth.grantChanged(K2.arn, { added: aliceGrant('a'.repeat(64), K2.arn) });
    await encrypt(auth, ALICE, K2);
    const K3 = key('33333333-3333-3333-3333-333333333333');
    await assert.rejects(encrypt(auth, ALICE, K3), deniedOn(K3.arn));
    assert.deepEqual(reads, { all: 0, one: 0, grantee: 0 });
  });

  it('reads only the grant that the change feed names', async () => {
    const { auth, held, reads } = withStore();
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
    const g = aliceGrant('a'.repeat(64));
    held.set(g.grantId, g);
    await auth.grantStored(K1.arn, g.grantId);
    await encrypt(auth, ALICE, K1);
    held.delete(g.grantId);
    await auth.grantStored(K1.arn, g.grantId);
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
    assert.deepEqual(reads, { all: 1, one: 2, grantee: 0 });
  });

  it('reads alone a grant that a grant token names and the cache does not hold', async () => {
    const { auth, held, reads } = withStore();
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
    const g = aliceGrant('a'.repeat(64));
    held.set(g.grantId, g); // made on another node: no change heard yet
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
    const withToken = () => encrypt(auth, ALICE, K1, [g.grantId]);
    await withToken();
    await encrypt(auth, ALICE, K1);
    assert.deepEqual(reads, { all: 1, one: 1, grantee: 0 });
    held.delete(g.grantId); // retired on another node: its token is still well formed
    auth.grantChanged(K1.arn, { removed: g.grantId });
    await assert.rejects(withToken(), deniedOn(K1.arn));
    assert.deepEqual(reads, { all: 1, one: 2, grantee: 0 });
  });

  it('a read of a grant that a change made here overtook changes nothing', async () => {
    const { auth, held, hold } = withStore();
    const g = aliceGrant('a'.repeat(64));
    held.set(g.grantId, g);
    await encrypt(auth, ALICE, K1);
    const release = hold();
    const stale = auth.grantStored(K1.arn, g.grantId);
    held.delete(g.grantId);
    auth.grantChanged(K1.arn, { removed: g.grantId });
    release();
    await stale;
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
  });

  it('of two reads of one grant, the later one counts', async () => {
    const { auth, held, hold } = withStore();
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
    const g = aliceGrant('a'.repeat(64));
    held.set(g.grantId, g);
    const release = hold();
    const first = auth.grantStored(K1.arn, g.grantId);
    held.delete(g.grantId);
    release();
    await auth.grantStored(K1.arn, g.grantId);
    await first;
    await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
  });

  it('a read while the key’s grants are being read drops them', async () => {
    const { auth, held, reads, hold } = withStore();
    const g = aliceGrant('a'.repeat(64));
    const release = hold('all');
    const pending = assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
    while (reads.all === 0) await new Promise((resolve) => setImmediate(resolve));
    held.set(g.grantId, g);
    await auth.grantStored(K1.arn, g.grantId);
    release();
    await pending;
    await encrypt(auth, ALICE, K1);
    assert.deepEqual(reads, { all: 2, one: 0, grantee: 0 });
  });

  describe('more than are read whole', () => {
    const MANY = GRANTS_READ_WHOLE + 1;

    it("reads the caller's grants only, once, and follows changes made here", async () => {
      const { auth, held, reads } = withStore(MANY);
      await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
      // The key's first page, then Alice's grants and her account's.
      assert.deepEqual(reads, { all: 1, one: 0, grantee: 2 });
      await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
      await grantMadeAndRetiredHere(auth, held);
      assert.deepEqual(reads, { all: 1, one: 0, grantee: 2 });
    });

    it("a grant made before the caller's grants were read counts once they are", async () => {
      const { auth, held, reads } = withStore(MANY);
      await encrypt(auth, ROOT, K1); // reads the root's grants, not Alice's
      const g = aliceGrant('a'.repeat(64));
      held.set(g.grantId, g);
      auth.grantChanged(K1.arn, { added: g });
      await encrypt(auth, ALICE, K1);
      await encrypt(auth, ALICE, K1);
      assert.deepEqual(reads, { all: 1, one: 0, grantee: 2 });
    });

    it('a read of a grantee that a change overtook is not kept', async () => {
      const { auth, held, reads, hold } = withStore(MANY);
      const release = hold('grantee');
      const pending = assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
      while (reads.grantee < 2) await new Promise((resolve) => setImmediate(resolve));
      const g = aliceGrant('a'.repeat(64));
      held.set(g.grantId, g);
      auth.grantChanged(K1.arn, { added: g });
      release();
      await pending;
      await encrypt(auth, ALICE, K1);
      assert.deepEqual(reads, { all: 1, one: 0, grantee: 4 });
    });

    it('reads alone a grant that a grant token names and the cache does not hold', async () => {
      const { auth, held, reads } = withStore(MANY);
      await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
      const g = aliceGrant('a'.repeat(64));
      held.set(g.grantId, g); // made on another node: no change heard yet
      await assert.rejects(encrypt(auth, ALICE, K1), deniedOn(K1.arn));
      await encrypt(auth, ALICE, K1, [g.grantId]);
      await encrypt(auth, ALICE, K1);
      assert.deepEqual(reads, { all: 1, one: 1, grantee: 2 });
    });
  });
});
