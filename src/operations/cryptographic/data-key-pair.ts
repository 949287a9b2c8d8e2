import { generateKeyPairDer } from '../../crypto/key-generation.js';
import { UnsupportedOperationException } from '../../errors.js';
import type { EncryptionContext } from '../../keys/encryption-context.js';
import { keySpecEntry } from '../../keys/key-specs.js';
import { dataKeyPairConditions } from '../../keys/request-conditions.js';
import { encryptSymmetric } from '../../keys/symmetric.js';
import { blobOutput } from '../../wire/blob-output.js';
import {
  BooleanType,
  EncryptionContextType,
  enumOf,
  GrantTokenList,
  KEY_PAIR_SPECS,
  KeyIdType,
} from '../../wire/shapes.js';
import { type RequestContext, requireSymmetricEncryption } from '../context.js';
import { finishDryRun } from './dry-run.js';

export interface GenerateDataKeyPairInput {
  KeyId: string;
  KeyPairSpec: string;
  EncryptionContext?: EncryptionContext;
  GrantTokens?: string[];
  Recipient?: unknown;
  DryRun?: boolean;
}

export const dataKeyPairMembers = {
  KeyId: KeyIdType,
  KeyPairSpec: enumOf(KEY_PAIR_SPECS),
  EncryptionContext: EncryptionContextType,
  GrantTokens: GrantTokenList,
  DryRun: BooleanType,
};

/**
 * The shared body of GenerateDataKeyPair(WithoutPlaintext) (reference §4.18): a new key pair, the
 * private key as DER PKCS #8 encrypted under a symmetric KMS key exactly as Encrypt would (so
 * Decrypt with the same context returns it), the public key as DER SPKI.
 */
export async function generateDataKeyPair(
  ctx: RequestContext,
  input: GenerateDataKeyPairInput,
  operation: 'GenerateDataKeyPair' | 'GenerateDataKeyPairWithoutPlaintext',
) {
  const { key } = await ctx.useKey(input.KeyId, operation, {
    allowAlias: true,
    grantTokens: input.GrantTokens,
    conditions: dataKeyPairConditions(input.KeyPairSpec, input.EncryptionContext),
    encryptionContext: input.EncryptionContext,
  });
  requireSymmetricEncryption(key, operation);
  const generation = keySpecEntry(input.KeyPairSpec).generation;
  if (generation === undefined || generation.type === 'secret') {
    throw new UnsupportedOperationException(`KeyPairSpec ${input.KeyPairSpec} is not supported in this Region.`);
  }
  finishDryRun(input.DryRun);
  const pair = await generateKeyPairDer(generation);
  const { blob, materialId } = await encryptSymmetric(ctx.keys, key, pair.privateKey, input.EncryptionContext);
  return {
    privateKey: pair.privateKey,
    out: {
      PrivateKeyCiphertextBlob: blobOutput(blob),
      PublicKey: blobOutput(pair.publicKey),
      KeyId: key.arn,
      KeyPairSpec: input.KeyPairSpec,
      KeyMaterialId: materialId,
    },
  };
}
