import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface EnableKeyInput {
  KeyId: string;
}

export const EnableKey = defineOperation({
  name: 'EnableKey',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: EnableKeyInput) {
    // An Unavailable key (custom key store disconnected) stays so: reference §4.7, footnote 12.
    await ctx.changeKey(input.KeyId, 'EnableKey', (current) => ({
      ...current,
      keyState: current.keyState === 'Unavailable' ? 'Unavailable' : 'Enabled',
    }));
    return undefined;
  },
});
