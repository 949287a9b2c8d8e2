import { NotFoundException } from '../../errors.js';
import {
  checkAsymmetricEncryption,
  checkPlaintextSize,
  decryptAsymmetric,
  encryptAsymmetric,
} from '../../keys/asymmetric-encryption.js';
import type { EncryptionContext } from '../../keys/encryption-context.js';
import { requireKeyUsage } from '../../keys/key-usage.js';
import { reEncryptConditions } from '../../keys/request-conditions.js';
import { encryptSymmetric } from '../../keys/symmetric.js';
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
  structure,
} from '../../wire/shapes.js';
import { missingMember } from '../../wire/validate.js';
import { type RequestContext, requireSymmetricEncryption } from '../context.js';
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
    // kms:ReEncryptOnSameKey on the source side needs the destination first; its own errors come
    // in their turn, when it is used.
    const destinationArn = await peekKeyArn(ctx, input.DestinationKeyId);
    let source: OpenedCiphertext | undefined;
    let sourceKeyArn: string | undefined;
    // An RSA source ciphertext carries no metadata: SourceKeyId names it (reference §4.6).
    const named =
      isAsymmetricAlgorithm(input.SourceEncryptionAlgorithm) && input.SourceKeyId !== undefined
        ? (await ctx.useKey(input.SourceKeyId, 'ReEncrypt', await sourceAccess(ctx, input, destinationArn))).key
        : undefined;
    if (named !== undefined && named.keySpec !== 'SYMMETRIC_DEFAULT') {
      const key = named;
      sourceKeyArn = key.arn;
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
      const { key } = await ctx.useKey(input.SourceKeyId, 'ReEncrypt', await sourceAccess(ctx, input, destinationArn));
      sourceKeyArn = key.arn;
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
        conditions: (key) =>
          reEncryptConditions(
            input.SourceEncryptionContext,
            input.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
            key.arn === destinationArn,
          ),
        grantTokens: input.GrantTokens,
      });
      sourceKeyArn = source.key.arn;
    }
    const { key: destination } = await ctx.useKey(input.DestinationKeyId, 'ReEncrypt', {
      allowAlias: true,
      action: 'kms:ReEncryptTo',
      grantTokens: input.GrantTokens,
      conditions: reEncryptConditions(
        input.DestinationEncryptionContext,
        input.DestinationEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
        sourceKeyArn !== undefined && sourceKeyArn === destinationArn,
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
        CiphertextBlob: blobOutput(ciphertext),
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

/**
 * How ReEncrypt's source parameters take part in authorization (kms:ReEncryptFrom), when
 * SourceKeyId names the source key.
 */
async function sourceAccess(ctx: RequestContext, input: ReEncryptInput, destinationArn: string | undefined) {
  const sourceArn = await peekKeyArn(ctx, input.SourceKeyId);
  return {
    allowAlias: true,
    action: 'kms:ReEncryptFrom',
    grantTokens: input.GrantTokens,
    conditions: reEncryptConditions(
      input.SourceEncryptionContext,
      input.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
      sourceArn !== undefined && sourceArn === destinationArn,
    ),
    encryptionContext: input.SourceEncryptionContext,
  };
}

/** The ARN of the key an identifier names, or undefined when there is none (its error comes later). */
async function peekKeyArn(ctx: RequestContext, identifier: string | undefined): Promise<string | undefined> {
  if (identifier === undefined) return undefined;
  try {
    return (await ctx.keys.resolve(ctx, identifier, true)).key.arn;
  } catch (err) {
    if (err instanceof NotFoundException) return undefined;
    throw err;
  }
}
