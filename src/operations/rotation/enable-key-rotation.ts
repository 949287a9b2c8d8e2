import { rotationConditions } from '../../keys/request-conditions.js';
import { DAY_MS, ROTATION_PERIOD_DAYS } from '../../keys/rotation.js';
import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface EnableKeyRotationInput {
  KeyId: string;
  RotationPeriodInDays?: number;
}

/**
 * Turns on automatic rotation (reference §4.8): symmetric keys with generated material only (the
 * state table's footnote 7). The first rotation comes one period after enabling; changing the
 * period of a key that already rotates moves the next date to the last one plus the new period
 * (if that is past, the scheduler rotates at its next run).
 */
export const EnableKeyRotation = defineOperation({
  name: 'EnableKeyRotation',
  input: structure(
    {
      KeyId: KeyIdType,
      RotationPeriodInDays: { type: 'integer', min: ROTATION_PERIOD_DAYS.min, max: ROTATION_PERIOD_DAYS.max },
    },
    ['KeyId'],
  ),
  async handle(ctx, input: EnableKeyRotationInput) {
    const days = input.RotationPeriodInDays ?? ROTATION_PERIOD_DAYS.default;
    const now = ctx.clock.now();
    await ctx.changeKey(
      input.KeyId,
      'EnableKeyRotation',
      (current) => {
        const previous =
          current.rotationEnabled === true && current.nextRotationDate !== undefined
            ? current.nextRotationDate - (current.rotationPeriodInDays ?? ROTATION_PERIOD_DAYS.default) * DAY_MS
            : now;
        return {
          ...current,
          rotationEnabled: true,
          rotationPeriodInDays: days,
          nextRotationDate: previous + days * DAY_MS,
        };
      },
      { conditions: rotationConditions(days) },
    );
    return undefined;
  },
});
