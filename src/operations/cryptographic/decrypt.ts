import { checkAsymmetricEncryption, decryptAsymmetric } from '../../keys/asymmetric-encryption.js';
import type { EncryptionContext } from '../../keys/encryption-context.js';
import { requireKeyUsage } from '../../keys/key-usage.js';
import { encryptionConditions } from '../../keys/request-conditions.js';
import { blobOutput } from '../../wire/blob-output.js';
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
import { isAsymmetricAlgorithm, requireSymmetricAlgorithm } from './encryption-algorithm.js';

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
    // An RSA ciphertext carries no metadata: the key must be named (reference §4.6). Without a
    // KeyId, or with a symmetric one, the blob is a symmetric one and its own checks answer.
    const named =
      isAsymmetricAlgorithm(input.EncryptionAlgorithm) && input.KeyId !== undefined
        ? (await ctx.useKey(input.KeyId, 'Decrypt', access(input))).key
        : undefined;
    if (named !== undefined && named.keySpec !== 'SYMMETRIC_DEFAULT') {
      const key = named;
      requireKeyUsage(key, 'ENCRYPT_DECRYPT', 'Decrypt');
      const encryption = checkAsymmetricEncryption(key, input.EncryptionAlgorithm, input.EncryptionContext);
      const ignoreCiphertext = input.DryRunModifiers?.includes('IGNORE_CIPHERTEXT') === true;
      if (input.CiphertextBlob === undefined && !(input.DryRun === true && ignoreCiphertext)) {
        throw missingMember('ciphertextBlob');
      }
      finishDryRun(input.DryRun);
      const plaintext = await decryptAsymmetric(ctx.keys, key, encryption, input.CiphertextBlob as Buffer);
      const Plaintext = blobOutput(plaintext);
      plaintext.fill(0);
      return { KeyId: key.arn, Plaintext, EncryptionAlgorithm: encryption.algorithm };
    }
    if (input.DryRun === true && input.DryRunModifiers?.includes('IGNORE_CIPHERTEXT')) {
      // The ciphertext is neither parsed nor needed; the key must then be named (reference §4.17).
      if (input.KeyId === undefined) throw missingMember('keyId');
      const { key } = await ctx.useKey(input.KeyId, 'Decrypt', access(input));
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
      conditions: () => decryptConditions(input),
      grantTokens: input.GrantTokens,
    });
    finishDryRun(input.DryRun);
    const { plaintext, materialId } = await opened.decrypt();
    const Plaintext = blobOutput(plaintext);
    plaintext.fill(0);
    return { KeyId: opened.key.arn, Plaintext, EncryptionAlgorithm: opened.algorithm, KeyMaterialId: materialId };
  },
});

/** How Decrypt's parameters take part in authorization. */
function access(input: DecryptInput) {
  return {
    allowAlias: true,
    grantTokens: input.GrantTokens,
    conditions: decryptConditions(input),
    encryptionContext: input.EncryptionContext,
  };
}

function decryptConditions(input: DecryptInput) {
  return encryptionConditions(input.EncryptionContext, input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT');
}
