/**
 * The rows the store keeps. Plain data: the domain (src/keys) computes new values and the store
 * persists them; the store never decides anything about keys.
 *
 * Times are epoch milliseconds. Key material appears only wrapped (`wrapped`): the store never sees
 * plaintext material or secret access keys.
 */

export const KEY_STATES = [
  'Creating',
  'Enabled',
  'Disabled',
  'PendingDeletion',
  'PendingImport',
  'PendingReplicaDeletion',
  'Unavailable',
  'Updating',
] as const;
export type KeyState = (typeof KEY_STATES)[number];

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface KeyRecord {
  /** Bare key id (UUID, or `mrk-…`). */
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
  creationDate: number;
  description: string;
  keySpec: string;
  keyUsage: string;
  origin: string;
  keyManager: 'CUSTOMER' | 'AWS';
  keyState: KeyState;
  /** Set while PendingDeletion: when the scheduler destroys the key. */
  deletionDate?: number;
  pendingWindowInDays?: number;
  multiRegion: boolean;
  /** The key policy document, as given or the default one. */
  policy: string;
  /** Material id of the backing key that Encrypt uses; absent while PendingImport. */
  currentMaterialId?: string;
  tags: Tag[];
  /** Bumped by every update; updates are compare-and-set on it. */
  revision: number;
}

export interface BackingKeyRecord {
  keyArn: string;
  /** 64 lower-case hex: the KeyMaterialId of the AWS model. */
  materialId: string;
  /** The material wrapped under the root key, bound to (keyArn, materialId). */
  wrapped: Buffer;
  createdAt: number;
}

export interface AliasRecord {
  accountId: string;
  region: string;
  /** Full name including the `alias/` prefix. */
  aliasName: string;
  /** Bare key id of the target key. */
  targetKeyId: string;
  creationDate: number;
  lastUpdatedDate: number;
}

export interface AccountRecord {
  accountId: string;
  createdAt: number;
}

export interface AccessKeyRecord {
  accessKeyId: string;
  accountId: string;
  /** The IAM principal this key signs as, e.g. `arn:aws:iam::111122223333:root`. */
  principalArn: string;
  /** The secret access key wrapped under the root key, bound to the access key id. */
  secretWrapped: Buffer;
  createdAt: number;
  description: string;
}

/** A page request: at most `limit` rows whose sort key comes strictly after `after`. */
export interface PageRequest {
  limit: number;
  after?: string;
}
