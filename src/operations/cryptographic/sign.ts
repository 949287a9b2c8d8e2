import { requireAlgorithm, requireKeyUsage } from '../../keys/key-usage.js';
import { signingConditions } from '../../keys/request-conditions.js';
import { checkMessage, signWith } from '../../keys/signing.js';
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
import { finishDryRun } from './dry-run.js';

interface SignInput {
  KeyId: string;
  Message: Buffer;
  MessageType?: string;
  GrantTokens?: string[];
  SigningAlgorithm: string;
  DryRun?: boolean;
}

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
  async handle(ctx, input: SignInput) {
    const { key } = await ctx.useKey(input.KeyId, 'Sign', {
      allowAlias: true,
      grantTokens: input.GrantTokens,
      conditions: signingConditions(input.SigningAlgorithm, input.MessageType),
    });
    requireKeyUsage(key, 'SIGN_VERIFY', 'Sign');
    requireAlgorithm(key, input.SigningAlgorithm);
    const request = checkMessage(input.SigningAlgorithm, input.MessageType, input.Message);
    finishDryRun(input.DryRun);
    const signature = await signWith(ctx.keys, key, request);
    return { KeyId: key.arn, Signature: blobOutput(signature), SigningAlgorithm: input.SigningAlgorithm };
  },
});
