import type { KeyRecord } from '../storage/records.js';

/**
 * The wire form of KeyMetadata (reference §2.4), with AWS's field-presence rules: members with no
 * value are omitted, dates are epoch seconds.
 */
export interface KeyMetadataWire {
  AWSAccountId: string;
  KeyId: string;
  Arn: string;
  CreationDate: number;
  Enabled: boolean;
  Description: string;
  KeyUsage: string;
  KeyState: string;
  DeletionDate?: number;
  Origin: string;
  KeyManager: string;
  CustomerMasterKeySpec?: string;
  KeySpec: string;
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
  MultiRegion: boolean;
  PendingDeletionWindowInDays?: number;
  CurrentKeyMaterialId?: string;
}

const LEGACY_SPECS = new Set([
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
]);

export function epochSeconds(ms: number): number {
  return ms / 1000;
}

export function keyMetadata(key: KeyRecord): KeyMetadataWire {
  const m: KeyMetadataWire = {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: epochSeconds(key.creationDate),
    Enabled: key.keyState === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.keyState,
    Origin: key.origin,
    KeyManager: key.keyManager,
    KeySpec: key.keySpec,
    MultiRegion: key.multiRegion,
  };
  if (LEGACY_SPECS.has(key.keySpec)) m.CustomerMasterKeySpec = key.keySpec;
  if (key.keyState === 'PendingDeletion' && key.deletionDate !== undefined) {
    m.DeletionDate = epochSeconds(key.deletionDate);
  }
  if (key.keyState === 'PendingReplicaDeletion' && key.pendingWindowInDays !== undefined) {
    m.PendingDeletionWindowInDays = key.pendingWindowInDays;
  }
  if (key.keyUsage === 'ENCRYPT_DECRYPT' && key.keySpec === 'SYMMETRIC_DEFAULT') {
    m.EncryptionAlgorithms = ['SYMMETRIC_DEFAULT'];
  }
  if (key.currentMaterialId !== undefined) m.CurrentKeyMaterialId = key.currentMaterialId;
  return m;
}
