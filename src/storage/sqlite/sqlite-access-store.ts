import type Database from 'better-sqlite3';
import {
  type ManagedPolicyRow,
  parseManagedPolicy,
  parseRole,
  parseUser,
  type RoleRow,
  trustPrincipalsColumn,
  type UserRow,
} from '../access-rows.js';
import type { GrantRecord, GrantStore } from '../grant-store.js';
import type {
  IdentityStore,
  ManagedPolicyRecord,
  PolicyAttachmentRecord,
  RolePolicyRecord,
  RoleRecord,
  ScpRecord,
  SessionRecord,
  UserPolicyRecord,
  UserRecord,
} from '../identity-store.js';
import type { PageRequest } from '../records.js';
import { BOUND_LIMIT } from './bound-limit.js';
import { applyMigrations } from './migrations.js';
import { connectWal, type SharedConnection, type SqliteConnections } from './wal-database.js';

interface PolicyRow {
  account_id: string;
  user_name: string;
  policy_name: string;
  document: string;
}

interface DocRow {
  doc: string;
}

interface RolePolicyRow {
  account_id: string;
  role_name: string;
  policy_name: string;
  document: string;
}

interface ScpRow {
  account_id: string;
  policy_name: string;
  document: string;
}

interface AttachmentRow {
  account_id: string;
  policy_name: string;
  entity_type: 'user' | 'role';
  entity_name: string;
}

interface SessionRow {
  secret_wrapped: Buffer;
  doc: string;
}

const SESSION_RETENTION_MS = 86_400_000;

/**
 * Identities (users, inline policies) and grants in a SQLite file — by default the store's own
 * file, on a connection of its own (as the audit log does). better-sqlite3 is synchronous: each
 * method does its work at once and returns a settled promise.
 */
export class SqliteAccessStore implements IdentityStore, GrantStore {
  readonly #connection: SharedConnection;
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepare>;

  private constructor(connection: SharedConnection) {
    this.#connection = connection;
    this.#db = connection.db;
    this.#s = prepare(connection.db);
  }

  /** With `connections`, the store shares the file's connection with the other adapters on it. */
  static open(path: string, connections?: SqliteConnections): SqliteAccessStore {
    const connection = connectWal(path, 'SQLite access store', connections);
    try {
      applyMigrations(connection.db);
      return new SqliteAccessStore(connection);
    } catch (err) {
      connection.release();
      throw err;
    }
  }

  // --- identities ------------------------------------------------------------------------------

  async getUser(accountId: string, userName: string): Promise<UserRecord | undefined> {
    const row = this.#s.getUser.get(accountId, userName);
    return row && parseUser(row);
  }

  async listUsers(accountId?: string): Promise<UserRecord[]> {
    const rows = accountId === undefined ? this.#s.listUsers.all() : this.#s.listUsersOf.all(accountId);
    return rows.map(parseUser);
  }

