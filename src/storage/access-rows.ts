import type { ManagedPolicyRecord, RoleRecord, UserRecord } from './identity-store.js';

/**
 * The identity tables' row shapes both SQL adapters share (same columns in SQLite and PostgreSQL)
 * and their mapping to and from the records of identity-store.ts.
 */
export interface UserRow {
  account_id: string;
  user_name: string;
  user_id: string;
  tags: string;
  created_at: number;
}

export interface RoleRow {
  account_id: string;
  role_name: string;
  role_id: string;
  trust_policy: string;
  tags: string;
  max_session_duration: number;
  created_at: number;
  trust_principals: string | null;
}

export interface ManagedPolicyRow {
  account_id: string;
  policy_name: string;
  policy_id: string;
  document: string;
  /** PostgreSQL returns a BIGINT as text. */
  created_at: string | number;
}

export function parseUser(row: UserRow): UserRecord {
  return {
    accountId: row.account_id,
    userName: row.user_name,
    userId: row.user_id,
    tags: JSON.parse(row.tags) as Record<string, string>,
    createdAt: row.created_at,
  };
}

export function parseRole(row: RoleRow): RoleRecord {
  return {
    accountId: row.account_id,
    roleName: row.role_name,
    roleId: row.role_id,
    trustPolicy: row.trust_policy,
    tags: JSON.parse(row.tags) as Record<string, string>,
    maxSessionDuration: row.max_session_duration,
    createdAt: row.created_at,
    ...(row.trust_principals === null
      ? {}
      : { trustPrincipals: JSON.parse(row.trust_principals) as Record<string, string> }),
  };
}

export function parseManagedPolicy(row: ManagedPolicyRow): ManagedPolicyRecord {
  return {
    accountId: row.account_id,
    policyName: row.policy_name,
    policyId: row.policy_id,
    document: row.document,
    createdAt: Number(row.created_at),
  };
}

export function trustPrincipalsColumn(r: RoleRecord): string | null {
  return r.trustPrincipals === undefined ? null : JSON.stringify(r.trustPrincipals);
}
