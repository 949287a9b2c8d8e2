import type { EncryptionContext } from '../../keys/encryption-context.js';
import { encryptSymmetric } from '../../keys/symmetric.js';
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
    const { key } = await ctx.useKey(input.KeyId, 'Encrypt', { allowAlias: true });
    requireSymmetricEncryption(key, 'Encrypt');
    const algorithm = requireSymmetricAlgorithm(key, input.EncryptionAlgorithm);
    finishDryRun(input.DryRun);
    const { blob } = await encryptSymmetric(ctx.keys, key, input.Plaintext, input.EncryptionContext);
    return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: algorithm };
  },
});
