import { ConflictException, LimitExceededException } from '../../errors.js';
import { checkKeyState } from '../../keys/key-states.js';
import { MAX_ON_DEMAND_ROTATIONS, ROTATION_CONFLICT_WINDOW_MS, rotateKey } from '../../keys/rotation.js';
import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface RotateKeyOnDemandInput {
  KeyId: string;
}

/**
 * Rotates now (reference §4.8): generated keys get new material; keys with imported material
 * switch to the material imported as new (PENDING_ROTATION). At most 25 per key; refused with
 * ConflictException when an automatic rotation is due within 20 minutes. The automatic schedule
 * is left as it is. AWS rotates asynchronously; here the new material is current on return.
 */
export const RotateKeyOnDemand = defineOperation({
  name: 'RotateKeyOnDemand',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: RotateKeyOnDemandInput) {
    const { key } = await ctx.useKey(input.KeyId, 'RotateKeyOnDemand');
    const now = () => ctx.clock.now();
    const rotated = await rotateKey(ctx.keys, key.arn, 'ON_DEMAND', now, (current) => {
      checkKeyState('RotateKeyOnDemand', current);
      if ((current.onDemandRotations ?? 0) >= MAX_ON_DEMAND_ROTATIONS) {
        throw new LimitExceededException(
          `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${current.arn}`,
        );
      }
      if (
        current.rotationEnabled === true &&
        current.nextRotationDate !== undefined &&
        current.nextRotationDate - now() < ROTATION_CONFLICT_WINDOW_MS
      ) {
        throw new ConflictException(
          `An automatic rotation of ${current.arn} is in progress or scheduled within the next 20 minutes. Try again later.`,
        );
      }
    });
    return { KeyId: rotated.arn };
  },
});
