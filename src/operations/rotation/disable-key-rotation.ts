import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface DisableKeyRotationInput {
  KeyId: string;
}

/** Turns off automatic rotation; the period is remembered, the next date forgotten. */
export const DisableKeyRotation = defineOperation({
  name: 'DisableKeyRotation',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: DisableKeyRotationInput) {
    await ctx.changeKey(input.KeyId, 'DisableKeyRotation', (current) => {
      const { nextRotationDate: _n, ...rest } = current;
      return { ...rest, rotationEnabled: false };
    });
    return undefined;
  },
});
