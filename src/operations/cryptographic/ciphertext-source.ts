import { AccessDeniedException, IncorrectKeyException } from '../../errors.js';
import { decodeBlob } from '../../keys/ciphertext-blob.js';
import type { EncryptionContext } from '../../keys/encryption-context.js';
import { decryptSymmetric } from '../../keys/symmetric.js';
import type { Conditions } from '../../policy/kms-authorizer.js';
import type { KeyRecord } from '../../storage/records.js';
import { type RequestContext, requireSymmetricEncryption } from '../context.js';
import { requireSymmetricAlgorithm } from './encryption-algorithm.js';

/**
 * Opening a symmetric ciphertext for Decrypt and ReEncrypt, in the order of reference §4.6: parse
 * the blob, find the key it names, compare with the KeyId the caller gave (IncorrectKey),
 * authorize, check the state and the algorithm. Decryption itself is a separate step so that a
 * DryRun can stop before it.
 */
export interface OpenedCiphertext {
  key: KeyRecord;
  algorithm: string;
  /** The material id is known for symmetric ciphertexts only. */
  decrypt(): Promise<{ plaintext: Buffer; materialId?: string }>;
}

// AWS answers a blob whose key the caller cannot see — missing, elsewhere, or not theirs — with
// this one message, so that the answer reveals nothing about other accounts' keys.
const INACCESSIBLE =
  'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.';

export async function openCiphertext(
  ctx: RequestContext,
  request: {
    blob: Buffer;
    keyId: string | undefined;
    context: EncryptionContext | undefined;
    algorithm: string | undefined;
    operation: 'Decrypt' | 'ReEncrypt';
    action: string;
    /** The request's condition keys, given the key the blob names. */
    conditions: (key: KeyRecord) => Conditions;
    grantTokens?: string[] | undefined;
  },
): Promise<OpenedCiphertext> {
  const blob = decodeBlob(request.blob);
  const key = await ctx.keys.get(blob.keyArn);
  if (request.keyId !== undefined) {
    const named = await ctx.keys.resolve(ctx, request.keyId, true);
    if (named.key.arn !== blob.keyArn) {
      throw new IncorrectKeyException(
        'The key ID in the request does not identify a CMK that can perform this operation.',
      );
    }
  }
  if (key === undefined || key.region !== ctx.region) throw new AccessDeniedException(INACCESSIBLE, blob.keyArn);
  await ctx.authorize(request.action, key, {
    conditions: request.conditions(key),
    encryptionContext: request.context,
    grantTokens: request.grantTokens,
  });
  ctx.checkKeyState(request.operation, key);
  requireSymmetricEncryption(key, request.operation);
  const algorithm = requireSymmetricAlgorithm(key, request.algorithm);
  return {
    key,
    algorithm,
    async decrypt() {
      const plaintext = await decryptSymmetric(ctx.keys, key, blob, request.context);
      return { plaintext, materialId: blob.materialId };
    },
  };
}
