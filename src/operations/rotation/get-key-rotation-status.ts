import { epochSeconds } from '../../keys/key-metadata.js';
import { ROTATION_PERIOD_DAYS, reportsRotationEnabled } from '../../keys/rotation.js';
import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface GetKeyRotationStatusInput {
  KeyId: string;
}

/**
 * Whether automatic rotation is on, its period and next date. A key pending deletion reports
 * false (cancelling the deletion restores the setting). On-demand rotations finish within the
 * request here, so OnDemandRotationStartDate — present only while one runs — never appears.
 */
export const GetKeyRotationStatus = defineOperation({
  name: 'GetKeyRotationStatus',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: GetKeyRotationStatusInput) {
    const { key } = await ctx.useKey(input.KeyId, 'GetKeyRotationStatus');
    const enabled = reportsRotationEnabled(key);
    return {
      KeyId: key.arn,
      KeyRotationEnabled: enabled,
      ...(enabled
        ? {
            RotationPeriodInDays: key.rotationPeriodInDays ?? ROTATION_PERIOD_DAYS.default,
            ...(key.nextRotationDate === undefined ? {} : { NextRotationDate: epochSeconds(key.nextRotationDate) }),
          }
        : {}),
    };
  },
});
