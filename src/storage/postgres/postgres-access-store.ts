import type pg from 'pg';
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
import type { PostgresTarget } from './connection.js';
import { inTransaction, openMigratedPool, withClient } from './pool-client.js';

const SESSION_RETENTION_MS = 86_400_000;
const MANAGED_COLS = 'account_id, policy_name, policy_id, document, created_at';
const USER_COLS = 'account_id, user_name, user_id, tags, created_at';
const ROLE_COLS =
  'account_id, role_name, role_id, trust_policy, tags, max_session_duration, created_at, trust_principals';

type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params?: unknown[],
) => Promise<pg.QueryResult<R>>;

/**
 * Identities (users, roles, their inline policies, SCPs, STS sessions) and grants in PostgreSQL,
 * shared by every node (migration 4 of the PostgreSQL schema; the SQLite twin is
 * sqlite/sqlite-access-store.ts). Every identity write bumps identity_version in its own
 * transaction; a grant write notifies every node's change listener by trigger (a 'key' change).
 */
export class PostgresAccessStore implements IdentityStore, GrantStore {
  readonly #pool: pg.Pool;
  readonly #target: PostgresTarget;
  #closed: Promise<void> | undefined;

  private constructor(pool: pg.Pool, target: PostgresTarget) {
    this.#pool = pool;
    this.#target = target;
  }

  static async open(
    spec: string,
    options: { onBackgroundError?: (err: Error) => void } = {},
  ): Promise<PostgresAccessStore> {
    const { pool, target } = await openMigratedPool(spec, options.onBackgroundError);
    return new PostgresAccessStore(pool, target);
  }

  // --- users -----------------------------------------------------------------------------------

