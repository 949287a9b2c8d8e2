import type { AccessKeyRecord, AliasRecord, BackingKeyRecord, KeyRecord, ScannedKey } from './records.js';

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
 * A parsed key record shares what many records hold, so that a cache of 100,000 records keeps one
 * copy of it instead of one per record (measured on node 20, records as the scale benchmark seeds
 * them: 762 bytes of heap per record parsed as is, 550 shared this way):
 *
 * - the policy text: most keys of an account carry the same one (the default policy);
 * - the strings with few distinct values — account, region, spec, usage, origin, manager, state
 *   (JSON.parse shares only strings of up to 10 characters);
 * - the current material id with its entry in `materials` (the same 64 characters twice);
 * - the key id with the end of the ARN (a slice of it, not a copy).
 *
 * Only string identity changes: the record has the same values.
 */
const SHARED_TEXTS = new Map<string, string>();
const MAX_SHARED_TEXTS = 4096;
const POLICY_TEXTS = new Map<string, string>();
const MAX_POLICY_TEXTS = 1000;

function shared(texts: Map<string, string>, max: number, text: string): string {
  const found = texts.get(text);
  if (found !== undefined) return found;
  // Bounded by starting over: a store with that many distinct values gains little from sharing.
  if (texts.size >= max) texts.clear();
  texts.set(text, text);
  return text;
}

export function parseKey(row: KeyRow): KeyRecord {
  const key = JSON.parse(row.doc) as KeyRecord;
  key.policy = shared(POLICY_TEXTS, MAX_POLICY_TEXTS, key.policy);
  key.accountId = shared(SHARED_TEXTS, MAX_SHARED_TEXTS, key.accountId);
  key.region = shared(SHARED_TEXTS, MAX_SHARED_TEXTS, key.region);
  key.keySpec = shared(SHARED_TEXTS, MAX_SHARED_TEXTS, key.keySpec);
  key.keyUsage = shared(SHARED_TEXTS, MAX_SHARED_TEXTS, key.keyUsage);
  key.origin = shared(SHARED_TEXTS, MAX_SHARED_TEXTS, key.origin);
  key.keyManager = shared(SHARED_TEXTS, MAX_SHARED_TEXTS, key.keyManager) as KeyRecord['keyManager'];
  key.keyState = shared(SHARED_TEXTS, MAX_SHARED_TEXTS, key.keyState) as KeyRecord['keyState'];
  const current = key.materials?.find((m) => m.materialId === key.currentMaterialId);
  if (current !== undefined) key.currentMaterialId = current.materialId;
  if (key.arn.endsWith(`/${key.keyId}`)) key.keyId = key.arn.slice(key.arn.length - key.keyId.length);
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

/** A row of a key scan: the key's ARN and row, joined with one of its backing keys (or NULLs: none). */
export type ScannedKeyRow = KeyRow & { arn: string } & { [C in keyof BackingKeyRow]: BackingKeyRow[C] | null };

/** Rows of a key scan, ordered by ARN, to one ScannedKey per key. */
export function parseScannedKeys(rows: ScannedKeyRow[]): ScannedKey[] {
  const keys: ScannedKey[] = [];
  let last: ScannedKey | undefined;
  for (const row of rows) {
    if (last === undefined || last.key.arn !== row.arn) {
      last = { key: parseKey(row), backingKeys: [] };
      keys.push(last);
    }
    // The LEFT JOIN's backing-key columns are all NULL (a key without material) or none is.
    if (row.key_arn !== null) last.backingKeys.push(parseBackingKey(row as BackingKeyRow));
  }
  return keys;
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
