import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { offThread } from '../crypto/crypto-threads.js';
import { keySpecEntry } from './key-specs.js';

/**
 * The in-memory form of unwrapped material, per the key-spec table: a secret KeyObject (AES and
 * HMAC keys), a private KeyObject from PKCS #8 DER (RSA, ECC, Ed25519), or — for ML-DSA, which
 * OpenSSL 3.0 cannot hold — a secret KeyObject with the FIPS 204 secret key expanded from the
 * stored 32-byte seed (so each Sign skips the expansion; the expansion itself, 2–3 ms, on a crypto
 * thread). `bytes` stay the caller's to zero.
 */
export async function loadMaterial(keySpec: string, bytes: Buffer): Promise<KeyObject> {
  const entry = keySpecEntry(keySpec);
  switch (entry.material) {
    case 'secret':
      return loadSecret(bytes);
    case 'pkcs8':
      return createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
    case 'ml-dsa-seed':
      return offThread('mlDsaLoad', entry.mlDsa as 44 | 65 | 87, createSecretKey(bytes));
  }
}

/** Whether a spec's material is secret bytes (AES, HMAC), loaded at once by `loadSecret`. */
export function isSecretMaterial(keySpec: string): boolean {
  return keySpecEntry(keySpec).material === 'secret';
}

/** The KeyObject of secret material, made before this returns: `bytes` may be zeroed right after. */
export function loadSecret(bytes: Buffer): KeyObject {
  return createSecretKey(bytes);
}

/** DER SubjectPublicKeyInfo of an asymmetric key's loaded material (ML-DSA's on a crypto thread). */
export async function publicKeyDer(keySpec: string, material: KeyObject): Promise<Buffer> {
  const entry = keySpecEntry(keySpec);
  if (entry.mlDsa !== undefined) return offThread('mlDsaSpkiOf', entry.mlDsa, material);
  return createPublicKey(material).export({ format: 'der', type: 'spki' });
}
