import { signWith } from '../../keys/signing.js';
import { blobOutput } from '../../wire/blob-output.js';
import {
  BooleanType,
  enumOf,
  GrantTokenList,
  KeyIdType,
  MESSAGE_TYPES,
  MessageType,
  SIGNING_ALGORITHM_NAMES,
  structure,
} from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { type SigningInput, useSigningKey } from './signing-key.js';

export const Sign = defineOperation({
  name: 'Sign',
  input: structure(
    {
      KeyId: KeyIdType,
      Message: MessageType,
      MessageType: enumOf(MESSAGE_TYPES),
      GrantTokens: GrantTokenList,
      SigningAlgorithm: enumOf(SIGNING_ALGORITHM_NAMES),
      DryRun: BooleanType,
    },
    ['KeyId', 'Message', 'SigningAlgorithm'],
  ),
  async handle(ctx, input: SigningInput) {
    const { key, request } = await useSigningKey(ctx, input, 'Sign');
    const signature = await signWith(ctx.keys, key, request);
    return { KeyId: key.arn, Signature: blobOutput(signature), SigningAlgorithm: input.SigningAlgorithm };
  },
});
