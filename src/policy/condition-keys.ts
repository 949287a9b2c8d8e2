import { Lru } from '../lru.js';

/**
 * Condition keys Trent sets in a request context (reference §4.10), as IAM spells them. Keys are
 * compared case-insensitively; `conditionKey()` gives the form the context stores.
 */
export const KMS_CONDITION_KEYS = {
  BypassPolicyLockoutSafetyCheck: 'kms:BypassPolicyLockoutSafetyCheck',
  CallerAccount: 'kms:CallerAccount',
  CustomerMasterKeySpec: 'kms:CustomerMasterKeySpec',
  CustomerMasterKeyUsage: 'kms:CustomerMasterKeyUsage',
  DataKeyPairSpec: 'kms:DataKeyPairSpec',
  EncryptionAlgorithm: 'kms:EncryptionAlgorithm',
  /** Prefix: `kms:EncryptionContext:<context-key>`; see `encryptionContextKey()`. */
  EncryptionContextPrefix: 'kms:EncryptionContext:',
  EncryptionContextKeys: 'kms:EncryptionContextKeys',
  ExpirationModel: 'kms:ExpirationModel',
  GrantConstraintType: 'kms:GrantConstraintType',
  GrantIsForAWSResource: 'kms:GrantIsForAWSResource',
  GrantOperations: 'kms:GrantOperations',
  GranteePrincipal: 'kms:GranteePrincipal',
  KeyAgreementAlgorithm: 'kms:KeyAgreementAlgorithm',
  KeyOrigin: 'kms:KeyOrigin',
  KeySpec: 'kms:KeySpec',
  KeyUsage: 'kms:KeyUsage',
  MacAlgorithm: 'kms:MacAlgorithm',
  MessageType: 'kms:MessageType',
  MultiRegion: 'kms:MultiRegion',
  MultiRegionKeyType: 'kms:MultiRegionKeyType',
  PrimaryRegion: 'kms:PrimaryRegion',
  ReEncryptOnSameKey: 'kms:ReEncryptOnSameKey',
  ReplicaRegion: 'kms:ReplicaRegion',
  RequestAlias: 'kms:RequestAlias',
  ResourceAliases: 'kms:ResourceAliases',
  RetiringPrincipal: 'kms:RetiringPrincipal',
  RotationPeriodInDays: 'kms:RotationPeriodInDays',
  ScheduleKeyDeletionPendingWindowInDays: 'kms:ScheduleKeyDeletionPendingWindowInDays',
  SigningAlgorithm: 'kms:SigningAlgorithm',
  ValidTo: 'kms:ValidTo',
  ViaService: 'kms:ViaService',
  WrappingAlgorithm: 'kms:WrappingAlgorithm',
  WrappingKeySpec: 'kms:WrappingKeySpec',
} as const;

export const AWS_CONDITION_KEYS = {
  CalledVia: 'aws:CalledVia',
  CurrentTime: 'aws:CurrentTime',
  EpochTime: 'aws:EpochTime',
  MultiFactorAuthPresent: 'aws:MultiFactorAuthPresent',
  PrincipalAccount: 'aws:PrincipalAccount',
  PrincipalArn: 'aws:PrincipalArn',
  PrincipalIsAWSService: 'aws:PrincipalIsAWSService',
  PrincipalOrgID: 'aws:PrincipalOrgID',
  PrincipalServiceName: 'aws:PrincipalServiceName',
  /** Prefix: `aws:PrincipalTag/<tag-key>`. */
  PrincipalTagPrefix: 'aws:PrincipalTag/',
  PrincipalType: 'aws:PrincipalType',
  /** Prefix: `aws:RequestTag/<tag-key>`. */
  RequestTagPrefix: 'aws:RequestTag/',
  RequestedRegion: 'aws:RequestedRegion',
  ResourceAccount: 'aws:ResourceAccount',
  /** Prefix: `aws:ResourceTag/<tag-key>` (IAM policies only in KMS). */
  ResourceTagPrefix: 'aws:ResourceTag/',
  SecureTransport: 'aws:SecureTransport',
  SourceAccount: 'aws:SourceAccount',
  SourceArn: 'aws:SourceArn',
  SourceIp: 'aws:SourceIp',
  SourceVpc: 'aws:SourceVpc',
  SourceVpce: 'aws:SourceVpce',
  TagKeys: 'aws:TagKeys',
  TokenIssueTime: 'aws:TokenIssueTime',
  UserId: 'aws:userid',
  Username: 'aws:username',
  ViaAWSService: 'aws:ViaAWSService',
} as const;

/** The stored (case-folded) form of a condition key name: IAM compares key names case-insensitively. */
export function conditionKey(name: string): string {
  let folded = FOLDED.get(name);
  if (folded === undefined) {
    folded = name.toLowerCase();
    FOLDED.set(name, folded);
  }
  return folded;
}

// The names a request sets come from a small vocabulary (plus encryption context and tag keys):
// one folded string each, whose hash V8 has computed already, makes a request's Map of condition
// values cheaper to build than with a new string per name each time (docs/performance-log.md,
// twenty-third session).
const FOLDED = new Lru<string, string>(10_000);

export function encryptionContextKey(contextKey: string): string {
  return KMS_CONDITION_KEYS.EncryptionContextPrefix + contextKey;
}
