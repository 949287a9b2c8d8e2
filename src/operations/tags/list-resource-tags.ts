import { page } from '../../keys/marker.js';
import { KeyIdType, LimitType, MarkerType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface ListResourceTagsInput {
  KeyId: string;
  Limit?: number;
  Marker?: string;
}

// The model allows Limit up to 1000; AWS documents 1–50 for ListResourceTags.
const MAX_LIMIT = 50;

export const ListResourceTags = defineOperation({
  name: 'ListResourceTags',
  input: structure({ KeyId: KeyIdType, Limit: LimitType, Marker: MarkerType }, ['KeyId']),
  async handle(ctx, input: ListResourceTagsInput) {
    const { key } = await ctx.useKey(input.KeyId, 'ListResourceTags');
    const sorted = [...key.tags].sort((a, b) => (a.TagKey < b.TagKey ? -1 : a.TagKey > b.TagKey ? 1 : 0));
    const { items, ...rest } = await page(
      `ListResourceTags ${key.keyId}`,
      Math.min(input.Limit ?? 50, MAX_LIMIT),
      input.Marker,
      async (after, limit) => sorted.filter((t) => after === undefined || t.TagKey > after).slice(0, limit),
      (tag) => tag.TagKey,
    );
    return { Tags: items, ...rest };
  },
});