  async insertUser(user: UserRecord): Promise<boolean> {
    return this.#write(
      () =>
        this.#s.insertUser.run(user.accountId, user.userName, user.userId, JSON.stringify(user.tags), user.createdAt)
          .changes === 1,
    );
  }

  async updateUserTags(accountId: string, userName: string, tags: Record<string, string>): Promise<boolean> {
    return this.#write(() => this.#s.updateUserTags.run(JSON.stringify(tags), accountId, userName).changes === 1);
  }

  async deleteUser(accountId: string, userName: string): Promise<boolean> {
    return this.#write(() => {
      this.#s.deleteUserPolicies.run(accountId, userName);
      this.#s.deleteAttachmentsOf.run(accountId, 'user', userName);
      return this.#s.deleteUser.run(accountId, userName).changes === 1;
    });
  }

  async putUserPolicy(p: UserPolicyRecord): Promise<boolean> {
    return this.#write(() => {
      if (this.#s.getUser.get(p.accountId, p.userName) === undefined) return false;
      this.#s.putUserPolicy.run(p.accountId, p.userName, p.policyName, p.document);
      return true;
    });
  }

  async deleteUserPolicy(accountId: string, userName: string, policyName: string): Promise<boolean> {
    return this.#write(() => this.#s.deleteUserPolicy.run(accountId, userName, policyName).changes === 1);
  }

  async listUserPolicies(accountId: string, userName: string): Promise<UserPolicyRecord[]> {
    return this.#s.listUserPolicies.all(accountId, userName).map((r) => ({
      accountId: r.account_id,
      userName: r.user_name,
      policyName: r.policy_name,
      document: r.document,
    }));
  }

  async getRole(accountId: string, roleName: string): Promise<RoleRecord | undefined> {
    const row = this.#s.getRole.get(accountId, roleName);
    return row && parseRole(row);
  }

  async listRoles(accountId?: string): Promise<RoleRecord[]> {
    const rows = accountId === undefined ? this.#s.listRoles.all() : this.#s.listRolesOf.all(accountId);
    return rows.map(parseRole);
  }

  async insertRole(r: RoleRecord): Promise<boolean> {
    return this.#write(
      () =>
        this.#s.insertRole.run(
          r.accountId,
          r.roleName,
          r.roleId,
          r.trustPolicy,
          JSON.stringify(r.tags),
          r.maxSessionDuration,
          r.createdAt,
          trustPrincipalsColumn(r),
        ).changes === 1,
    );
  }

  async updateRole(r: RoleRecord): Promise<boolean> {
    return this.#write(
      () =>
        this.#s.updateRole.run(
          r.trustPolicy,
          JSON.stringify(r.tags),
          r.maxSessionDuration,
          trustPrincipalsColumn(r),
          r.accountId,
          r.roleName,
        ).changes === 1,
    );
  }

  async deleteRole(accountId: string, roleName: string): Promise<boolean> {
    return this.#write(() => {
      this.#s.deleteRolePolicies.run(accountId, roleName);
      this.#s.deleteAttachmentsOf.run(accountId, 'role', roleName);
      return this.#s.deleteRole.run(accountId, roleName).changes === 1;
    });
  }

  async putRolePolicy(p: RolePolicyRecord): Promise<boolean> {
    return this.#write(() => {
      if (this.#s.getRole.get(p.accountId, p.roleName) === undefined) return false;
      this.#s.putRolePolicy.run(p.accountId, p.roleName, p.policyName, p.document);
      return true;
    });
  }

  async deleteRolePolicy(accountId: string, roleName: string, policyName: string): Promise<boolean> {
    return this.#write(() => this.#s.deleteRolePolicy.run(accountId, roleName, policyName).changes === 1);
  }

  async listRolePolicies(accountId: string, roleName: string): Promise<RolePolicyRecord[]> {
    return this.#s.listRolePolicies.all(accountId, roleName).map((r) => ({
      accountId: r.account_id,
      roleName: r.role_name,
      policyName: r.policy_name,
      document: r.document,
    }));
  }

  async putScp(p: ScpRecord): Promise<void> {
    this.#write(() => this.#s.putScp.run(p.accountId, p.policyName, p.document).changes === 1);
  }

  async deleteScp(accountId: string, policyName: string): Promise<boolean> {
    return this.#write(() => this.#s.deleteScp.run(accountId, policyName).changes === 1);
  }

  async listScps(accountId?: string): Promise<ScpRecord[]> {
    const rows = accountId === undefined ? this.#s.listScps.all() : this.#s.listScpsOf.all(accountId);
    return rows.map((r) => ({ accountId: r.account_id, policyName: r.policy_name, document: r.document }));
  }

  async insertManagedPolicy(p: ManagedPolicyRecord): Promise<boolean> {
    return this.#write(
      () =>
        this.#s.insertManagedPolicy.run(p.accountId, p.policyName, p.policyId, p.document, p.createdAt).changes === 1,
    );
  }

  async updateManagedPolicy(accountId: string, policyName: string, document: string): Promise<boolean> {
    return this.#write(() => this.#s.updateManagedPolicy.run(document, accountId, policyName).changes === 1);
  }

  async getManagedPolicy(accountId: string, policyName: string): Promise<ManagedPolicyRecord | undefined> {
    const row = this.#s.getManagedPolicy.get(accountId, policyName);
    return row && parseManagedPolicy(row);
  }

  async listManagedPolicies(accountId?: string): Promise<ManagedPolicyRecord[]> {
    const rows =
      accountId === undefined ? this.#s.listManagedPolicies.all() : this.#s.listManagedPoliciesOf.all(accountId);
    return rows.map(parseManagedPolicy);
  }

  async deleteManagedPolicy(accountId: string, policyName: string): Promise<'deleted' | 'missing' | 'attached'> {
    let outcome: 'deleted' | 'missing' | 'attached' = 'missing';
    this.#write(() => {
      if (this.#s.policyAttachments.all(accountId, policyName).length > 0) outcome = 'attached';
      else if (this.#s.deleteManagedPolicy.run(accountId, policyName).changes === 1) outcome = 'deleted';
      return outcome === 'deleted';
    });
    return outcome;
  }

  async attachPolicy(a: PolicyAttachmentRecord): Promise<boolean> {
    let found = false;
    this.#write(() => {
      const entity =
        a.entityType === 'user'
          ? this.#s.getUser.get(a.accountId, a.entityName)
          : this.#s.getRole.get(a.accountId, a.entityName);
      found = entity !== undefined && this.#s.getManagedPolicy.get(a.accountId, a.policyName) !== undefined;
      return found && this.#s.attachPolicy.run(a.accountId, a.policyName, a.entityType, a.entityName).changes === 1;
    });
    return found;
  }

  async detachPolicy(a: PolicyAttachmentRecord): Promise<boolean> {
    return this.#write(
      () => this.#s.detachPolicy.run(a.accountId, a.policyName, a.entityType, a.entityName).changes === 1,
    );
  }

  async listAttachedPolicies(
    accountId: string,
    entityType: 'user' | 'role',
    entityName: string,
  ): Promise<ManagedPolicyRecord[]> {
    return this.#s.attachedPolicies.all(accountId, entityType, entityName).map(parseManagedPolicy);
  }

  async listPolicyAttachments(accountId: string, policyName: string): Promise<PolicyAttachmentRecord[]> {
    return this.#s.policyAttachments.all(accountId, policyName).map((r) => ({
      accountId: r.account_id,
      policyName: r.policy_name,
      entityType: r.entity_type,
      entityName: r.entity_name,
    }));
  }

  async insertSession(session: SessionRecord, now: number): Promise<void> {
    const { secretWrapped, ...rest } = session;
    this.#db.transaction(() => {
      this.#s.pruneSessions.run(now - SESSION_RETENTION_MS);
      this.#s.insertSession.run(session.accessKeyId, secretWrapped, session.expiresAt, JSON.stringify(rest));
    })();
  }

  async getSession(accessKeyId: string): Promise<SessionRecord | undefined> {
    const row = this.#s.getSession.get(accessKeyId);
    return (
      row && { ...(JSON.parse(row.doc) as Omit<SessionRecord, 'secretWrapped'>), secretWrapped: row.secret_wrapped }
    );
  }

  async identityVersion(): Promise<number> {
    return this.#s.identityVersion.get()?.version ?? 0;
  }

  /** Runs an identity write in one transaction; bumps the version when it changed something. */
  #write(change: () => boolean): boolean {
    return this.#db.transaction(() => {
      const changed = change();
      if (changed) this.#s.bumpIdentityVersion.run();
      return changed;
    })();
  }

  // --- grants ----------------------------------------------------------------------------------

  async getGrant(keyArn: string, grantId: string): Promise<GrantRecord | undefined> {
    const row = this.#s.getGrant.get(keyArn, grantId);
    return row && (JSON.parse(row.doc) as GrantRecord);
  }

  async listGrants(keyArn: string, page: PageRequest, granteePrincipal?: string): Promise<GrantRecord[]> {
    const rows =
      granteePrincipal === undefined
        ? this.#s.listGrants.all(keyArn, page.after ?? '', page.limit)
        : this.#s.listGranteeGrants.all(keyArn, granteePrincipal, page.after ?? '', page.limit);
    return rows.map((r) => JSON.parse(r.doc) as GrantRecord);
  }

  async keysWithGrants(): Promise<string[]> {
    return this.#s.keysWithGrants.all().map((r) => r.key_arn);
  }

  async listRetirableGrants(retiringPrincipal: string, page: PageRequest): Promise<GrantRecord[]> {
    const after = page.after ?? ' ';
    const split = after.lastIndexOf(' ');
    return this.#s.listRetirable
      .all(retiringPrincipal, after.slice(0, split), after.slice(split + 1), page.limit)
      .map((r) => JSON.parse(r.doc) as GrantRecord);
  }

  async insertGrant(
    grant: GrantRecord,
    maxPerKey: number,
    same?: (existing: GrantRecord) => boolean,
  ): Promise<boolean | GrantRecord> {
    return this.#db.transaction((): boolean | GrantRecord => {
      if (same !== undefined && grant.name !== undefined) {
        const existing = this.#s.namedGrants
          .all(grant.keyArn, grant.name)
          .map((r) => JSON.parse(r.doc) as GrantRecord)
          .find(same);
        if (existing !== undefined) return existing;
      }
      if ((this.#s.grantCount.get(grant.keyArn) ?? 0) >= maxPerKey) return false;
      this.#s.insertGrant.run(grant.keyArn, grant.grantId, grant.retiringPrincipal ?? null, JSON.stringify(grant));
      return true;
    })();
  }

  async deleteGrant(keyArn: string, grantId: string): Promise<boolean> {
    return this.#s.deleteGrant.run(keyArn, grantId).changes === 1;
  }

  async close(): Promise<void> {
    this.#connection.release();
  }
}

