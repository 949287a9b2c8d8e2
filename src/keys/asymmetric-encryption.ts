import { offThread } from '../crypto/crypto-threads.js';
import { oaepEncrypt } from '../crypto/rsa.js';
import { InvalidCiphertextException, ValidationException } from '../errors.js';
import type { KeyRecord } from '../storage/records.js';
import type { EncryptionContext } from './encryption-context.js';
import type { KeyRepository } from './key-repository.js';
import { ENCRYPTION_HASHES, keySpecEntry } from './key-specs.js';
import { requireAlgorithm } from './key-usage.js';
import { currentMaterial } from './signing.js';

/**
 * Encryption under an RSA KMS key (RSAES-OAEP, reference §4.4, §4.6): the ciphertext is the raw
 * OAEP output, with no metadata, so Decrypt needs the KeyId and the algorithm.
 */
export interface AsymmetricEncryption {
  algorithm: string;
  hash: 'sha1' | 'sha256';
}

/**
 * The checks before any cryptography: an algorithm the key offers (a missing one is
 * SYMMETRIC_DEFAULT, which no RSA key offers), and no encryption context (§4.5; an empty map is
 * the same as none).
 */
export function checkAsymmetricEncryption(
  key: KeyRecord,
  algorithm: string | undefined,
  context: EncryptionContext | undefined,
): AsymmetricEncryption {
  const name = algorithm ?? 'SYMMETRIC_DEFAULT';
  requireAlgorithm(key, name);
  if (context !== undefined && Object.keys(context).length > 0) {
    throw new ValidationException('EncryptionContext is not supported with asymmetric KMS keys.');
  }
  const hash = ENCRYPTION_HASHES[name];
  if (hash === undefined) throw new ValidationException(`Algorithm ${name} is not supported.`);
  return { algorithm: name, hash: hash as 'sha1' | 'sha256' };
}

/** AWS's per-spec OAEP limit: k − 2·hLen − 2 bytes (Appendix A wording). */
export function checkPlaintextSize(key: KeyRecord, encryption: AsymmetricEncryption, length: number): void {
  const generation = keySpecEntry(key.keySpec).generation;
  const bits = generation?.type === 'rsa' ? generation.bits : 0;
  const max = bits / 8 - 2 * (encryption.hash === 'sha1' ? 20 : 32) - 2;
  if (length > max) {
    throw new ValidationException(
      `Algorithm ${encryption.algorithm} and key spec ${key.keySpec} cannot encrypt data larger than ${max} bytes.`,
    );
  }
}

export async function encryptAsymmetric(
  keys: KeyRepository,
  key: KeyRecord,
  encryption: AsymmetricEncryption,
  plaintext: Buffer,
): Promise<Buffer> {
  return oaepEncrypt(await currentMaterial(keys, key), encryption.hash, plaintext);
}

export async function decryptAsymmetric(
  keys: KeyRepository,
  key: KeyRecord,
  encryption: AsymmetricEncryption,
  ciphertext: Buffer,
): Promise<Buffer> {
  // The RSA private-key operation: 250 µs (RSA-2048) to 4 ms (RSA-4096), on a crypto thread.
  const plaintext = await offThread('oaepDecrypt', await currentMaterial(keys, key), encryption.hash, ciphertext);
  if (plaintext === undefined) throw new InvalidCiphertextException('', 'OAEP decryption failed');
  return plaintext;
}
