import { generateKeyPairDer } from '../../crypto/key-generation.js';
import { UnsupportedOperationException, ValidationException } from '../../errors.js';
import {
  createImportToken,
  IMPORT_PARAMETERS_VALIDITY_MS,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  type WrappingAlgorithm,
} from '../../keys/imported-material.js';
import { epochSeconds } from '../../keys/key-metadata.js';
import { wrappingConditions } from '../../keys/request-conditions.js';
import { blobOutput } from '../../wire/blob-output.js';
import { enumOf, KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface GetParametersForImportInput {
  KeyId: string;
  WrappingAlgorithm: WrappingAlgorithm;
  WrappingKeySpec: (typeof WRAPPING_KEY_SPECS)[number];
}

/**
 * A fresh RSA wrapping key pair and an import token, both valid 24 hours on the lifecycle clock
 * (reference §4.12). The private key travels inside the token, wrapped under the root key (see
 * src/keys/imported-material.ts).
 */
export const GetParametersForImport = defineOperation({
  name: 'GetParametersForImport',
  input: structure(
    {
      KeyId: KeyIdType,
      WrappingAlgorithm: enumOf(WRAPPING_ALGORITHMS),
      WrappingKeySpec: enumOf(WRAPPING_KEY_SPECS),
    },
    ['KeyId', 'WrappingAlgorithm', 'WrappingKeySpec'],
  ),
  async handle(ctx, input: GetParametersForImportInput) {
    const { key } = await ctx.useKey(input.KeyId, 'GetParametersForImport', {
      conditions: wrappingConditions(input.WrappingAlgorithm, input.WrappingKeySpec),
    });
    if (input.WrappingAlgorithm === 'RSAES_PKCS1_V1_5') {
      throw new ValidationException('The wrapping algorithm RSAES_PKCS1_V1_5 is no longer supported.');
    }
    if (input.WrappingKeySpec === 'SM2' || input.WrappingAlgorithm === 'SM2PKE') {
      throw new UnsupportedOperationException('SM2 wrapping is available in the China Regions only.');
    }
    const bits = Number(input.WrappingKeySpec.slice(4)) as 2048 | 3072 | 4096;
    const pair = await generateKeyPairDer({ type: 'rsa', bits });
    const validTo = ctx.clock.now() + IMPORT_PARAMETERS_VALIDITY_MS;
    try {
      const token = createImportToken(ctx.keys, key.arn, input.WrappingAlgorithm, pair.privateKey, validTo);
      return {
        KeyId: key.arn,
        ImportToken: blobOutput(token),
        PublicKey: blobOutput(pair.publicKey),
        ParametersValidTo: epochSeconds(validTo),
      };
    } finally {
      pair.privateKey.fill(0);
    }
  },
});
