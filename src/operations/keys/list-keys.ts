import { page } from '../../keys/marker.js';
import { LimitType, MarkerType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface ListKeysInput {
  Limit?: number;
  Marker?: string;
}

/** Every key of the caller's account in this region, in every state, by key id. */
export const ListKeys = defineOperation({
  name: 'ListKeys',
  input: structure({ Limit: LimitType, Marker: MarkerType }),
  async handle(ctx, input: ListKeysInput) {
    await ctx.authorizeAccount('kms:ListKeys');
    const { items, ...rest } = await page(
      'ListKeys',
      input.Limit ?? 100,
      input.Marker,
      (after, limit) => ctx.keys.list(ctx, after === undefined ? { limit } : { limit, after }),
      (key) => key.keyId,
    );
    return { Keys: items.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...rest };
  },
});
