import { hash } from 'node:crypto';
import type { Linker } from '../storage/audit-log.js';

const HASH_BYTES = 32;

/**
 * The hash's input, reused for records up to its size (it is hashed at once and not kept): a fresh
 * Buffer for each took a record's size, about a kilobyte, from Node's pool — a new 8 KB pool, an
 * ArrayBuffer of its own, every eighth record. Larger records (a key policy's text) get their own.
 */
const SCRATCH_BYTES = 16 * 1024;
const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);

/**
 * The hash chain (docs/audit.md): hash(n) = SHA-256(prevHash(n) as 32 raw bytes ‖ UTF-8 canonical
 * text of record n), hex. The first record's prevHash is 64 zeros (GENESIS_HASH).
 *
 * One-shot over one buffer rather than `createHash`, whose native object per record is freed only
 * in a garbage-collection pause (HmacSha256, src/crypto/hmac-sha256.ts).
 */
export const linkRecord: Linker = (previousHash, recordText) => {
  const length = Buffer.byteLength(recordText, 'utf8');
  const input =
    HASH_BYTES + length <= SCRATCH_BYTES
      ? scratch.subarray(0, HASH_BYTES + length)
      : Buffer.allocUnsafe(HASH_BYTES + length);
  const prevBytes = previousHash.length === 2 * HASH_BYTES ? input.write(previousHash, 0, HASH_BYTES, 'hex') : 0;
  if (prevBytes !== HASH_BYTES) {
    // Not 64 hex digits (a damaged log being verified): hash the bytes the hex decodes to, as
    // Buffer.from does, so that verification reports a broken link instead of throwing.
    return hash('sha256', Buffer.concat([Buffer.from(previousHash, 'hex'), Buffer.from(recordText, 'utf8')]), 'hex');
  }
  input.write(recordText, HASH_BYTES, length, 'utf8');
  return hash('sha256', input, 'hex');
};
