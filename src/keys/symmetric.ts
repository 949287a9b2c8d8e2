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
  if (materialId === undefined) throw pendingImport(key);
  const header = blobHeader(key.arn, materialId);
  const aad = Buffer.concat([header, encodeEncryptionContext(context)]);
  const sealed = await keys.withMaterial(key, materialId, (material) => seal(material, plaintext, aad));
  if (sealed === undefined) throw pendingImport(key);
  return { blob: encodeBlob(header, sealed.iv, sealed.tag, sealed.ciphertext), materialId };
}

/** Any failure — unknown material, altered bytes, another context — is InvalidCiphertextException. */
export async function decryptSymmetric(
  keys: KeyRepository,
  key: KeyRecord,
  blob: CiphertextBlob,
  context: EncryptionContext | undefined,
): Promise<Buffer> {
  const aad = Buffer.concat([blob.header, encodeEncryptionContext(context)]);
  const opened = await keys.withMaterial(key, blob.materialId, (material) => ({
    plaintext: open(material, blob, aad),
  }));
  if (opened === undefined) throw new InvalidCiphertextException('', 'the blob names no backing key of its key');
  if (opened.plaintext === undefined) throw new InvalidCiphertextException('', 'authentication failed');
  return opened.plaintext;
}

function pendingImport(key: KeyRecord): KMSInvalidStateException {
  return new KMSInvalidStateException(`${key.arn} is pending import.`);
}
