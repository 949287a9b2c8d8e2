import {
  constants,
  createHash,
  type KeyObject,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { signOffLoop } from './off-loop.js';

/**
 * RSA primitives: RSASSA-PSS and RSASSA-PKCS1-v1_5 signatures (RFC 8017 §8), RSAES-OAEP (§7.1).
 *
 * A RAW message is hashed once, inside OpenSSL. A DIGEST is signed as given: Node's `sign` always
 * hashes, so the encoding step (EMSA-PKCS1-v1_5 §9.2 / EMSA-PSS §9.1) is done here and the RSA
 * private-key operation itself by OpenSSL (`privateEncrypt`). PSS salt length = hash length, MGF1
 * with the same hash, as AWS KMS uses.
 */
export type RsaHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';
export type RsaPadding = 'pss' | 'pkcs1';
export interface SignInput {
  kind: 'raw' | 'digest';
  bytes: Buffer;
}

export const HASH_LENGTH: Record<RsaHash, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

// DER of DigestInfo up to the digest octets (RFC 8017 §9.2, note 1).
const DIGEST_INFO: Record<RsaHash, Buffer> = {
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new Error('not an RSA key');
  return bits;
}

/**
 * A RAW message is signed on libuv's thread pool (off-loop.ts: 250 µs to 4 ms of private-key work
 * by modulus size). A DIGEST is signed inline: Node has no asynchronous `privateEncrypt`.
 */
export async function rsaSign(key: KeyObject, padding: RsaPadding, hash: RsaHash, input: SignInput): Promise<Buffer> {
  if (input.kind === 'raw') {
    return signOffLoop(hash, input.bytes, {
      key,
      padding: padding === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
      saltLength: HASH_LENGTH[hash],
    });
  }
  if (padding === 'pkcs1') {
    return privateEncrypt(
      { key, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([DIGEST_INFO[hash], input.bytes]),
    );
  }
  const bits = modulusBits(key);
  const em = emsaPssEncode(hash, input.bytes, bits - 1);
  return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, leftPad(em, Math.ceil(bits / 8)));
}

/** True when `signature` is valid; any malformed signature is simply invalid. */
export function rsaVerify(
  key: KeyObject,
  padding: RsaPadding,
  hash: RsaHash,
  input: SignInput,
  signature: Buffer,
): boolean {
  const bits = modulusBits(key);
  if (signature.length !== Math.ceil(bits / 8)) return false;
  try {
    if (input.kind === 'raw') {
      return verify(
        hash,
        input.bytes,
        {
          key,
          padding: padding === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
          saltLength: HASH_LENGTH[hash],
        },
        signature,
      );
    }
    if (padding === 'pkcs1') {
      const expected = Buffer.concat([DIGEST_INFO[hash], input.bytes]);
      const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.length === expected.length && timingSafeEqual(recovered, expected);
    }
    const em = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
    return emsaPssVerify(hash, input.bytes, em, bits - 1);
  } catch {
    return false;
  }
}

/** Largest OAEP plaintext: k − 2·hLen − 2 bytes (RFC 8017 §7.1.1). */
export function oaepMaxPlaintext(key: KeyObject, hash: RsaHash): number {
  return Math.ceil(modulusBits(key) / 8) - 2 * HASH_LENGTH[hash] - 2;
}

/** RSAES-OAEP with MGF1 over the same hash and an empty label. */
export function oaepEncrypt(key: KeyObject, hash: RsaHash, plaintext: Buffer): Buffer {
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext);
}

/** The plaintext, or undefined when the ciphertext does not decrypt. */
export function oaepDecrypt(key: KeyObject, hash: RsaHash, ciphertext: Buffer): Buffer | undefined {
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ciphertext);
  } catch {
    return undefined;
  }
}

// --- EMSA-PSS (RFC 8017 §9.1) ---------------------------------------------------------------------

function mgf1(hash: RsaHash, seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0, have = 0; have < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function pssHash(hash: RsaHash, mHash: Buffer, salt: Buffer): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
}

function emsaPssEncode(hash: RsaHash, mHash: Buffer, emBits: number): Buffer {
  const hLen = HASH_LENGTH[hash];
  const sLen = hLen;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(sLen);
  const h = pssHash(hash, mHash, salt);
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - sLen - hLen - 2] = 0x01;
  salt.copy(db, emLen - sLen - hLen - 1);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  return Buffer.concat([db, h, Buffer.of(0xbc)]);
}

function emsaPssVerify(hash: RsaHash, mHash: Buffer, decrypted: Buffer, emBits: number): boolean {
  const hLen = HASH_LENGTH[hash];
  const sLen = hLen;
  const emLen = Math.ceil(emBits / 8);
  // The RSA output has k bytes; when emLen < k its leading byte must be zero.
  const extra = decrypted.length - emLen;
  for (let i = 0; i < extra; i++) if (decrypted[i] !== 0) return false;
  const em = decrypted.subarray(extra);
  if (emLen < hLen + sLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const topMask = 0xff >> (8 * emLen - emBits);
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  if (((db[0] as number) & ~topMask) !== 0) return false;
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & topMask;
  const separator = emLen - hLen - sLen - 2;
  for (let i = 0; i < separator; i++) if (db[i] !== 0) return false;
  if (db[separator] !== 0x01) return false;
  const expected = pssHash(hash, mHash, db.subarray(db.length - sLen));
  return timingSafeEqual(expected, h);
}

function leftPad(bytes: Buffer, length: number): Buffer {
  return bytes.length >= length ? bytes : Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}
