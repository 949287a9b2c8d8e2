import type { EncryptionContext } from '../../keys/encryption-context.js';
import {
  BooleanType,
  CiphertextType,
  DRY_RUN_MODIFIERS,
  ENCRYPTION_ALGORITHMS,
  EncryptionContextType,
  enumOf,
  GrantTokenList,
  KeyIdType,
  RecipientType,
  structure,
} from '../../wire/shapes.js';
import { missingMember } from '../../wire/validate.js';
import { requireSymmetricEncryption } from '../context.js';
import { defineOperation } from '../operation.js';
import { openCiphertext } from './ciphertext-source.js';
import { finishDryRun, refuseRecipient } from './dry-run.js';
import { requireSymmetricAlgorithm } from './encryption-algorithm.js';

interface DecryptInput {
  CiphertextBlob?: Buffer;
  EncryptionContext?: EncryptionContext;
  GrantTokens?: string[];
  KeyId?: string;
  EncryptionAlgorithm?: string;
  Recipient?: unknown;
  DryRun?: boolean;
  DryRunModifiers?: string[];
}

export const Decrypt = defineOperation({
  name: 'Decrypt',
  input: structure({
    CiphertextBlob: CiphertextType,
    EncryptionContext: EncryptionContextType,
    GrantTokens: GrantTokenList,
    KeyId: KeyIdType,
    EncryptionAlgorithm: enumOf(ENCRYPTION_ALGORITHMS),
    Recipient: RecipientType,
    DryRun: BooleanType,
    DryRunModifiers: DRY_RUN_MODIFIERS,
  }),
  async handle(ctx, input: DecryptInput) {
    refuseRecipient(input.Recipient);
    if (input.DryRun === true && input.DryRunModifiers?.includes('IGNORE_CIPHERTEXT')) {
      // The ciphertext is neither parsed nor needed; the key must then be named (reference §4.17).
      if (input.KeyId === undefined) throw missingMember('keyId');
      const { key } = await ctx.useKey(input.KeyId, 'Decrypt', { allowAlias: true });
      requireSymmetricEncryption(key, 'Decrypt');
      requireSymmetricAlgorithm(key, input.EncryptionAlgorithm);
      return finishDryRun(true);
    }
    if (input.CiphertextBlob === undefined) throw missingMember('ciphertextBlob');
    const opened = await openCiphertext(ctx, {
      blob: input.CiphertextBlob,
      keyId: input.KeyId,
      context: input.EncryptionContext,
      algorithm: input.EncryptionAlgorithm,
      operation: 'Decrypt',
      action: 'kms:Decrypt',
    });
    finishDryRun(input.DryRun);
    const { plaintext, materialId } = await opened.decrypt();
    const Plaintext = plaintext.toString('base64');
    plaintext.fill(0);
    return { KeyId: opened.key.arn, Plaintext, EncryptionAlgorithm: opened.algorithm, KeyMaterialId: materialId };
  },
});
