import { randomBytes } from 'node:crypto';
import { ValidationException } from '../../errors.js';
import type { EncryptionContext } from '../../keys/encryption-context.js';
import { encryptionConditions } from '../../keys/request-conditions.js';
import { encryptSymmetric } from '../../keys/symmetric.js';
import { blobOutput } from '../../wire/blob-output.js';
import {
  BooleanType,
  DATA_KEY_SPECS,
  EncryptionContextType,
  enumOf,
  GrantTokenList,
  KeyIdType,
  NumberOfBytesType,
} from '../../wire/shapes.js';
import { type RequestContext, requireSymmetricEncryption } from '../context.js';
import { finishDryRun } from './dry-run.js';

export interface GenerateDataKeyInput {
  KeyId: string;
  EncryptionContext?: EncryptionContext;
  NumberOfBytes?: number;
  KeySpec?: 'AES_256' | 'AES_128';
  GrantTokens?: string[];
  Recipient?: unknown;
  DryRun?: boolean;
}

const DATA_KEY_BYTES = { AES_128: 16, AES_256: 32 } as const;

export const dataKeyMembers = {
  KeyId: KeyIdType,
  EncryptionContext: EncryptionContextType,
  NumberOfBytes: NumberOfBytesType,
  KeySpec: enumOf(DATA_KEY_SPECS),
  GrantTokens: GrantTokenList,
  DryRun: BooleanType,
};

/**
 * The shared body of GenerateDataKey and GenerateDataKeyWithoutPlaintext: a random data key,
 * encrypted exactly as Encrypt would (reference §2.3).
 */
export async function generateDataKey(
  ctx: RequestContext,
  input: GenerateDataKeyInput,
  operation: 'GenerateDataKey' | 'GenerateDataKeyWithoutPlaintext',
) {
  const { key } = await ctx.useKey(input.KeyId, operation, {
    allowAlias: true,
    grantTokens: input.GrantTokens,
    // Data-key operations: the algorithm that encrypts the data key (reference §4.10).
    conditions: encryptionConditions(input.EncryptionContext, 'SYMMETRIC_DEFAULT'),
    encryptionContext: input.EncryptionContext,
  });
  requireSymmetricEncryption(key, operation);
  const length = dataKeyLength(input);
  finishDryRun(input.DryRun);
  const plaintext = randomBytes(length);
  const { blob, materialId } = await encryptSymmetric(ctx.keys, key, plaintext, input.EncryptionContext);
  return { plaintext, out: { CiphertextBlob: blobOutput(blob), KeyId: key.arn, KeyMaterialId: materialId } };
}

/** Exactly one of KeySpec and NumberOfBytes (reference §4.4). */
function dataKeyLength(input: GenerateDataKeyInput): number {
  if ((input.KeySpec === undefined) === (input.NumberOfBytes === undefined)) {
    throw new ValidationException('Please specify either number of bytes or key spec.');
  }
  return input.KeySpec === undefined ? (input.NumberOfBytes as number) : DATA_KEY_BYTES[input.KeySpec];
}