function prepare(db: Database.Database) {
  const userCols = 'account_id, user_name, user_id, tags, created_at';
  const roleCols =
    'account_id, role_name, role_id, trust_policy, tags, max_session_duration, created_at, trust_principals';
  const managedCols = 'account_id, policy_name, policy_id, document, created_at';
  return {
    insertManagedPolicy: db.prepare<[string, string, string, string, number]>(
      `INSERT INTO iam_managed_policies (${managedCols}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    updateManagedPolicy: db.prepare<[string, string, string]>(
      'UPDATE iam_managed_policies SET document = ? WHERE account_id = ? AND policy_name = ?',
    ),
    getManagedPolicy: db.prepare<[string, string], ManagedPolicyRow>(
      `SELECT ${managedCols} FROM iam_managed_policies WHERE account_id = ? AND policy_name = ?`,
    ),
    listManagedPolicies: db.prepare<[], ManagedPolicyRow>(
      `SELECT ${managedCols} FROM iam_managed_policies ORDER BY account_id, policy_name`,
    ),
    listManagedPoliciesOf: db.prepare<[string], ManagedPolicyRow>(
      `SELECT ${managedCols} FROM iam_managed_policies WHERE account_id = ? ORDER BY policy_name`,
    ),
    deleteManagedPolicy: db.prepare<[string, string]>(
      'DELETE FROM iam_managed_policies WHERE account_id = ? AND policy_name = ?',
    ),
    attachPolicy: db.prepare<[string, string, string, string]>(
      `INSERT INTO iam_policy_attachments (account_id, policy_name, entity_type, entity_name) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    detachPolicy: db.prepare<[string, string, string, string]>(
      `DELETE FROM iam_policy_attachments
       WHERE account_id = ? AND policy_name = ? AND entity_type = ? AND entity_name = ?`,
    ),
    deleteAttachmentsOf: db.prepare<[string, string, string]>(
      'DELETE FROM iam_policy_attachments WHERE account_id = ? AND entity_type = ? AND entity_name = ?',
    ),
    attachedPolicies: db.prepare<[string, string, string], ManagedPolicyRow>(
      `SELECT p.account_id, p.policy_name, p.policy_id, p.document, p.created_at
       FROM iam_policy_attachments a JOIN iam_managed_policies p
         ON p.account_id = a.account_id AND p.policy_name = a.policy_name
       WHERE a.account_id = ? AND a.entity_type = ? AND a.entity_name = ? ORDER BY p.policy_name`,
    ),
    policyAttachments: db.prepare<[string, string], AttachmentRow>(
      `SELECT account_id, policy_name, entity_type, entity_name FROM iam_policy_attachments
       WHERE account_id = ? AND policy_name = ? ORDER BY entity_type, entity_name`,
    ),
    getRole: db.prepare<[string, string], RoleRow>(
      `SELECT ${roleCols} FROM iam_roles WHERE account_id = ? AND role_name = ?`,
    ),
    listRoles: db.prepare<[], RoleRow>(`SELECT ${roleCols} FROM iam_roles ORDER BY account_id, role_name`),
    listRolesOf: db.prepare<[string], RoleRow>(
      `SELECT ${roleCols} FROM iam_roles WHERE account_id = ? ORDER BY role_name`,
    ),
    insertRole: db.prepare<[string, string, string, string, string, number, number, string | null]>(
      `INSERT INTO iam_roles (${roleCols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    updateRole: db.prepare<[string, string, number, string | null, string, string]>(
      `UPDATE iam_roles SET trust_policy = ?, tags = ?, max_session_duration = ?, trust_principals = ?
       WHERE account_id = ? AND role_name = ?`,
    ),
    deleteRole: db.prepare<[string, string]>('DELETE FROM iam_roles WHERE account_id = ? AND role_name = ?'),
    deleteRolePolicies: db.prepare<[string, string]>(
      'DELETE FROM iam_role_policies WHERE account_id = ? AND role_name = ?',
    ),
    putRolePolicy: db.prepare<[string, string, string, string]>(
      `INSERT INTO iam_role_policies (account_id, role_name, policy_name, document) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_id, role_name, policy_name) DO UPDATE SET document = excluded.document`,
    ),
    deleteRolePolicy: db.prepare<[string, string, string]>(
      'DELETE FROM iam_role_policies WHERE account_id = ? AND role_name = ? AND policy_name = ?',
    ),
    listRolePolicies: db.prepare<[string, string], RolePolicyRow>(
      `SELECT account_id, role_name, policy_name, document FROM iam_role_policies
       WHERE account_id = ? AND role_name = ? ORDER BY policy_name`,
    ),
    putScp: db.prepare<[string, string, string]>(
      `INSERT INTO service_control_policies (account_id, policy_name, document) VALUES (?, ?, ?)
       ON CONFLICT (account_id, policy_name) DO UPDATE SET document = excluded.document`,
    ),
    deleteScp: db.prepare<[string, string]>(
      'DELETE FROM service_control_policies WHERE account_id = ? AND policy_name = ?',
    ),
    listScps: db.prepare<[], ScpRow>(
      'SELECT account_id, policy_name, document FROM service_control_policies ORDER BY account_id, policy_name',
    ),
    listScpsOf: db.prepare<[string], ScpRow>(
      'SELECT account_id, policy_name, document FROM service_control_policies WHERE account_id = ? ORDER BY policy_name',
    ),
    insertSession: db.prepare<[string, Buffer, number, string]>(
      'INSERT INTO sts_sessions (access_key_id, secret_wrapped, expires_at, doc) VALUES (?, ?, ?, ?)',
    ),
    getSession: db.prepare<[string], SessionRow>(
      'SELECT secret_wrapped, doc FROM sts_sessions WHERE access_key_id = ?',
    ),
    pruneSessions: db.prepare<[number]>('DELETE FROM sts_sessions WHERE expires_at < ?'),
    getUser: db.prepare<[string, string], UserRow>(
      `SELECT ${userCols} FROM iam_users WHERE account_id = ? AND user_name = ?`,
    ),
    listUsers: db.prepare<[], UserRow>(`SELECT ${userCols} FROM iam_users ORDER BY account_id, user_name`),
    listUsersOf: db.prepare<[string], UserRow>(
      `SELECT ${userCols} FROM iam_users WHERE account_id = ? ORDER BY user_name`,
    ),
    insertUser: db.prepare<[string, string, string, string, number]>(
      `INSERT INTO iam_users (${userCols}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    updateUserTags: db.prepare<[string, string, string]>(
      'UPDATE iam_users SET tags = ? WHERE account_id = ? AND user_name = ?',
    ),
    deleteUser: db.prepare<[string, string]>('DELETE FROM iam_users WHERE account_id = ? AND user_name = ?'),
    deleteUserPolicies: db.prepare<[string, string]>(
      'DELETE FROM iam_user_policies WHERE account_id = ? AND user_name = ?',
    ),
    putUserPolicy: db.prepare<[string, string, string, string]>(
      `INSERT INTO iam_user_policies (account_id, user_name, policy_name, document) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_id, user_name, policy_name) DO UPDATE SET document = excluded.document`,
    ),
    deleteUserPolicy: db.prepare<[string, string, string]>(
      'DELETE FROM iam_user_policies WHERE account_id = ? AND user_name = ? AND policy_name = ?',
    ),
    listUserPolicies: db.prepare<[string, string], PolicyRow>(
      `SELECT account_id, user_name, policy_name, document FROM iam_user_policies
       WHERE account_id = ? AND user_name = ? ORDER BY policy_name`,
    ),
    identityVersion: db.prepare<[], { version: number }>('SELECT version FROM identity_version WHERE id = 1'),
    bumpIdentityVersion: db.prepare('UPDATE identity_version SET version = version + 1 WHERE id = 1'),
    getGrant: db.prepare<[string, string], DocRow>('SELECT doc FROM grants WHERE key_arn = ? AND grant_id = ?'),
    listGrants: db.prepare<[string, string, number], DocRow>(
      `SELECT doc FROM grants WHERE key_arn = ? AND grant_id > ? ORDER BY grant_id ${BOUND_LIMIT}`,
    ),
    listGranteeGrants: db.prepare<[string, string, string, number], DocRow>(
      `SELECT doc FROM grants WHERE key_arn = ? AND json_extract(doc, '$.granteePrincipal') = ? AND grant_id > ?
       ORDER BY grant_id ${BOUND_LIMIT}`,
    ),
    keysWithGrants: db.prepare<[], { key_arn: string }>('SELECT key_arn FROM grant_counts'),
    listRetirable: db.prepare<[string, string, string, number], DocRow>(
      `SELECT doc FROM grants WHERE retiring_principal = ? AND (key_arn, grant_id) > (?, ?)
       ORDER BY key_arn, grant_id ${BOUND_LIMIT}`,
    ),
    namedGrants: db.prepare<[string, string], { doc: string }>(
      "SELECT doc FROM grants WHERE key_arn = ? AND json_extract(doc, '$.name') = ? ORDER BY grant_id",
    ),
    grantCount: db.prepare<[string], number>('SELECT n FROM grant_counts WHERE key_arn = ?').pluck(),
    insertGrant: db.prepare<[string, string, string | null, string]>(
      'INSERT INTO grants (key_arn, grant_id, retiring_principal, doc) VALUES (?, ?, ?, ?)',
    ),
    deleteGrant: db.prepare<[string, string]>('DELETE FROM grants WHERE key_arn = ? AND grant_id = ?'),
  };
}
