import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface DisableKeyInput {
  KeyId: string;
}

export const DisableKey = defineOperation({
  name: 'DisableKey',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: DisableKeyInput) {
    // An Unavailable key (custom key store disconnected) stays so: reference §4.7, footnote 12.
    await ctx.changeKey(input.KeyId, 'DisableKey', (current) => ({
      ...current,
      keyState: current.keyState === 'Unavailable' ? 'Unavailable' : 'Disabled',
    }));
    return undefined;
  },
});
