import type { KeyRecord } from '../storage/records.js';
import { KEY_SPEC_TABLE, type KeyUsage } from './key-specs.js';

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
  ValidTo?: number;
  ExpirationModel?: string;
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
  Object.assign(m, algorithmLists(key.keySpec, key.keyUsage));
  // Imported material: the current material's expiration (reference §4.12).
  if (key.origin === 'EXTERNAL') {
    const current = key.materials?.find((v) => v.materialId === key.currentMaterialId);
    if (current?.importState === 'IMPORTED') {
      m.ExpirationModel = current.expirationModel ?? 'KEY_MATERIAL_EXPIRES';
      if (current.validTo !== undefined) m.ValidTo = epochSeconds(current.validTo);
    }
  }
  // Only symmetric encryption keys report their material id (reference §2.4).
  if (key.currentMaterialId !== undefined && key.keySpec === 'SYMMETRIC_DEFAULT') {
    m.CurrentKeyMaterialId = key.currentMaterialId;
  }
  return m;
}

/** The one algorithm list a key reports, by its spec and usage (reference §3.1). */
export function algorithmLists(keySpec: string, keyUsage: string): Record<string, string[]> {
  const usage = KEY_SPEC_TABLE[keySpec]?.usages[keyUsage as KeyUsage];
  return usage === undefined ? {} : { [usage.list]: [...usage.algorithms] };
}

/** CustomerMasterKeySpec, the deprecated twin of KeySpec, exists only for the older specs. */
export function legacyKeySpec(keySpec: string): string | undefined {
  return LEGACY_SPECS.has(keySpec) ? keySpec : undefined;
}
