import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface CancelKeyDeletionInput {
  KeyId: string;
}

/** A cancelled deletion leaves the key Disabled, as AWS does (reference §2.3). */
export const CancelKeyDeletion = defineOperation({
  name: 'CancelKeyDeletion',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: CancelKeyDeletionInput) {
    const updated = await ctx.changeKey(input.KeyId, 'CancelKeyDeletion', (current) => {
      const { deletionDate: _d, pendingWindowInDays: _p, ...rest } = current;
      return { ...rest, keyState: 'Disabled' };
    });
    return { KeyId: updated.arn };
  },
});
