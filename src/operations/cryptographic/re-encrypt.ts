import {
  checkAsymmetricEncryption,
  checkPlaintextSize,
  decryptAsymmetric,
  encryptAsymmetric,
} from '../../keys/asymmetric-encryption.js';
import type { EncryptionContext } from '../../keys/encryption-context.js';
import { requireKeyUsage } from '../../keys/key-usage.js';
import { encryptionConditions } from '../../keys/request-conditions.js';
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
import { isAsymmetricAlgorithm, requireSymmetricAlgorithm } from './encryption-algorithm.js';

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
    // An RSA source ciphertext carries no metadata: SourceKeyId names it (reference §4.6).
    const named =
      isAsymmetricAlgorithm(input.SourceEncryptionAlgorithm) && input.SourceKeyId !== undefined
        ? (await ctx.useKey(input.SourceKeyId, 'ReEncrypt', sourceAccess(input))).key
        : undefined;
    if (named !== undefined && named.keySpec !== 'SYMMETRIC_DEFAULT') {
      const key = named;
      requireKeyUsage(key, 'ENCRYPT_DECRYPT', 'ReEncrypt');
      const encryption = checkAsymmetricEncryption(key, input.SourceEncryptionAlgorithm, input.SourceEncryptionContext);
      const blob = input.CiphertextBlob;
      if (blob === undefined && !ignoreCiphertext) throw missingMember('ciphertextBlob');
      if (blob !== undefined) {
        source = {
          key,
          algorithm: encryption.algorithm,
          decrypt: async () => ({ plaintext: await decryptAsymmetric(ctx.keys, key, encryption, blob) }),
        };
      }
    } else if (ignoreCiphertext) {
      if (input.SourceKeyId === undefined) throw missingMember('sourceKeyId');
      const { key } = await ctx.useKey(input.SourceKeyId, 'ReEncrypt', sourceAccess(input));
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
        grantTokens: input.GrantTokens,
      });
    }
    const { key: destination } = await ctx.useKey(input.DestinationKeyId, 'ReEncrypt', {
      allowAlias: true,
      action: 'kms:ReEncryptTo',
      grantTokens: input.GrantTokens,
      conditions: encryptionConditions(
        input.DestinationEncryptionContext,
        input.DestinationEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
      ),
      encryptionContext: input.DestinationEncryptionContext,
    });
    requireKeyUsage(destination, 'ENCRYPT_DECRYPT', 'ReEncrypt');
    const asymmetric =
      destination.keySpec === 'SYMMETRIC_DEFAULT'
        ? undefined
        : checkAsymmetricEncryption(
            destination,
            input.DestinationEncryptionAlgorithm,
            input.DestinationEncryptionContext,
          );
    if (asymmetric === undefined) requireSymmetricEncryption(destination, 'ReEncrypt');
    const destinationAlgorithm =
      asymmetric?.algorithm ?? requireSymmetricAlgorithm(destination, input.DestinationEncryptionAlgorithm);
    finishDryRun(input.DryRun);
    if (source === undefined) throw missingMember('ciphertextBlob');
    const { plaintext, materialId: sourceMaterialId } = await source.decrypt();
    try {
      let ciphertext: Buffer;
      let materialId: string | undefined;
      if (asymmetric !== undefined) {
        checkPlaintextSize(destination, asymmetric, plaintext.length);
        ciphertext = await encryptAsymmetric(ctx.keys, destination, asymmetric, plaintext);
      } else {
        const sealed = await encryptSymmetric(ctx.keys, destination, plaintext, input.DestinationEncryptionContext);
        ciphertext = sealed.blob;
        materialId = sealed.materialId;
      }
      return {
        CiphertextBlob: ciphertext.toString('base64'),
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

/** How ReEncrypt's source parameters take part in authorization (kms:ReEncryptFrom). */
function sourceAccess(input: ReEncryptInput) {
  return {
    allowAlias: true,
    action: 'kms:ReEncryptFrom',
    grantTokens: input.GrantTokens,
    conditions: encryptionConditions(
      input.SourceEncryptionContext,
      input.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
    ),
    encryptionContext: input.SourceEncryptionContext,
  };
}
