import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { GrantRecord } from '../../src/storage/grant-store.js';
import type { AccessStore } from '../../src/storage/open-access-store.js';
import type { KeyRecord } from '../../src/storage/records.js';
import type { Store } from '../../src/storage/store.js';
import { keyRecord } from '../helpers/key-record.js';

/**
 * The IdentityStore and GrantStore contract, for every adapter: users, roles, their policies, SCPs
 * and sessions; the identity version moving on every identity write (and only then); grants paged
 * per key and per retiring principal, the per-key limit, and grants going with their key.
 */
export interface AccessStoreFixture {
  access: AccessStore;
  /** The key store the access store sits beside (same file or database). */
  store: Store;
  reopen: () => Promise<AccessStore>;
  /** Makes the store one from before it kept a count of each key's grants (the store closed). */
  forgetGrantCounts: () => Promise<void>;
  cleanup: () => Promise<void>;
}

const A = '111122223333';
const KEY_ARN = `arn:aws:kms:eu-west-1:${A}:key/k1`;

const key = (keyId: string): KeyRecord => keyRecord(keyId, { accountId: A });

function grant(grantId: string, over: Partial<GrantRecord> = {}): GrantRecord {
  return {
    keyArn: KEY_ARN,
    grantId,
    granteePrincipal: `arn:aws:iam::${A}:user/alice`,
    issuingAccount: `arn:aws:iam::${A}:root`,
    operations: ['Encrypt', 'Decrypt'],
    creationDate: 1_700_000_000_000,
    ...over,
  };
}

