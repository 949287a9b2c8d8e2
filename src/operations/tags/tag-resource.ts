import { requestTagConditions } from '../../keys/request-conditions.js';
import { mergeTags } from '../../keys/tags.js';
import type { Tag } from '../../storage/records.js';
import { KeyIdType, structure, TagList } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface TagResourceInput {
  KeyId: string;
  Tags: Tag[];
}

export const TagResource = defineOperation({
  name: 'TagResource',
  input: structure({ KeyId: KeyIdType, Tags: TagList }, ['KeyId', 'Tags']),
  async handle(ctx, input: TagResourceInput) {
    await ctx.changeKey(input.KeyId, 'TagResource', (key) => ({ ...key, tags: mergeTags(key.tags, input.Tags) }), {
      conditions: requestTagConditions(input.Tags),
    });
    return undefined;
  },
});
