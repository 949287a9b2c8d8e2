import { type KeyObject, sign, verify } from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519.js';

/**
 * Ed25519 (RFC 8032 §5.1) and Ed25519ph (§5.1, phflag = 1, empty context; FIPS 186-5 §7.8.1).
 *
 * Pure Ed25519 runs in OpenSSL. OpenSSL 3.0 (Node 20) has no Ed25519ph, so it comes from
 * @noble/curves; the key stays an OpenSSL KeyObject and its 32-byte seed is exported only for the
 * call and zeroed after.
 */
export function ed25519Sign(key: KeyObject, message: Buffer): Buffer {
  return sign(null, message, key);
}

export function ed25519Verify(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  try {
    return signature.length === 64 && verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Ed25519ph: `message` is hashed with SHA-512 (the PH step) and signed with dom2(1, ""). */
export function ed25519phSign(key: KeyObject, message: Buffer): Buffer {
  const seed = jwkBytes(key, 'd');
  try {
    return Buffer.from(ed25519ph.sign(message, seed));
  } finally {
    seed.fill(0);
  }
}

export function ed25519phVerify(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  try {
    return signature.length === 64 && ed25519ph.verify(signature, message, jwkBytes(key, 'x'));
  } catch {
    return false;
  }
}

function jwkBytes(key: KeyObject, member: 'd' | 'x'): Buffer {
  const value = (key.export({ format: 'jwk' }) as Record<string, string | undefined>)[member];
  if (value === undefined) throw new Error(`Ed25519 key has no ${member}`);
  return Buffer.from(value, 'base64url');
}
