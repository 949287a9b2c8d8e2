import { epochSeconds } from '../../keys/key-metadata.js';
import { page } from '../../keys/marker.js';
import { materialsOf } from '../../keys/rotation.js';
import type { KeyMaterialRecord, KeyRecord } from '../../storage/records.js';
import { enumOf, KeyIdType, LimitType, MarkerType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface ListKeyRotationsInput {
  KeyId: string;
  IncludeKeyMaterial?: 'ALL_KEY_MATERIAL' | 'ROTATIONS_ONLY';
  Limit?: number;
  Marker?: string;
}

/**
 * The versions of a key's material, oldest first (reference §4.8). By default (ROTATIONS_ONLY)
 * only the rotations that happened; ALL_KEY_MATERIAL adds the first material and imported
 * material pending rotation. Import fields appear for keys with imported material only.
 */
export const ListKeyRotations = defineOperation({
  name: 'ListKeyRotations',
  input: structure(
    {
      KeyId: KeyIdType,
      IncludeKeyMaterial: enumOf(['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY']),
      Limit: LimitType,
      Marker: MarkerType,
    },
    ['KeyId'],
  ),
  async handle(ctx, input: ListKeyRotationsInput) {
    const { key } = await ctx.useKey(input.KeyId, 'ListKeyRotations');
    const all = input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL';
    const versions = materialsOf(key)
      .map((material, index) => ({ material, index }))
      .filter(({ material }) => all || material.rotationDate !== undefined);
    const { items, ...rest } = await page(
      'ListKeyRotations',
      input.Limit ?? 100,
      input.Marker,
      async (after, limit) => versions.filter((v) => after === undefined || v.index > Number(after)).slice(0, limit),
      (v) => String(v.index),
    );
    return { Rotations: items.map((v) => rotationEntry(key, v.material)), ...rest };
  },
});

function rotationEntry(key: KeyRecord, m: KeyMaterialRecord): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    KeyId: key.keyId,
    KeyMaterialId: m.materialId,
    KeyMaterialState:
      m.materialId === key.currentMaterialId
        ? 'CURRENT'
        : m.pendingRotation === true
          ? 'PENDING_ROTATION'
          : 'NON_CURRENT',
  };
  if (m.rotationDate !== undefined) {
    entry.RotationDate = epochSeconds(m.rotationDate);
    entry.RotationType = m.rotationType;
  }
  if (key.origin === 'EXTERNAL') {
    entry.ImportState = m.importState ?? 'PENDING_IMPORT';
    if (m.expirationModel !== undefined) entry.ExpirationModel = m.expirationModel;
    if (m.validTo !== undefined) entry.ValidTo = epochSeconds(m.validTo);
    if (m.description !== undefined) entry.KeyMaterialDescription = m.description;
  }
  return entry;
}
