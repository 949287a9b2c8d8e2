import type { EncryptionContext } from '../../keys/encryption-context.js';
import { encryptSymmetric } from '../../keys/symmetric.js';
import {
  BooleanType,
  CiphertextType,
  DRY_RUN_MODIFIERS,
  ENCRYPTION_ALGORITHMS,
  EncryptionContextType,
  enumOf,
  GrantTokenList,
  KeyIdType,
  structure,
} from '../../wire/shapes.js';
import { missingMember } from '../../wire/validate.js';
import { requireSymmetricEncryption } from '../context.js';
import { defineOperation } from '../operation.js';
import { type OpenedCiphertext, openCiphertext } from './ciphertext-source.js';
import { finishDryRun } from './dry-run.js';
import { requireSymmetricAlgorithm } from './encryption-algorithm.js';

interface ReEncryptInput {
  CiphertextBlob?: Buffer;
  SourceEncryptionContext?: EncryptionContext;
  SourceKeyId?: string;
  DestinationKeyId: string;
  DestinationEncryptionContext?: EncryptionContext;
  SourceEncryptionAlgorithm?: string;
  DestinationEncryptionAlgorithm?: string;
  GrantTokens?: string[];
  DryRun?: boolean;
  DryRunModifiers?: string[];
}

/** Decrypt under the source key and encrypt under the destination, inside the service. */
export const ReEncrypt = defineOperation({
  name: 'ReEncrypt',
  input: structure(
    {
      CiphertextBlob: CiphertextType,
      SourceEncryptionContext: EncryptionContextType,
      SourceKeyId: KeyIdType,
      DestinationKeyId: KeyIdType,
      DestinationEncryptionContext: EncryptionContextType,
      SourceEncryptionAlgorithm: enumOf(ENCRYPTION_ALGORITHMS),
      DestinationEncryptionAlgorithm: enumOf(ENCRYPTION_ALGORITHMS),
      GrantTokens: GrantTokenList,
      DryRun: BooleanType,
      DryRunModifiers: DRY_RUN_MODIFIERS,
    },
    ['DestinationKeyId'],
  ),
  async handle(ctx, input: ReEncryptInput) {
    const ignoreCiphertext = input.DryRun === true && input.DryRunModifiers?.includes('IGNORE_CIPHERTEXT');
    let source: OpenedCiphertext | undefined;
    if (ignoreCiphertext) {
      if (input.SourceKeyId === undefined) throw missingMember('sourceKeyId');
      const { key } = await ctx.useKey(input.SourceKeyId, 'ReEncrypt', {
        allowAlias: true,
        action: 'kms:ReEncryptFrom',
      });
      requireSymmetricEncryption(key, 'ReEncrypt');
      requireSymmetricAlgorithm(key, input.SourceEncryptionAlgorithm);
    } else {
      if (input.CiphertextBlob === undefined) throw missingMember('ciphertextBlob');
      source = await openCiphertext(ctx, {
        blob: input.CiphertextBlob,
        keyId: input.SourceKeyId,
        context: input.SourceEncryptionContext,
        algorithm: input.SourceEncryptionAlgorithm,
        operation: 'ReEncrypt',
        action: 'kms:ReEncryptFrom',
      });
    }
    const { key: destination } = await ctx.useKey(input.DestinationKeyId, 'ReEncrypt', {
      allowAlias: true,
      action: 'kms:ReEncryptTo',
    });
    requireSymmetricEncryption(destination, 'ReEncrypt');
    const destinationAlgorithm = requireSymmetricAlgorithm(destination, input.DestinationEncryptionAlgorithm);
    finishDryRun(input.DryRun);
    if (source === undefined) throw missingMember('ciphertextBlob');
    const { plaintext, materialId: sourceMaterialId } = await source.decrypt();
    try {
      const { blob, materialId } = await encryptSymmetric(
        ctx.keys,
        destination,
        plaintext,
        input.DestinationEncryptionContext,
      );
      return {
        CiphertextBlob: blob.toString('base64'),
        SourceKeyId: source.key.arn,
        KeyId: destination.arn,
        SourceEncryptionAlgorithm: source.algorithm,
        DestinationEncryptionAlgorithm: destinationAlgorithm,
        SourceKeyMaterialId: sourceMaterialId,
        DestinationKeyMaterialId: materialId,
      };
    } finally {
      plaintext.fill(0);
    }
  },
});
