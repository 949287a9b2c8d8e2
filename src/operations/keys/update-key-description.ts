import { DescriptionType, KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface UpdateKeyDescriptionInput {
  KeyId: string;
  Description: string;
}

export const UpdateKeyDescription = defineOperation({
  name: 'UpdateKeyDescription',
  input: structure({ KeyId: KeyIdType, Description: DescriptionType }, ['KeyId', 'Description']),
  async handle(ctx, input: UpdateKeyDescriptionInput) {
    await ctx.changeKey(input.KeyId, 'UpdateKeyDescription', (current) => ({
      ...current,
      description: input.Description,
    }));
    return undefined;
  },
});
