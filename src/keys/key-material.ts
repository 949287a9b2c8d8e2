import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { mlDsaExpand, mlDsaPublicKey, mlDsaSpki } from '../crypto/ml-dsa.js';
import { keySpecEntry } from './key-specs.js';

/**
 * The in-memory form of unwrapped material, per the key-spec table: a secret KeyObject (AES and
 * HMAC keys), a private KeyObject from PKCS #8 DER (RSA, ECC, Ed25519), or — for ML-DSA, which
 * OpenSSL 3.0 cannot hold — a secret KeyObject with the FIPS 204 secret key expanded from the
 * stored 32-byte seed (so each Sign skips the expansion). `bytes` stay the caller's to zero.
 */
export function loadMaterial(keySpec: string, bytes: Buffer): KeyObject {
  const entry = keySpecEntry(keySpec);
  switch (entry.material) {
    case 'secret':
      return createSecretKey(bytes);
    case 'pkcs8':
      return createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
    case 'ml-dsa-seed': {
      const { secretKey } = mlDsaExpand(entry.mlDsa as 44 | 65 | 87, bytes);
      try {
        return createSecretKey(secretKey);
      } finally {
        secretKey.fill(0);
      }
    }
  }
}

/** DER SubjectPublicKeyInfo of an asymmetric key's loaded material. */
export function publicKeyDer(keySpec: string, material: KeyObject): Buffer {
  const entry = keySpecEntry(keySpec);
  if (entry.mlDsa !== undefined) {
    const secretKey = material.export();
    try {
      return mlDsaSpki(entry.mlDsa, mlDsaPublicKey(entry.mlDsa, secretKey));
    } finally {
      secretKey.fill(0);
    }
  }
  return createPublicKey(material).export({ format: 'der', type: 'spki' });
}
