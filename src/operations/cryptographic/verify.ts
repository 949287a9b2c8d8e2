import { KMSInvalidSignatureException } from '../../errors.js';
import { requireAlgorithm, requireKeyUsage } from '../../keys/key-usage.js';
import { signingConditions } from '../../keys/request-conditions.js';
import { checkMessage, verifyWith } from '../../keys/signing.js';
import {
  BooleanType,
  enumOf,
  GrantTokenList,
  KeyIdType,
  MESSAGE_TYPES,
  MessageType,
  SIGNING_ALGORITHM_NAMES,
  SignatureType,
  structure,
} from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { finishDryRun } from './dry-run.js';

interface VerifyInput {
  KeyId: string;
  Message: Buffer;
  MessageType?: string;
  Signature: Buffer;
  SigningAlgorithm: string;
  GrantTokens?: string[];
  DryRun?: boolean;
}

/** A bad signature is KMSInvalidSignatureException: KMS never answers SignatureValid false. */
export const Verify = defineOperation({
  name: 'Verify',
  input: structure(
    {
      KeyId: KeyIdType,
      Message: MessageType,
      MessageType: enumOf(MESSAGE_TYPES),
      Signature: SignatureType,
      SigningAlgorithm: enumOf(SIGNING_ALGORITHM_NAMES),
      GrantTokens: GrantTokenList,
      DryRun: BooleanType,
    },
    ['KeyId', 'Message', 'Signature', 'SigningAlgorithm'],
  ),
  async handle(ctx, input: VerifyInput) {
    const { key } = await ctx.useKey(input.KeyId, 'Verify', {
      allowAlias: true,
      grantTokens: input.GrantTokens,
      conditions: signingConditions(input.SigningAlgorithm, input.MessageType),
    });
    requireKeyUsage(key, 'SIGN_VERIFY', 'Verify');
    requireAlgorithm(key, input.SigningAlgorithm);
    const request = checkMessage(input.SigningAlgorithm, input.MessageType, input.Message);
    finishDryRun(input.DryRun);
    if (!(await verifyWith(ctx.keys, key, request, input.Signature))) {
      throw new KMSInvalidSignatureException('', 'signature does not verify');
    }
    return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
  },
});
