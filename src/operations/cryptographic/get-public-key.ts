import { UnsupportedOperationException } from '../../errors.js';
import { algorithmLists, legacyKeySpec } from '../../keys/key-metadata.js';
import { keySpecEntry } from '../../keys/key-specs.js';
import { blobOutput } from '../../wire/blob-output.js';
import { GrantTokenList, KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface GetPublicKeyInput {
  KeyId: string;
  GrantTokens?: string[];
}

/** The DER SubjectPublicKeyInfo of an asymmetric key, with its spec, usage and algorithms. */
export const GetPublicKey = defineOperation({
  name: 'GetPublicKey',
  input: structure({ KeyId: KeyIdType, GrantTokens: GrantTokenList }, ['KeyId']),
  async handle(ctx, input: GetPublicKeyInput) {
    const { key } = await ctx.useKey(input.KeyId, 'GetPublicKey', {
      allowAlias: true,
      grantTokens: input.GrantTokens,
    });
    if (!keySpecEntry(key.keySpec).asymmetric) {
      throw new UnsupportedOperationException(
        `${key.arn} key spec is ${key.keySpec} which is not valid for GetPublicKey.`,
      );
    }
    const publicKey = await ctx.keys.publicKey(key);
    return {
      KeyId: key.arn,
      PublicKey: blobOutput(publicKey),
      CustomerMasterKeySpec: legacyKeySpec(key.keySpec),
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...algorithmLists(key.keySpec, key.keyUsage),
    };
  },
});
