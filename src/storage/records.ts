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
  /**
   * Unique ids of the IAM principals the policy names, by ARN, resolved when the policy was saved:
   * a principal deleted and created again under the same name does not match.
   */
  policyPrincipals?: Record<string, string>;
  /** Material id of the backing key that Encrypt uses; absent while PendingImport. */
  currentMaterialId?: string;
  /**
   * What is known of each version of the key's material, oldest first (rotation and import
   * history). Absent on records written before rotation existed: then the one version is
   * `currentMaterialId`. A version's bytes live in the backing key row of the same id — or
   * nowhere, for imported material that was deleted or expired.
   */
  materials?: KeyMaterialRecord[];
  /** Automatic rotation is on (symmetric keys with generated material). */
  rotationEnabled?: boolean;
  /** The automatic rotation period; kept when rotation is turned off. */
  rotationPeriodInDays?: number;
  /** Set while automatic rotation is on: when the rotation scheduler next rotates the key. */
  nextRotationDate?: number;
  /** RotateKeyOnDemand calls that rotated this key (AWS's per-key limit counts them). */
  onDemandRotations?: number;
  /** The earliest ValidTo of imported material still present: when the expiry scheduler acts. */
  materialExpiry?: number;
  tags: Tag[];
  /** Bumped by every update; updates are compare-and-set on it. */
  revision: number;
}

export interface KeyMaterialRecord {
  /** 64 lower-case hex: the KeyMaterialId of the AWS model. */
  materialId: string;
  /** When this version became current by a rotation; absent for the first version. */
  rotationDate?: number;
  rotationType?: 'AUTOMATIC' | 'ON_DEMAND';
  /** Imported material only: whether its bytes are present (IMPORTED) or deleted/expired. */
  importState?: 'IMPORTED' | 'PENDING_IMPORT';
  expirationModel?: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  validTo?: number;
  description?: string;
  /** Imported as new material; RotateKeyOnDemand makes it current. */
  pendingRotation?: boolean;
}

export interface BackingKeyRecord {
  keyArn: string;
  /** 64 lower-case hex: the KeyMaterialId of the AWS model. */
  materialId: string;
  /** The material wrapped under the root key, bound to (keyArn, materialId). */
  wrapped: Buffer;
  createdAt: number;
}

/** A key with every version of its material, as a scan of the store (Store.scanKeys) returns it. */
export interface ScannedKey {
  key: KeyRecord;
  backingKeys: BackingKeyRecord[];
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
