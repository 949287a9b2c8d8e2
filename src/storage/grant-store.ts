import type { PageRequest } from './records.js';

/**
 * Grants on KMS keys (reference §4.11), in a storage interface of their own (not part of `Store`).
 * `sqlite/sqlite-access-store.ts` implements it. Grants of a destroyed key go with it.
 */
export interface GrantRecord {
  /** ARN of the key the grant is on. */
  keyArn: string;
  /** 64 lower-case hex. */
  grantId: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  /** `arn:aws:iam::<acct>:root` of the account that created the grant. */
  issuingAccount: string;
  /** GrantOperation names: `Decrypt`, `Encrypt`, … */
  operations: string[];
  constraints?: {
    EncryptionContextEquals?: Record<string, string>;
    EncryptionContextSubset?: Record<string, string>;
  };
  creationDate: number;
}

export interface GrantStore {
  getGrant(keyArn: string, grantId: string): Promise<GrantRecord | undefined>;
  /**
   * Grants on one key ordered by grant id, after `page.after` (a grant id); with `granteePrincipal`,
   * only that grantee's (chosen in the database: a key may hold 50,000 grants).
   */
  listGrants(keyArn: string, page: PageRequest, granteePrincipal?: string): Promise<GrantRecord[]>;
  /**
   * The ARNs of the keys that have at least one grant, in no particular order: every other key has
   * none (read once at start, so that a key's first use need not ask).
   */
  keysWithGrants(): Promise<string[]>;
  /** Grants whose retiring principal is `retiringPrincipal`, on any key, ordered by key ARN then grant id. */
  listRetirableGrants(retiringPrincipal: string, page: PageRequest): Promise<GrantRecord[]>;
  /**
   * Inserts unless the key already has `maxPerKey` grants (then returns false). With `same`, and a
   * `grant.name`, first looks for a grant on the key with that name for which `same` holds and returns
   * it instead of inserting; the look-up and the insert are atomic across processes sharing the store,
   * so racing idempotent CreateGrant calls make one grant.
   */
  insertGrant(
    grant: GrantRecord,
    maxPerKey: number,
    same?: (existing: GrantRecord) => boolean,
  ): Promise<boolean | GrantRecord>;
  /** Returns false if there was no such grant. */
  deleteGrant(keyArn: string, grantId: string): Promise<boolean>;
}
