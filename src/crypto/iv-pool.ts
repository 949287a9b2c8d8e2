import { randomFillSync } from 'node:crypto';

/**
 * Fresh random IVs, cut from a pool of CSPRNG output refilled 4 KiB at a time. Each
 * `randomBytes(12)` is a call into OpenSSL's DRBG (about 5 µs each on the bench VM, a twentieth of
 * Encrypt's own work); a slice of the pool costs a copy. Every byte is handed out once. Only for
 * values that are public anyway (IVs travel in the ciphertext): secrets — data keys, key material —
 * still come from randomBytes and never sit in a shared buffer.
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

export function randomIv(length: number): Buffer {
  if (length > POOL_SIZE) throw new RangeError(`an IV of ${length} bytes is longer than the pool`);
  if (offset + length > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const iv = Buffer.from(pool.subarray(offset, offset + length));
  offset += length;
  return iv;
}
