import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteAccessStore } from '../../src/storage/sqlite/sqlite-access-store.js';

/** Roles, role policies, SCPs and STS sessions in the SQLite access store (migration 4). */
describe('SQLite access store: roles, SCPs, sessions', () => {
  let dir: string;
  let store: SqliteAccessStore;
  const A = '111122223333';
  const role = {
    accountId: A,
    roleName: 'app',
    roleId: 'AROAAAAAAAAAAAAAAAAAA',
    trustPolicy: '{}',
    tags: { team: 'x' },
    maxSessionDuration: 3600,
    createdAt: 1,
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trent-access-'));
    store = SqliteAccessStore.open(join(dir, 'trent.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores roles and their policies, bumping the identity version', async () => {
    const v0 = await store.identityVersion();
    assert.equal(await store.insertRole(role), true);
    assert.equal(await store.insertRole({ ...role, roleId: 'AROABBBBBBBBBBBBBBBBB' }), false, 'name taken');
    assert.ok((await store.identityVersion()) > v0);
    assert.deepEqual(await store.getRole(A, 'app'), role);
    assert.equal(await store.updateRole({ ...role, tags: {}, maxSessionDuration: 7200 }), true);
    assert.equal((await store.getRole(A, 'app'))?.maxSessionDuration, 7200);
    assert.equal(await store.putRolePolicy({ accountId: A, roleName: 'app', policyName: 'p', document: '{}' }), true);
    assert.equal(await store.putRolePolicy({ accountId: A, roleName: 'nope', policyName: 'p', document: '{}' }), false);
    assert.deepEqual(
      (await store.listRolePolicies(A, 'app')).map((p) => p.policyName),
      ['p'],
    );
    assert.deepEqual(
      (await store.listRoles()).map((r) => r.roleName),
      ['app'],
    );
    assert.equal(await store.deleteRole(A, 'app'), true);
    assert.deepEqual(await store.listRolePolicies(A, 'app'), [], 'policies go with the role');
    assert.equal(await store.getRole(A, 'app'), undefined);
  });

  it('attaches and detaches SCPs per account', async () => {
    await store.putScp({ accountId: A, policyName: 'b', document: '{"v":1}' });
    await store.putScp({ accountId: A, policyName: 'a', document: '{}' });
    await store.putScp({ accountId: A, policyName: 'b', document: '{"v":2}' });
    assert.deepEqual(
      (await store.listScps(A)).map((p) => [p.policyName, p.document]),
      [
        ['a', '{}'],
        ['b', '{"v":2}'],
      ],
    );
    assert.deepEqual(await store.listScps('444455556666'), []);
    assert.equal(await store.deleteScp(A, 'a'), true);
    assert.equal(await store.deleteScp(A, 'a'), false);
  });

  it('keeps sessions, and forgets those expired for more than a day', async () => {
    const session = {
      accessKeyId: 'ASIAAAAAAAAAAAAAAAAA',
      secretWrapped: Buffer.from([1, 2, 3]),
      tokenSha256: 'ab'.repeat(32),
      accountId: A,
      roleName: 'app',
      roleId: role.roleId,
      sessionName: 's',
      tags: { k: 'v' },
      transitiveTagKeys: ['k'],
      chained: false,
      createdAt: 0,
      expiresAt: 1000,
    };
    await store.insertSession(session, 0);
    assert.deepEqual(await store.getSession(session.accessKeyId), session);
    await store.insertSession({ ...session, accessKeyId: 'ASIABBBBBBBBBBBBBBBB' }, 1000 + 86_400_001);
    assert.equal(await store.getSession(session.accessKeyId), undefined);
    assert.ok(await store.getSession('ASIABBBBBBBBBBBBBBBB'));
  });
});
