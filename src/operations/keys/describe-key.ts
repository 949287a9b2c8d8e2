import { keyMetadata } from '../../keys/key-metadata.js';
import { GrantTokenList, KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface DescribeKeyInput {
  KeyId: string;
  GrantTokens?: string[];
}

export const DescribeKey = defineOperation({
  name: 'DescribeKey',
  input: structure({ KeyId: KeyIdType, GrantTokens: GrantTokenList }, ['KeyId']),
  async handle(ctx, input: DescribeKeyInput) {
    const { key } = await ctx.useKey(input.KeyId, 'DescribeKey', {
      allowAlias: true,
      grantTokens: input.GrantTokens,
    });
    return { KeyMetadata: keyMetadata(key) };
  },
});
