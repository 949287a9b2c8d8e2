import { IncorrectKeyMaterialException, KMSInvalidStateException, ValidationException } from '../../errors.js';
import {
  checkImportedMaterial,
  earliestExpiry,
  importedMaterialId,
  MAX_VALID_TO_MS,
  openImportToken,
  unwrapImportedMaterial,
} from '../../keys/imported-material.js';
import { checkKeyState } from '../../keys/key-states.js';
import { importConditions } from '../../keys/request-conditions.js';
import { materialsOf } from '../../keys/rotation.js';
import type { KeyMaterialRecord, KeyRecord } from '../../storage/records.js';
import { DescriptionType, enumOf, KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface ImportKeyMaterialInput {
  KeyId: string;
  ImportToken: Buffer;
  EncryptedKeyMaterial: Buffer;
  ValidTo?: number;
  ExpirationModel?: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  ImportType?: 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL';
  KeyMaterialDescription?: string;
  KeyMaterialId?: string;
}

/**
 * Imports material wrapped with the public key of an import token (reference §4.12), in the order:
 * key, authorization, state; expiration parameters; token (Invalid/ExpiredImportToken); unwrap
 * (InvalidCiphertext); material fits the key spec and — for a re-import — is the same material
 * (IncorrectKeyMaterial). The first import makes the material current and the key Enabled;
 * re-importing the same material restores it after deletion or expiry (old ciphertexts decrypt
 * again) or changes its expiration. Symmetric keys may take NEW_KEY_MATERIAL, which waits as
 * PENDING_ROTATION until RotateKeyOnDemand.
 */
export const ImportKeyMaterial = defineOperation({
  name: 'ImportKeyMaterial',
  input: structure(
    {
      KeyId: KeyIdType,
      ImportToken: { type: 'blob', min: 1, max: 6144 },
      EncryptedKeyMaterial: { type: 'blob', min: 1, max: 6144, sensitive: true },
      ValidTo: { type: 'timestamp' },
      ExpirationModel: enumOf(['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE']),
      ImportType: enumOf(['NEW_KEY_MATERIAL', 'EXISTING_KEY_MATERIAL']),
      KeyMaterialDescription: { ...DescriptionType, max: 256 },
      KeyMaterialId: { type: 'string', min: 64, max: 64, pattern: '^[a-f0-9]+$' },
    },
    ['KeyId', 'ImportToken', 'EncryptedKeyMaterial'],
  ),
  async handle(ctx, input: ImportKeyMaterialInput) {
    const expirationModel = input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES';
    const validTo = input.ValidTo === undefined ? undefined : input.ValidTo * 1000;
    const { key } = await ctx.useKey(input.KeyId, 'ImportKeyMaterial', {
      conditions: importConditions(expirationModel, input.ValidTo),
    });
    const now = ctx.clock.now();
    if (expirationModel === 'KEY_MATERIAL_EXPIRES') {
      if (validTo === undefined) {
        throw new ValidationException('A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES');
      }
      if (validTo <= now || validTo > now + MAX_VALID_TO_MS) {
        throw new ValidationException('ValidTo must be in the future and at most 365 days from now.');
      }
    } else if (validTo !== undefined) {
      throw new ValidationException(
        'A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE',
      );
    }
    if (input.ImportType === 'NEW_KEY_MATERIAL' && input.KeyMaterialId !== undefined) {
      throw new ValidationException('KeyMaterialId cannot be specified with ImportType NEW_KEY_MATERIAL.');
    }
    const token = openImportToken(ctx.keys, key.arn, input.ImportToken, now);
    const material = unwrapImportedMaterial(token.algorithm, token.privateKey, input.EncryptedKeyMaterial);
    try {
      checkImportedMaterial(key, material);
      const materialId = importedMaterialId(key.arn, material);
      const imported: KeyMaterialRecord = {
        materialId,
        importState: 'IMPORTED',
        expirationModel,
        ...(validTo === undefined ? {} : { validTo }),
        ...(input.KeyMaterialDescription === undefined ? {} : { description: input.KeyMaterialDescription }),
      };
      const updated = await ctx.keys.updateWithMaterial(key.arn, (current) => {
        checkKeyState('ImportKeyMaterial', current);
        const versions = materialsOf(current);
        const type = input.ImportType ?? (versions.length === 0 ? 'NEW_KEY_MATERIAL' : 'EXISTING_KEY_MATERIAL');
        const next =
          type === 'NEW_KEY_MATERIAL' ? importNew(current, imported) : importExisting(current, imported, input);
        const present = versions.find((m) => m.materialId === materialId)?.importState === 'IMPORTED';
        next.materialExpiry = earliestExpiry(next.materials ?? []);
        if (next.materialExpiry === undefined) delete next.materialExpiry;
        return {
          key: next,
          // Copied: a lost race runs this again, and the repository zeroes what it wraps.
          materials: present ? {} : { insert: [{ materialId, material: Buffer.from(material) }] },
        };
      });
      return { KeyId: updated.arn, KeyMaterialId: materialId };
    } finally {
      material.fill(0);
    }
  },
});

function importNew(key: KeyRecord, imported: KeyMaterialRecord): KeyRecord {
  const versions = materialsOf(key);
  if (versions.some((m) => m.materialId === imported.materialId)) {
    throw new IncorrectKeyMaterialException(
      'The key material was already imported into this key; import it as EXISTING_KEY_MATERIAL.',
    );
  }
  if (versions.length === 0) {
    return { ...key, keyState: 'Enabled', currentMaterialId: imported.materialId, materials: [imported] };
  }
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new IncorrectKeyMaterialException(
      `The key material of ${key.arn} cannot change: only symmetric encryption keys take new key material.`,
    );
  }
  const pending = versions.find((m) => m.pendingRotation === true);
  if (pending !== undefined) {
    throw new KMSInvalidStateException(
      `New key material (id: ${imported.materialId}) cannot be imported into KMS key ${key.keyId}, because another key material (id: ${pending.materialId}) is pending rotation.`,
    );
  }
  return { ...key, materials: [...versions, { ...imported, pendingRotation: true }] };
}

function importExisting(key: KeyRecord, imported: KeyMaterialRecord, input: ImportKeyMaterialInput): KeyRecord {
  const target = input.KeyMaterialId ?? key.currentMaterialId;
  const existing = materialsOf(key).find((m) => m.materialId === target);
  if (existing === undefined || existing.materialId !== imported.materialId) {
    throw new IncorrectKeyMaterialException(
      'The key material in the request is not the same key material that was previously imported into this KMS key.',
    );
  }
  const materials = materialsOf(key).map((m) =>
    m.materialId === imported.materialId
      ? {
          ...m,
          importState: 'IMPORTED' as const,
          expirationModel: imported.expirationModel,
          ...(imported.validTo === undefined ? {} : { validTo: imported.validTo }),
          ...(imported.description === undefined ? {} : { description: imported.description }),
        }
      : m,
  );
  const next: KeyRecord = { ...key, materials };
  if (imported.validTo === undefined) {
    const m = materials.find((v) => v.materialId === imported.materialId);
    if (m !== undefined) delete m.validTo;
  }
  if (key.keyState === 'PendingImport' && imported.materialId === key.currentMaterialId) next.keyState = 'Enabled';
  return next;
}
