import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { randomIv } from './iv-pool.js';

/** AES-256-GCM with a 96-bit random IV and a 128-bit tag (NIST SP 800-38D §8.2.2). */
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
export const KEY_LENGTH = 32;

/** Raw bytes, or a KeyObject that keeps the bytes inside OpenSSL (used for cached material). */
export type AesKey = Buffer | KeyObject;

export interface Sealed {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function seal(key: AesKey, plaintext: Buffer, aad: Buffer): Sealed {
  const iv = randomIv(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const ciphertext = joined(cipher.update(plaintext), cipher.final());
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

/** Returns the plaintext, or undefined when the tag does not verify (wrong key, data or AAD). */
export function open(key: AesKey, sealed: Sealed, aad: Buffer): Buffer | undefined {
  if (sealed.iv.length !== IV_LENGTH || sealed.tag.length !== TAG_LENGTH) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  try {
    return joined(decipher.update(sealed.ciphertext), decipher.final());
  } catch {
    return undefined;
  }
}

/**
 * GCM is a stream mode: `final` returns no bytes, and the output is `update`'s buffer as it is,
 * not a copy of it on the JavaScript pool (a new 8 KB pool every few requests otherwise). So the
 * caller holds the only copy of what `open` returns, and zeroing it (unwrapped key material, in
 * key-repository.ts) leaves no other: `update`'s buffer was a second, left to the GC.
 */
function joined(head: Buffer, tail: Buffer): Buffer {
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}
