import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface EnableKeyInput {
  KeyId: string;
}

export const EnableKey = defineOperation({
  name: 'EnableKey',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: EnableKeyInput) {
    await ctx.changeKey(input.KeyId, 'EnableKey', (current) => ({ ...current, keyState: 'Enabled' }));
    return undefined;
  },
});
