import type { AccessKeyRecord, AliasRecord, BackingKeyRecord, KeyRecord } from './records.js';

/**
 * The table rows both SQL adapters share (same columns in SQLite and PostgreSQL) and their mapping
 * to and from the records of records.ts. A key row keeps the whole record as a JSON `doc`, plus
 * the columns that are indexed or compared.
 */
export interface KeyRow {
  doc: string;
}

export interface BackingKeyRow {
  key_arn: string;
  material_id: string;
  wrapped: Buffer;
  created_at: number;
}

export interface AliasRow {
  account_id: string;
  region: string;
  alias_name: string;
  target_key_id: string;
  creation_date: number;
  last_updated_date: number;
}

export interface AccountRow {
  account_id: string;
  created_at: number;
}

export interface AccessKeyRow {
  access_key_id: string;
  account_id: string;
  principal_arn: string;
  secret_wrapped: Buffer;
  created_at: number;
  description: string;
}

export interface KeyOwnerRow {
  key_id: string;
  account_id: string;
  region: string;
}

/** Column values of a key row, in the order the INSERT and UPDATE statements bind them. */
export type KeyColumns = [
  keyId: string,
  accountId: string,
  region: string,
  keyState: string,
  deletionDate: number | null,
  revision: number,
  doc: string,
];

export function keyColumns(key: KeyRecord): KeyColumns {
  return [
    key.keyId,
    key.accountId,
    key.region,
    key.keyState,
    key.deletionDate ?? null,
    key.revision,
    JSON.stringify(key),
  ];
}

/**
 * Most keys of an account carry the same policy text (the default policy): parsed records share one
 * copy of each text seen recently instead of a copy per key — a store of 100,000 keys holds a
 * third less in memory.
 */
const POLICY_TEXTS = new Map<string, string>();
const MAX_POLICY_TEXTS = 1000;

export function parseKey(row: KeyRow): KeyRecord {
  const key = JSON.parse(row.doc) as KeyRecord;
  const shared = POLICY_TEXTS.get(key.policy);
  if (shared !== undefined) key.policy = shared;
  else {
    // Bounded by starting over: a store with that many distinct policies gains little from sharing.
    if (POLICY_TEXTS.size >= MAX_POLICY_TEXTS) POLICY_TEXTS.clear();
    POLICY_TEXTS.set(key.policy, key.policy);
  }
  return key;
}

export function parseBackingKey(row: BackingKeyRow): BackingKeyRecord {
  return {
    keyArn: row.key_arn,
    materialId: row.material_id,
    wrapped: row.wrapped,
    createdAt: row.created_at,
  };
}

export function parseAlias(row: AliasRow): AliasRecord {
  return {
    accountId: row.account_id,
    region: row.region,
    aliasName: row.alias_name,
    targetKeyId: row.target_key_id,
    creationDate: row.creation_date,
    lastUpdatedDate: row.last_updated_date,
  };
}

export function parseAccessKey(row: AccessKeyRow): AccessKeyRecord {
  return {
    accessKeyId: row.access_key_id,
    accountId: row.account_id,
    principalArn: row.principal_arn,
    secretWrapped: row.secret_wrapped,
    createdAt: row.created_at,
    description: row.description,
  };
}