  async getUser(accountId: string, userName: string): Promise<UserRecord | undefined> {
    const rows = await this.#rows<UserRow>(
      `SELECT ${USER_COLS} FROM iam_users WHERE account_id = $1 AND user_name = $2`,
      [accountId, userName],
    );
    return rows[0] && parseUser(rows[0]);
  }

  async listUsers(accountId?: string): Promise<UserRecord[]> {
    const rows =
      accountId === undefined
        ? await this.#rows<UserRow>(`SELECT ${USER_COLS} FROM iam_users ORDER BY account_id, user_name`)
        : await this.#rows<UserRow>(`SELECT ${USER_COLS} FROM iam_users WHERE account_id = $1 ORDER BY user_name`, [
            accountId,
          ]);
    return rows.map(parseUser);
  }

  async insertUser(u: UserRecord): Promise<boolean> {
    return this.#identityWrite(async (q) => {
      const r = await q(`INSERT INTO iam_users (${USER_COLS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [
        u.accountId,
        u.userName,
        u.userId,
        JSON.stringify(u.tags),
        u.createdAt,
      ]);
      return r.rowCount === 1;
    });
  }

  async updateUserTags(accountId: string, userName: string, tags: Record<string, string>): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q('UPDATE iam_users SET tags = $1 WHERE account_id = $2 AND user_name = $3', [
            JSON.stringify(tags),
            accountId,
            userName,
          ])
        ).rowCount === 1,
    );
  }

  async deleteUser(accountId: string, userName: string): Promise<boolean> {
    return this.#identityWrite(async (q) => {
      await q('DELETE FROM iam_user_policies WHERE account_id = $1 AND user_name = $2', [accountId, userName]);
      await q(
        "DELETE FROM iam_policy_attachments WHERE account_id = $1 AND entity_type = 'user' AND entity_name = $2",
        [accountId, userName],
      );
      return (
        (await q('DELETE FROM iam_users WHERE account_id = $1 AND user_name = $2', [accountId, userName])).rowCount ===
        1
      );
    });
  }

  async putUserPolicy(p: UserPolicyRecord): Promise<boolean> {
    return this.#identityWrite(async (q) => {
      // FOR SHARE: the user cannot be deleted between the check and the insert.
      const user = await q('SELECT 1 FROM iam_users WHERE account_id = $1 AND user_name = $2 FOR SHARE', [
        p.accountId,
        p.userName,
      ]);
      if (user.rowCount !== 1) return false;
      await q(
        `INSERT INTO iam_user_policies (account_id, user_name, policy_name, document) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, user_name, policy_name) DO UPDATE SET document = excluded.document`,
        [p.accountId, p.userName, p.policyName, p.document],
      );
      return true;
    });
  }

  async deleteUserPolicy(accountId: string, userName: string, policyName: string): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q('DELETE FROM iam_user_policies WHERE account_id = $1 AND user_name = $2 AND policy_name = $3', [
            accountId,
            userName,
            policyName,
          ])
        ).rowCount === 1,
    );
  }

  async listUserPolicies(accountId: string, userName: string): Promise<UserPolicyRecord[]> {
    const rows = await this.#rows<{ account_id: string; user_name: string; policy_name: string; document: string }>(
      `SELECT account_id, user_name, policy_name, document FROM iam_user_policies
       WHERE account_id = $1 AND user_name = $2 ORDER BY policy_name`,
      [accountId, userName],
    );
    return rows.map((r) => ({
      accountId: r.account_id,
      userName: r.user_name,
      policyName: r.policy_name,
      document: r.document,
    }));
  }

  // --- roles -----------------------------------------------------------------------------------

  async getRole(accountId: string, roleName: string): Promise<RoleRecord | undefined> {
    const rows = await this.#rows<RoleRow>(
      `SELECT ${ROLE_COLS} FROM iam_roles WHERE account_id = $1 AND role_name = $2`,
      [accountId, roleName],
    );
    return rows[0] && parseRole(rows[0]);
  }

  async listRoles(accountId?: string): Promise<RoleRecord[]> {
    const rows =
      accountId === undefined
        ? await this.#rows<RoleRow>(`SELECT ${ROLE_COLS} FROM iam_roles ORDER BY account_id, role_name`)
        : await this.#rows<RoleRow>(`SELECT ${ROLE_COLS} FROM iam_roles WHERE account_id = $1 ORDER BY role_name`, [
            accountId,
          ]);
    return rows.map(parseRole);
  }

  async insertRole(r: RoleRecord): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q(
            `INSERT INTO iam_roles (${ROLE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
            [
              r.accountId,
              r.roleName,
              r.roleId,
              r.trustPolicy,
              JSON.stringify(r.tags),
              r.maxSessionDuration,
              r.createdAt,
              trustPrincipalsColumn(r),
            ],
          )
        ).rowCount === 1,
    );
  }

  async updateRole(r: RoleRecord): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q(
            `UPDATE iam_roles SET trust_policy = $1, tags = $2, max_session_duration = $3, trust_principals = $4
             WHERE account_id = $5 AND role_name = $6`,
            [
              r.trustPolicy,
              JSON.stringify(r.tags),
              r.maxSessionDuration,
              trustPrincipalsColumn(r),
              r.accountId,
              r.roleName,
            ],
          )
        ).rowCount === 1,
    );
  }

  async deleteRole(accountId: string, roleName: string): Promise<boolean> {
    return this.#identityWrite(async (q) => {
      await q('DELETE FROM iam_role_policies WHERE account_id = $1 AND role_name = $2', [accountId, roleName]);
      await q(
        "DELETE FROM iam_policy_attachments WHERE account_id = $1 AND entity_type = 'role' AND entity_name = $2",
        [accountId, roleName],
      );
      return (
        (await q('DELETE FROM iam_roles WHERE account_id = $1 AND role_name = $2', [accountId, roleName])).rowCount ===
        1
      );
    });
  }

  async putRolePolicy(p: RolePolicyRecord): Promise<boolean> {
    return this.#identityWrite(async (q) => {
      const role = await q('SELECT 1 FROM iam_roles WHERE account_id = $1 AND role_name = $2 FOR SHARE', [
        p.accountId,
        p.roleName,
      ]);
      if (role.rowCount !== 1) return false;
      await q(
        `INSERT INTO iam_role_policies (account_id, role_name, policy_name, document) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, role_name, policy_name) DO UPDATE SET document = excluded.document`,
        [p.accountId, p.roleName, p.policyName, p.document],
      );
      return true;
    });
  }

  async deleteRolePolicy(accountId: string, roleName: string, policyName: string): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q('DELETE FROM iam_role_policies WHERE account_id = $1 AND role_name = $2 AND policy_name = $3', [
            accountId,
            roleName,
            policyName,
          ])
        ).rowCount === 1,
    );
  }

  async listRolePolicies(accountId: string, roleName: string): Promise<RolePolicyRecord[]> {
    const rows = await this.#rows<{ account_id: string; role_name: string; policy_name: string; document: string }>(
      `SELECT account_id, role_name, policy_name, document FROM iam_role_policies
       WHERE account_id = $1 AND role_name = $2 ORDER BY policy_name`,
      [accountId, roleName],
    );
    return rows.map((r) => ({
      accountId: r.account_id,
      roleName: r.role_name,
      policyName: r.policy_name,
      document: r.document,
    }));
  }

  // --- managed policies ------------------------------------------------------------------------

  async insertManagedPolicy(p: ManagedPolicyRecord): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q(
            `INSERT INTO iam_managed_policies (${MANAGED_COLS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
            [p.accountId, p.policyName, p.policyId, p.document, p.createdAt],
          )
        ).rowCount === 1,
    );
  }

  async updateManagedPolicy(accountId: string, policyName: string, document: string): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q('UPDATE iam_managed_policies SET document = $1 WHERE account_id = $2 AND policy_name = $3', [
            document,
            accountId,
            policyName,
          ])
        ).rowCount === 1,
    );
  }

  async getManagedPolicy(accountId: string, policyName: string): Promise<ManagedPolicyRecord | undefined> {
    const rows = await this.#rows<ManagedPolicyRow>(
      `SELECT ${MANAGED_COLS} FROM iam_managed_policies WHERE account_id = $1 AND policy_name = $2`,
      [accountId, policyName],
    );
    return rows[0] && parseManagedPolicy(rows[0]);
  }

  async listManagedPolicies(accountId?: string): Promise<ManagedPolicyRecord[]> {
    const rows =
      accountId === undefined
        ? await this.#rows<ManagedPolicyRow>(
            `SELECT ${MANAGED_COLS} FROM iam_managed_policies ORDER BY account_id, policy_name`,
          )
        : await this.#rows<ManagedPolicyRow>(
            `SELECT ${MANAGED_COLS} FROM iam_managed_policies WHERE account_id = $1 ORDER BY policy_name`,
            [accountId],
          );
    return rows.map(parseManagedPolicy);
  }

  async deleteManagedPolicy(accountId: string, policyName: string): Promise<'deleted' | 'missing' | 'attached'> {
    let outcome: 'deleted' | 'missing' | 'attached' = 'missing';
    await this.#identityWrite(async (q) => {
      // FOR UPDATE: no attachment can be added between the check and the delete (attachPolicy
      // locks the policy row FOR SHARE).
      const policy = await q(
        'SELECT 1 FROM iam_managed_policies WHERE account_id = $1 AND policy_name = $2 FOR UPDATE',
        [accountId, policyName],
      );
      if (policy.rowCount !== 1) return false;
      const attached = await q(
        'SELECT 1 FROM iam_policy_attachments WHERE account_id = $1 AND policy_name = $2 LIMIT 1',
        [accountId, policyName],
      );
      if (attached.rowCount === 1) {
        outcome = 'attached';
        return false;
      }
      await q('DELETE FROM iam_managed_policies WHERE account_id = $1 AND policy_name = $2', [accountId, policyName]);
      outcome = 'deleted';
      return true;
    });
    return outcome;
  }

  async attachPolicy(a: PolicyAttachmentRecord): Promise<boolean> {
    let found = false;
    await this.#identityWrite(async (q) => {
      const policy = await q(
        'SELECT 1 FROM iam_managed_policies WHERE account_id = $1 AND policy_name = $2 FOR SHARE',
        [a.accountId, a.policyName],
      );
      const entity = await q(
        a.entityType === 'user'
          ? 'SELECT 1 FROM iam_users WHERE account_id = $1 AND user_name = $2 FOR SHARE'
          : 'SELECT 1 FROM iam_roles WHERE account_id = $1 AND role_name = $2 FOR SHARE',
        [a.accountId, a.entityName],
      );
      found = policy.rowCount === 1 && entity.rowCount === 1;
      if (!found) return false;
      const r = await q(
        `INSERT INTO iam_policy_attachments (account_id, policy_name, entity_type, entity_name) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [a.accountId, a.policyName, a.entityType, a.entityName],
      );
      return r.rowCount === 1;
    });
    return found;
  }

  async detachPolicy(a: PolicyAttachmentRecord): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q(
            `DELETE FROM iam_policy_attachments
             WHERE account_id = $1 AND policy_name = $2 AND entity_type = $3 AND entity_name = $4`,
            [a.accountId, a.policyName, a.entityType, a.entityName],
          )
        ).rowCount === 1,
    );
  }

  async listAttachedPolicies(
    accountId: string,
    entityType: 'user' | 'role',
    entityName: string,
  ): Promise<ManagedPolicyRecord[]> {
    const rows = await this.#rows<ManagedPolicyRow>(
      `SELECT p.account_id, p.policy_name, p.policy_id, p.document, p.created_at
       FROM iam_policy_attachments a JOIN iam_managed_policies p
         ON p.account_id = a.account_id AND p.policy_name = a.policy_name
       WHERE a.account_id = $1 AND a.entity_type = $2 AND a.entity_name = $3 ORDER BY p.policy_name`,
      [accountId, entityType, entityName],
    );
    return rows.map(parseManagedPolicy);
  }

  async listPolicyAttachments(accountId: string, policyName: string): Promise<PolicyAttachmentRecord[]> {
    const rows = await this.#rows<{
      account_id: string;
      policy_name: string;
      entity_type: 'user' | 'role';
      entity_name: string;
    }>(
      `SELECT account_id, policy_name, entity_type, entity_name FROM iam_policy_attachments
       WHERE account_id = $1 AND policy_name = $2 ORDER BY entity_type, entity_name`,
      [accountId, policyName],
    );
    return rows.map((r) => ({
      accountId: r.account_id,
      policyName: r.policy_name,
      entityType: r.entity_type,
      entityName: r.entity_name,
    }));
  }

  // --- SCPs and sessions -----------------------------------------------------------------------

  async putScp(p: ScpRecord): Promise<void> {
    await this.#identityWrite(async (q) => {
      await q(
        `INSERT INTO service_control_policies (account_id, policy_name, document) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, policy_name) DO UPDATE SET document = excluded.document`,
        [p.accountId, p.policyName, p.document],
      );
      return true;
    });
  }

  async deleteScp(accountId: string, policyName: string): Promise<boolean> {
    return this.#identityWrite(
      async (q) =>
        (
          await q('DELETE FROM service_control_policies WHERE account_id = $1 AND policy_name = $2', [
            accountId,
            policyName,
          ])
        ).rowCount === 1,
    );
  }

  async listScps(accountId?: string): Promise<ScpRecord[]> {
    const rows =
      accountId === undefined
        ? await this.#rows<{ account_id: string; policy_name: string; document: string }>(
            'SELECT account_id, policy_name, document FROM service_control_policies ORDER BY account_id, policy_name',
          )
        : await this.#rows<{ account_id: string; policy_name: string; document: string }>(
            `SELECT account_id, policy_name, document FROM service_control_policies WHERE account_id = $1
             ORDER BY policy_name`,
            [accountId],
          );
    return rows.map((r) => ({ accountId: r.account_id, policyName: r.policy_name, document: r.document }));
  }

  async insertSession(session: SessionRecord, now: number): Promise<void> {
    const { secretWrapped, ...rest } = session;
    await this.#transaction(async (q) => {
      await q('DELETE FROM sts_sessions WHERE expires_at < $1', [now - SESSION_RETENTION_MS]);
      await q('INSERT INTO sts_sessions (access_key_id, secret_wrapped, expires_at, doc) VALUES ($1, $2, $3, $4)', [
        session.accessKeyId,
        secretWrapped,
        session.expiresAt,
        JSON.stringify(rest),
      ]);
    });
  }

  async getSession(accessKeyId: string): Promise<SessionRecord | undefined> {
    const row = (
      await this.#rows<{ secret_wrapped: Buffer; doc: string }>(
        'SELECT secret_wrapped, doc FROM sts_sessions WHERE access_key_id = $1',
        [accessKeyId],
      )
    )[0];
    return (
      row && { ...(JSON.parse(row.doc) as Omit<SessionRecord, 'secretWrapped'>), secretWrapped: row.secret_wrapped }
    );
  }

  async identityVersion(): Promise<number> {
    return (
      (await this.#rows<{ version: number }>('SELECT version FROM identity_version WHERE id = 1'))[0]?.version ?? 0
    );
  }

  // --- grants ----------------------------------------------------------------------------------

  async getGrant(keyArn: string, grantId: string): Promise<GrantRecord | undefined> {
    const row = (
      await this.#rows<{ doc: string }>('SELECT doc FROM grants WHERE key_arn = $1 AND grant_id = $2', [
        keyArn,
        grantId,
      ])
    )[0];
    return row && (JSON.parse(row.doc) as GrantRecord);
  }

  async listGrants(keyArn: string, page: PageRequest, granteePrincipal?: string): Promise<GrantRecord[]> {
    const params: unknown[] = [keyArn, page.after ?? '', page.limit];
    // The clause as the grantee index states it (migration 12), or the index is not used.
    const ofGrantee =
      granteePrincipal === undefined
        ? ''
        : ` AND (doc::jsonb)->>'granteePrincipal' = $${params.push(granteePrincipal)}`;
    const rows = await this.#rows<{ doc: string }>(
      `SELECT doc FROM grants WHERE key_arn = $1 AND grant_id > $2${ofGrantee} ORDER BY grant_id LIMIT $3`,
      params,
    );
    return rows.map((r) => JSON.parse(r.doc) as GrantRecord);
  }

  async keysWithGrants(): Promise<string[]> {
    return (await this.#rows<{ key_arn: string }>('SELECT key_arn FROM grant_counts')).map((r) => r.key_arn);
  }

  async listRetirableGrants(retiringPrincipal: string, page: PageRequest): Promise<GrantRecord[]> {
    const after = page.after ?? ' ';
    const split = after.lastIndexOf(' ');
    const rows = await this.#rows<{ doc: string }>(
      `SELECT doc FROM grants WHERE retiring_principal = $1 AND (key_arn, grant_id) > ($2, $3)
       ORDER BY key_arn, grant_id LIMIT $4`,
      [retiringPrincipal, after.slice(0, split), after.slice(split + 1), page.limit],
    );
    return rows.map((r) => JSON.parse(r.doc) as GrantRecord);
  }

  async insertGrant(
    grant: GrantRecord,
    maxPerKey: number,
    same?: (existing: GrantRecord) => boolean,
  ): Promise<boolean | GrantRecord> {
    return this.#transaction(async (q) => {
      // Serializes grant inserts on one key across nodes, so the per-key limit and Name idempotency
      // hold under races.
      await q('SELECT pg_advisory_xact_lock(hashtext($1), hashtext(current_schema()))', [`grants:${grant.keyArn}`]);
      if (same !== undefined && grant.name !== undefined) {
        const named = await q<{ doc: string }>(
          `SELECT doc FROM grants WHERE key_arn = $1 AND (doc::jsonb)->>'name' = $2 ORDER BY grant_id`,
          [grant.keyArn, grant.name],
        );
        const existing = named.rows.map((r) => JSON.parse(r.doc) as GrantRecord).find(same);
        if (existing !== undefined) return existing;
      }
      const n = (await q<{ n: number }>('SELECT n::int AS n FROM grant_counts WHERE key_arn = $1', [grant.keyArn]))
        .rows[0]?.n;
      if ((n ?? 0) >= maxPerKey) return false;
      await q('INSERT INTO grants (key_arn, grant_id, retiring_principal, doc) VALUES ($1, $2, $3, $4)', [
        grant.keyArn,
        grant.grantId,
        grant.retiringPrincipal ?? null,
        JSON.stringify(grant),
      ]);
      return true;
    });
  }

  async deleteGrant(keyArn: string, grantId: string): Promise<boolean> {
    return (
      (
        await this.#withClient((c) =>
          c.query('DELETE FROM grants WHERE key_arn = $1 AND grant_id = $2', [keyArn, grantId]),
        )
      ).rowCount === 1
    );
  }

  async close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    return this.#closed;
  }

  // --- connections -----------------------------------------------------------------------------

  async #rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.#withClient((c) => c.query<R>(sql, params))).rows;
  }

  /** An identity write and the version bump, in one transaction; the bump only if it changed something. */
  #identityWrite(change: (q: Query) => Promise<boolean>): Promise<boolean> {
    return this.#transaction(async (q) => {
      const changed = await change(q);
      if (changed) await q('UPDATE identity_version SET version = version + 1 WHERE id = 1');
      return changed;
    });
  }

  #transaction<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, this.#target, (client) => fn((sql, params) => client.query(sql, params)));
  }

  #withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withClient(this.#pool, this.#target, fn);
  }
}
