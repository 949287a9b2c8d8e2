import { ValidationException } from '../../errors.js';
import { withoutMaterial } from '../../keys/imported-material.js';
import { checkKeyState } from '../../keys/key-states.js';
import { materialsOf } from '../../keys/rotation.js';
import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface DeleteImportedKeyMaterialInput {
  KeyId: string;
  KeyMaterialId?: string;
}

/**
 * Deletes imported material at once (reference §4.12): the backing key row is destroyed in the
 * same transaction as the key's new record. Without KeyMaterialId, the current material; deleting
 * it puts the key in PendingImport (a key pending deletion stays so). Material already deleted:
 * no effect. Re-importing the same material restores it.
 */
export const DeleteImportedKeyMaterial = defineOperation({
  name: 'DeleteImportedKeyMaterial',
  input: structure({ KeyId: KeyIdType, KeyMaterialId: { type: 'string', min: 64, max: 64, pattern: '^[a-f0-9]+$' } }, [
    'KeyId',
  ]),
  async handle(ctx, input: DeleteImportedKeyMaterialInput) {
    const { key } = await ctx.useKey(input.KeyId, 'DeleteImportedKeyMaterial');
    let deleted: string | undefined;
    const updated = await ctx.keys.updateWithMaterial(key.arn, (current) => {
      checkKeyState('DeleteImportedKeyMaterial', current);
      const target = input.KeyMaterialId ?? current.currentMaterialId;
      const material = materialsOf(current).find((m) => m.materialId === target);
      if (input.KeyMaterialId !== undefined && material === undefined) {
        throw new ValidationException(`Key material ${input.KeyMaterialId} does not exist for key ${current.arn}.`);
      }
      deleted = material?.materialId;
      if (material === undefined || material.importState !== 'IMPORTED') return { key: current };
      return { key: withoutMaterial(current, [material.materialId]), materials: { delete: [material.materialId] } };
    });
    return { KeyId: updated.arn, ...(deleted === undefined ? {} : { KeyMaterialId: deleted }) };
  },
});
