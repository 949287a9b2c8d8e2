import { checkAsymmetricEncryption, checkPlaintextSize, encryptAsymmetric } from '../../keys/asymmetric-encryption.js';
import type { EncryptionContext } from '../../keys/encryption-context.js';
import { requireKeyUsage } from '../../keys/key-usage.js';
import { encryptionConditions } from '../../keys/request-conditions.js';
import { encryptSymmetric } from '../../keys/symmetric.js';
import { blobOutput } from '../../wire/blob-output.js';
import {
  BooleanType,
  ENCRYPTION_ALGORITHMS,
  EncryptionContextType,
  enumOf,
  GrantTokenList,
  KeyIdType,
  PlaintextType,
  structure,
} from '../../wire/shapes.js';
import { requireSymmetricEncryption } from '../context.js';
import { defineOperation } from '../operation.js';
import { finishDryRun } from './dry-run.js';
import { requireSymmetricAlgorithm } from './encryption-algorithm.js';

interface EncryptInput {
  KeyId: string;
  Plaintext: Buffer;
  EncryptionContext?: EncryptionContext;
  GrantTokens?: string[];
  EncryptionAlgorithm?: string;
  DryRun?: boolean;
}

export const Encrypt = defineOperation({
  name: 'Encrypt',
  input: structure(
    {
      KeyId: KeyIdType,
      Plaintext: PlaintextType,
      EncryptionContext: EncryptionContextType,
      GrantTokens: GrantTokenList,
      EncryptionAlgorithm: enumOf(ENCRYPTION_ALGORITHMS),
      DryRun: BooleanType,
    },
    ['KeyId', 'Plaintext'],
  ),
  async handle(ctx, input: EncryptInput) {
    const { key } = await ctx.useKey(input.KeyId, 'Encrypt', {
      allowAlias: true,
      grantTokens: input.GrantTokens,
      conditions: encryptionConditions(input.EncryptionContext, input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT'),
      encryptionContext: input.EncryptionContext,
    });
    requireKeyUsage(key, 'ENCRYPT_DECRYPT', 'Encrypt');
    if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
      // RSA (reference §4.4): raw OAEP output, per-spec size limits, no encryption context.
      const encryption = checkAsymmetricEncryption(key, input.EncryptionAlgorithm, input.EncryptionContext);
      checkPlaintextSize(key, encryption, input.Plaintext.length);
      finishDryRun(input.DryRun);
      const ciphertext = await encryptAsymmetric(ctx.keys, key, encryption, input.Plaintext);
      return {
        CiphertextBlob: blobOutput(ciphertext),
        KeyId: key.arn,
        EncryptionAlgorithm: encryption.algorithm,
      };
    }
    requireSymmetricEncryption(key, 'Encrypt');
    const algorithm = requireSymmetricAlgorithm(key, input.EncryptionAlgorithm);
    finishDryRun(input.DryRun);
    const { blob } = await encryptSymmetric(ctx.keys, key, input.Plaintext, input.EncryptionContext);
    return { CiphertextBlob: blobOutput(blob), KeyId: key.arn, EncryptionAlgorithm: algorithm };
  },
});
