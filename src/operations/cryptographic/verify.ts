import { KMSInvalidSignatureException } from '../../errors.js';
import { verifyWith } from '../../keys/signing.js';
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
import { type SigningInput, useSigningKey } from './signing-key.js';

interface VerifyInput extends SigningInput {
  Signature: Buffer;
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
    const { key, request } = await useSigningKey(ctx, input, 'Verify');
    if (!(await verifyWith(ctx.keys, key, request, input.Signature))) {
      throw new KMSInvalidSignatureException('', 'signature does not verify');
    }
    return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
  },
});
