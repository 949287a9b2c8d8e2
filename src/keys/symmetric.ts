import { open, seal } from '../crypto/aes-gcm.js';
import { InvalidCiphertextException, KMSInvalidStateException } from '../errors.js';
import type { KeyRecord } from '../storage/records.js';
import { blobHeader, type CiphertextBlob, encodeBlob } from './ciphertext-blob.js';
import { type EncryptionContext, encodeEncryptionContext } from './encryption-context.js';
import type { KeyRepository } from './key-repository.js';

/**
 * Symmetric encryption under a KMS key's current backing key, and decryption under the backing key
 * a blob names. AES-256-GCM; the blob header and the canonical encryption context are the
 * associated data (see ciphertext-blob.ts).
 */
export interface SymmetricCiphertext {
  blob: Buffer;
  materialId: string;
}

export async function encryptSymmetric(
  keys: KeyRepository,
  key: KeyRecord,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
): Promise<SymmetricCiphertext> {
  const materialId = key.currentMaterialId;
  const material = materialId === undefined ? undefined : await keys.material(key, materialId);
  if (materialId === undefined || material === undefined) {
    throw new KMSInvalidStateException(`${key.arn} is pending import.`);
  }
  const header = blobHeader(key.arn, materialId);
  const sealed = seal(material, plaintext, Buffer.concat([header, encodeEncryptionContext(context)]));
  return { blob: encodeBlob(header, sealed.iv, sealed.tag, sealed.ciphertext), materialId };
}

/** Any failure — unknown material, altered bytes, another context — is InvalidCiphertextException. */
export async function decryptSymmetric(
  keys: KeyRepository,
  key: KeyRecord,
  blob: CiphertextBlob,
  context: EncryptionContext | undefined,
): Promise<Buffer> {
  const material = await keys.material(key, blob.materialId);
  if (material === undefined) throw new InvalidCiphertextException('', 'the blob names no backing key of its key');
  const plaintext = open(material, blob, Buffer.concat([blob.header, encodeEncryptionContext(context)]));
  if (plaintext === undefined) throw new InvalidCiphertextException('', 'authentication failed');
  return plaintext;
}
