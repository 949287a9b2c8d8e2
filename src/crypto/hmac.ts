import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';

/** HMAC (RFC 2104) with a SHA-2 hash; the full, untruncated tag. */
export type HmacHash = 'sha224' | 'sha256' | 'sha384' | 'sha512';

export function hmac(key: KeyObject, hash: HmacHash, message: Buffer): Buffer {
  return createHmac(hash, key).update(message).digest();
}

/** Constant-time comparison of `tag` with the HMAC of `message`. */
export function hmacVerify(key: KeyObject, hash: HmacHash, message: Buffer, tag: Buffer): boolean {
  const expected = hmac(key, hash, message);
  return tag.length === expected.length && timingSafeEqual(tag, expected);
}