export function runAccessStoreContract(name: string, open: () => Promise<AccessStoreFixture>): void {
  describe(`AccessStore contract: ${name}`, () => {
    let f: AccessStoreFixture;
    beforeEach(async () => {
      f = await open();
    });
    afterEach(async () => {
      await f.cleanup();
    });

    it('stores users and their policies, bumping the identity version on every change', async () => {
      const s = f.access;
      const user = { accountId: A, userName: 'alice', userId: 'AIDAAAAAAAAAAAAAAAAAA', tags: { t: 'x' }, createdAt: 5 };
      const v0 = await s.identityVersion();
      assert.equal(await s.insertUser(user), true);
      const v1 = await s.identityVersion();
      assert.ok(v1 > v0);
      assert.equal(await s.insertUser({ ...user, userId: 'AIDABBBBBBBBBBBBBBBBB' }), false, 'name taken');
      assert.equal(await s.identityVersion(), v1, 'no change, no bump');
      assert.deepEqual(await s.getUser(A, 'alice'), user);
      await s.insertUser({ ...user, userName: 'Bob', userId: 'AIDACCCCCCCCCCCCCCCCC' });
      assert.deepEqual(
        (await s.listUsers(A)).map((u) => u.userName),
        ['Bob', 'alice'],
        'byte-wise order',
      );
      assert.deepEqual(await s.listUsers('444455556666'), []);
      assert.equal(await s.updateUserTags(A, 'alice', {}), true);
      assert.deepEqual((await s.getUser(A, 'alice'))?.tags, {});
      assert.equal(await s.updateUserTags(A, 'nobody', {}), false);
      assert.equal(await s.putUserPolicy({ accountId: A, userName: 'alice', policyName: 'p', document: '{}' }), true);
      assert.equal(
        await s.putUserPolicy({ accountId: A, userName: 'alice', policyName: 'p', document: '{"v":2}' }),
        true,
      );
      assert.equal(await s.putUserPolicy({ accountId: A, userName: 'nobody', policyName: 'p', document: '{}' }), false);
      assert.deepEqual(await s.listUserPolicies(A, 'alice'), [
        { accountId: A, userName: 'alice', policyName: 'p', document: '{"v":2}' },
      ]);
      const v2 = await s.identityVersion();
      assert.equal(await s.deleteUserPolicy(A, 'alice', 'p'), true);
      assert.equal(await s.deleteUserPolicy(A, 'alice', 'p'), false);
      assert.ok((await s.identityVersion()) > v2);
      await s.putUserPolicy({ accountId: A, userName: 'alice', policyName: 'q', document: '{}' });
      assert.equal(await s.deleteUser(A, 'alice'), true);
      assert.equal(await s.deleteUser(A, 'alice'), false);
      assert.equal(await s.getUser(A, 'alice'), undefined);
      assert.deepEqual(await s.listUserPolicies(A, 'alice'), [], 'policies go with the user');
    });

    it('stores roles, role policies and SCPs', async () => {
      const s = f.access;
      const role = {
        accountId: A,
        roleName: 'app',
        roleId: 'AROAAAAAAAAAAAAAAAAAA',
        trustPolicy: '{}',
        tags: { team: 'x' },
        maxSessionDuration: 3600,
        createdAt: 1,
      };
      const v0 = await s.identityVersion();
      assert.equal(await s.insertRole(role), true);
      assert.equal(await s.insertRole({ ...role, roleId: 'AROABBBBBBBBBBBBBBBBB' }), false);
      assert.ok((await s.identityVersion()) > v0);
      assert.deepEqual(await s.getRole(A, 'app'), role);
      assert.equal(await s.updateRole({ ...role, maxSessionDuration: 7200 }), true);
      assert.equal((await s.getRole(A, 'app'))?.maxSessionDuration, 7200);
      assert.equal(await s.putRolePolicy({ accountId: A, roleName: 'app', policyName: 'p', document: '{}' }), true);
      assert.equal(await s.putRolePolicy({ accountId: A, roleName: 'nope', policyName: 'p', document: '{}' }), false);
      assert.deepEqual(
        (await s.listRoles()).map((r) => r.roleName),
        ['app'],
      );
      assert.equal(await s.deleteRole(A, 'app'), true);
      assert.deepEqual(await s.listRolePolicies(A, 'app'), []);
      const v1 = await s.identityVersion();
      await s.putScp({ accountId: A, policyName: 'b', document: '{"v":1}' });
      await s.putScp({ accountId: A, policyName: 'a', document: '{}' });
      await s.putScp({ accountId: A, policyName: 'b', document: '{"v":2}' });
      assert.ok((await s.identityVersion()) > v1);
      assert.deepEqual(
        (await s.listScps(A)).map((p) => [p.policyName, p.document]),
        [
          ['a', '{}'],
          ['b', '{"v":2}'],
        ],
      );
      assert.equal(await s.deleteScp(A, 'a'), true);
      assert.equal(await s.deleteScp(A, 'a'), false);
    });

    it('stores managed policies and their attachments, refusing to delete one still attached', async () => {
      const s = f.access;
      const policy = {
        accountId: A,
        policyName: 'kms',
        policyId: 'ANPAAAAAAAAAAAAAAAAAA',
        document: '{}',
        createdAt: 7,
      };
      await s.insertUser({ accountId: A, userName: 'alice', userId: 'AIDAAAAAAAAAAAAAAAAAA', tags: {}, createdAt: 1 });
      await s.insertRole({
        accountId: A,
        roleName: 'app',
        roleId: 'AROAAAAAAAAAAAAAAAAAA',
        trustPolicy: '{}',
        tags: {},
        maxSessionDuration: 3600,
        createdAt: 1,
      });
      const v0 = await s.identityVersion();
      assert.equal(await s.insertManagedPolicy(policy), true);
      const v1 = await s.identityVersion();
      assert.ok(v1 > v0);
      assert.equal(await s.insertManagedPolicy({ ...policy, policyId: 'ANPABBBBBBBBBBBBBBBBB' }), false, 'name taken');
      assert.equal(await s.identityVersion(), v1, 'no change, no bump');
      assert.deepEqual(await s.getManagedPolicy(A, 'kms'), policy);
      await s.insertManagedPolicy({ ...policy, policyName: 'Audit', policyId: 'ANPACCCCCCCCCCCCCCCCC' });
      assert.deepEqual(
        (await s.listManagedPolicies(A)).map((p) => p.policyName),
        ['Audit', 'kms'],
        'byte-wise order',
      );
      assert.deepEqual(await s.listManagedPolicies('444455556666'), []);
      assert.equal(await s.updateManagedPolicy(A, 'kms', '{"v":2}'), true);
      assert.equal(await s.updateManagedPolicy(A, 'nope', '{}'), false);

      const toAlice = { accountId: A, policyName: 'kms', entityType: 'user', entityName: 'alice' } as const;
      const toApp = { accountId: A, policyName: 'kms', entityType: 'role', entityName: 'app' } as const;
      const v2 = await s.identityVersion();
      assert.equal(await s.attachPolicy(toAlice), true);
      assert.ok((await s.identityVersion()) > v2);
      const v3 = await s.identityVersion();
      assert.equal(await s.attachPolicy(toAlice), true, 'attached already');
      assert.equal(await s.identityVersion(), v3, 'no change, no bump');
      assert.equal(await s.attachPolicy(toApp), true);
      assert.equal(await s.attachPolicy({ ...toAlice, entityName: 'nobody' }), false, 'no such user');
      assert.equal(await s.attachPolicy({ ...toApp, policyName: 'nope' }), false, 'no such policy');
      assert.deepEqual(await s.listAttachedPolicies(A, 'user', 'alice'), [{ ...policy, document: '{"v":2}' }]);
      assert.deepEqual(
        (await s.listPolicyAttachments(A, 'kms')).map((a) => `${a.entityType}/${a.entityName}`),
        ['role/app', 'user/alice'],
      );

      const v4 = await s.identityVersion();
      assert.equal(await s.deleteManagedPolicy(A, 'kms'), 'attached');
      assert.equal(await s.identityVersion(), v4, 'refused, no bump');
      assert.ok(await s.getManagedPolicy(A, 'kms'));
      assert.equal(await s.detachPolicy(toAlice), true);
      assert.ok((await s.identityVersion()) > v4);
      assert.equal(await s.detachPolicy(toAlice), false);
      assert.deepEqual(await s.listAttachedPolicies(A, 'user', 'alice'), []);
      assert.equal(await s.deleteRole(A, 'app'), true);
      assert.deepEqual(await s.listPolicyAttachments(A, 'kms'), [], 'attachments go with the role');
      assert.equal(await s.deleteManagedPolicy(A, 'kms'), 'deleted');
      assert.equal(await s.deleteManagedPolicy(A, 'kms'), 'missing');
      assert.equal(await s.getManagedPolicy(A, 'kms'), undefined);

      await s.attachPolicy({ ...toAlice, policyName: 'Audit' });
      assert.equal(await s.deleteUser(A, 'alice'), true);
      assert.deepEqual(await s.listPolicyAttachments(A, 'Audit'), [], 'attachments go with the user');
    });

    it('keeps the unique ids a trust policy was bound to, and a session policy with its session', async () => {
      const s = f.access;
      const role = {
        accountId: A,
        roleName: 'bound',
        roleId: 'AROACCCCCCCCCCCCCCCCC',
        trustPolicy: '{}',
        tags: {},
        maxSessionDuration: 3600,
        createdAt: 1,
      };
      const trustPrincipals = { [`arn:aws:iam::${A}:user/bob`]: 'AIDABBBBBBBBBBBBBBBBB' };
      assert.equal(await s.insertRole({ ...role, trustPrincipals }), true);
      assert.deepEqual((await s.getRole(A, 'bound'))?.trustPrincipals, trustPrincipals);
      const rebound = { [`arn:aws:iam::${A}:user/bob`]: 'AIDADDDDDDDDDDDDDDDDD' };
      assert.equal(await s.updateRole({ ...role, trustPrincipals: rebound }), true);
      assert.deepEqual((await s.getRole(A, 'bound'))?.trustPrincipals, rebound);
      assert.equal(await s.updateRole(role), true);
      assert.equal((await s.getRole(A, 'bound'))?.trustPrincipals, undefined, 'unbound: matched by ARN');
      await s.deleteRole(A, 'bound');

      const session = {
        accessKeyId: 'ASIACCCCCCCCCCCCCCCC',
        secretWrapped: Buffer.from([1]),
        tokenSha256: 'cd'.repeat(32),
        accountId: A,
        roleName: 'bound',
        roleId: role.roleId,
        sessionName: 's',
        tags: {},
        transitiveTagKeys: [],
        chained: false,
        sessionPolicy: '{"Version":"2012-10-17","Statement":[]}',
        createdAt: 0,
        expiresAt: Date.now() + 3_600_000,
      };
      await s.insertSession(session, 0);
      assert.equal((await s.getSession(session.accessKeyId))?.sessionPolicy, session.sessionPolicy);
    });

    it('keeps sessions, and forgets those expired for more than a day', async () => {
      const session = {
        accessKeyId: 'ASIAAAAAAAAAAAAAAAAA',
        secretWrapped: Buffer.from([1, 2, 3]),
        tokenSha256: 'ab'.repeat(32),
        accountId: A,
        roleName: 'app',
        roleId: 'AROAAAAAAAAAAAAAAAAAA',
        sessionName: 's',
        tags: { k: 'v' },
        transitiveTagKeys: ['k'],
        chained: false,
        createdAt: 0,
        expiresAt: 1000,
      };
      await f.access.insertSession(session, 0);
      assert.deepEqual(await f.access.getSession(session.accessKeyId), session);
      await f.access.insertSession({ ...session, accessKeyId: 'ASIABBBBBBBBBBBBBBBB' }, 1000 + 86_400_001);
      assert.equal(await f.access.getSession(session.accessKeyId), undefined);
      assert.ok(await f.access.getSession('ASIABBBBBBBBBBBBBBBB'));
    });

    it('returns, instead of inserting, a grant of the same name that `same` accepts', async () => {
      const s = f.access;
      const g = grant('bb', { name: 'n' });
      assert.equal(await s.insertGrant(g, 10, () => true), true, 'nothing named n yet');
      assert.deepEqual(await s.insertGrant(grant('cc', { name: 'n' }), 10, (x) => x.grantId === 'bb'), g);
      assert.equal(await s.insertGrant(grant('dd', { name: 'n' }), 10, () => false), true, 'same refuses');
      assert.equal(await s.insertGrant(grant('ee', { name: 'm' }), 10, () => true), true, 'another name');
      assert.equal(await s.insertGrant(grant('ff'), 10, () => true), true, 'no name');
      assert.deepEqual(
        (await s.listGrants(KEY_ARN, { limit: 10 })).map((x) => x.grantId),
        ['bb', 'dd', 'ee', 'ff'],
      );
    });

    it("pages one grantee's grants on a key", async () => {
      const s = f.access;
      const bob = `arn:aws:iam::${A}:user/bob`;
      for (const id of ['aa', 'bb', 'cc', 'dd', 'ee']) {
        assert.equal(
          await s.insertGrant(
            grant(id, id === 'bb' || id === 'dd' || id === 'ee' ? { granteePrincipal: bob } : {}),
            10,
          ),
          true,
        );
      }
      await s.insertGrant(grant('ff', { keyArn: `arn:aws:kms:eu-west-1:${A}:key/k0`, granteePrincipal: bob }), 10);
      const ids = async (after: string | undefined, limit: number) =>
        (await s.listGrants(KEY_ARN, { after, limit }, bob)).map((x) => x.grantId);
      assert.deepEqual(await ids(undefined, 2), ['bb', 'dd']);
      assert.deepEqual(await ids('dd', 2), ['ee']);
      assert.deepEqual(await ids('ee', 2), []);
      assert.deepEqual((await s.listGrants(KEY_ARN, { limit: 10 }, `arn:aws:iam::${A}:user/nobody`)).length, 0);
    });

    it('counts the grants a store held before it kept their count', async () => {
      const other = `arn:aws:kms:eu-west-1:${A}:key/k0`;
      for (const id of ['aa', 'bb', 'cc']) assert.equal(await f.access.insertGrant(grant(id), 10), true);
      assert.equal(await f.access.insertGrant(grant('dd', { keyArn: other }), 10), true);
      await f.access.close();
      await f.forgetGrantCounts();
      const migrated = await f.reopen();
      try {
        assert.equal(await migrated.insertGrant(grant('ee'), 4), true);
        assert.equal(await migrated.insertGrant(grant('ff'), 4), false, 'four grants on the key');
        assert.equal(await migrated.insertGrant(grant('gg', { keyArn: other }), 1), false, 'one on the other');
        assert.equal(await migrated.deleteGrant(KEY_ARN, 'aa'), true);
        assert.equal(await migrated.insertGrant(grant('ff'), 4), true, 'one retired, room for one');
        assert.equal(await migrated.deleteGrant(other, 'dd'), true);
        assert.equal(await migrated.insertGrant(grant('gg', { keyArn: other }), 1), true, 'none left on the other');
      } finally {
        await migrated.close();
      }
    });

    it('pages grants per key and per retiring principal, and enforces the per-key limit', async () => {
      const s = f.access;
      const retiring = `arn:aws:iam::${A}:user/bob`;
      const g = grant('bb', {
        name: 'n',
        retiringPrincipal: retiring,
        constraints: { EncryptionContextEquals: { a: 'b' } },
      });
      assert.equal(await s.insertGrant(g, 3), true);
      assert.equal(await s.insertGrant(grant('aa'), 3), true);
      assert.equal(await s.insertGrant(grant('cc', { retiringPrincipal: retiring }), 3), true);
      assert.equal(await s.insertGrant(grant('dd'), 3), false, 'limit reached');
      assert.deepEqual(await s.getGrant(KEY_ARN, 'bb'), g);
      assert.deepEqual(
        (await s.listGrants(KEY_ARN, { limit: 2 })).map((x) => x.grantId),
        ['aa', 'bb'],
      );
      assert.deepEqual(
        (await s.listGrants(KEY_ARN, { after: 'bb', limit: 2 })).map((x) => x.grantId),
        ['cc'],
      );
      const other = `arn:aws:kms:eu-west-1:${A}:key/k0`;
      await s.insertGrant(grant('ee', { keyArn: other, retiringPrincipal: retiring }), 3);
      const first = await s.listRetirableGrants(retiring, { limit: 2 });
      assert.deepEqual(
        first.map((x) => [x.keyArn, x.grantId]),
        [
          [other, 'ee'],
          [KEY_ARN, 'bb'],
        ],
      );
      const next = await s.listRetirableGrants(retiring, { after: `${KEY_ARN} bb`, limit: 2 });
      assert.deepEqual(
        next.map((x) => x.grantId),
        ['cc'],
      );
      assert.equal(await s.deleteGrant(KEY_ARN, 'bb'), true);
      assert.equal(await s.deleteGrant(KEY_ARN, 'bb'), false);
      assert.equal(await s.getGrant(KEY_ARN, 'bb'), undefined);
    });

    it('names each key that has grants once, and only those', async () => {
      const s = f.access;
      assert.deepEqual(await s.keysWithGrants(), []);
      const other = `arn:aws:kms:eu-west-1:${A}:key/k0`;
      await s.insertGrant(grant('aa'), 10);
      await s.insertGrant(grant('bb'), 10);
      await s.insertGrant(grant('cc', { keyArn: other }), 10);
      assert.deepEqual((await s.keysWithGrants()).sort(), [KEY_ARN, other].sort());
      await s.deleteGrant(other, 'cc');
      assert.deepEqual(await s.keysWithGrants(), [KEY_ARN]);
    });

    it('deletes the grants of a deleted key, and keeps everything across a reopen', async () => {
      const k = key('k1');
      await f.store.insertKey(k, []);
      await f.access.insertGrant(grant('aa'), 10);
      await f.access.insertUser({
        accountId: A,
        userName: 'u',
        userId: 'AIDAAAAAAAAAAAAAAAAAA',
        tags: {},
        createdAt: 1,
      });
      const reopened = await f.reopen();
      try {
        assert.ok(await reopened.getGrant(KEY_ARN, 'aa'));
        assert.ok(await reopened.getUser(A, 'u'));
        assert.equal(await reopened.identityVersion(), await f.access.identityVersion());
      } finally {
        await reopened.close();
      }
      assert.equal(await f.store.deleteKey(k.arn), true);
      assert.deepEqual(await f.access.listGrants(KEY_ARN, { limit: 10 }), []);
      assert.deepEqual(await f.access.keysWithGrants(), []);
    });
  });
}
