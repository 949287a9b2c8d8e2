import { tagKeyConditions } from '../../keys/request-conditions.js';
import { removeTags } from '../../keys/tags.js';
import { KeyIdType, structure, TagKeyType } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface UntagResourceInput {
  KeyId: string;
  TagKeys: string[];
}

/** Unknown tag keys are ignored, as AWS does. */
export const UntagResource = defineOperation({
  name: 'UntagResource',
  input: structure({ KeyId: KeyIdType, TagKeys: { type: 'list', member: TagKeyType } }, ['KeyId', 'TagKeys']),
  async handle(ctx, input: UntagResourceInput) {
    await ctx.changeKey(
      input.KeyId,
      'UntagResource',
      (key) => ({ ...key, tags: removeTags(key.tags, input.TagKeys) }),
      { conditions: tagKeyConditions(input.TagKeys) },
    );
    return undefined;
  },
});
