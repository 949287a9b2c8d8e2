import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface DisableKeyInput {
  KeyId: string;
}

export const DisableKey = defineOperation({
  name: 'DisableKey',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: DisableKeyInput) {
    await ctx.changeKey(input.KeyId, 'DisableKey', (current) => ({ ...current, keyState: 'Disabled' }));
    return undefined;
  },
});
