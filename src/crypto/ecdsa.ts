import { createECDH, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { signOffLoop, verifyOffLoop } from './off-loop.js';

/**
 * ECDSA (FIPS 186-5 §6) with DER `ECDSA-Sig-Value` signatures (RFC 3279 §2.2.3).
 *
 * A RAW message is hashed once and signed inside OpenSSL. Node has no way to sign a digest that
 * is already hashed (its `sign` always hashes): a DIGEST is signed by `signDigest`, below, and
 * verified with @noble/curves (`prehash: false`).
 */
export type EcCurve = 'P-256' | 'P-384' | 'P-521' | 'secp256k1';
export type EcHash = 'sha256' | 'sha384' | 'sha512';
export interface EcInput {
  kind: 'raw' | 'digest';
  bytes: Buffer;
}

const NOBLE = { 'P-256': p256, 'P-384': p384, 'P-521': p521, secp256k1 } as const;
/** OpenSSL's names of the curves, for `createECDH`. */
const OPENSSL_CURVE = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
  secp256k1: 'secp256k1',
} as const satisfies Record<EcCurve, string>;

/**
 * P-256 signs and verifies inline (RAW ~26 and ~66 µs, a DIGEST signed ~60); the other curves, 290
 * µs to ~1.9 ms an operation, off the event loop: RAW on libuv's thread pool (off-loop.ts), a
 * DIGEST on the crypto threads (keys/signing.ts decides, by this set).
 */
export const INLINE_CURVES: ReadonlySet<EcCurve> = new Set(['P-256']);

export async function ecdsaSign(key: KeyObject, curve: EcCurve, hash: EcHash, input: EcInput): Promise<Buffer> {
  if (input.kind === 'raw') {
    return INLINE_CURVES.has(curve)
      ? sign(hash, input.bytes, { key, dsaEncoding: 'der' })
      : signOffLoop(hash, input.bytes, { key, dsaEncoding: 'der' });
  }
  const d = jwkBytes(key, 'd');
  try {
    return signDigest(curve, d, input.bytes);
  } finally {
    d.fill(0);
  }
}

/**
 * ECDSA's signing equation (FIPS 186-5 §6.4.1) over a digest, with the nonce's point k·G computed
 * by OpenSSL (`createECDH`, whose scalar multiplication is constant-time) and the rest in BigInt
 * arithmetic mod n. @noble/curves, which signed DIGESTs before, multiplies points in BigInts too:
 * alone, a P-256 signature cost ~550 µs there against ~60 µs here (docs/performance-log.md,
 * twenty-second session); P-384 ~880 against ~570, secp256k1 ~410 against ~290, P-521 alike.
 *
 * The nonce is random, as AWS KMS's ECDSA signatures are: k = (c mod (n − 1)) + 1 with c of 128
 * bits more than n (the extra-random-bits method of FIPS 186-5 A.3.1), so its bias is below
 * 2^-128. k is inverted blinded — (k·u)⁻¹·u for a random u — so that the time the inversion takes
 * depends on a value independent of k. A zero r or s, which has probability ~2^-256, takes a new
 * nonce.
 */
function signDigest(curve: EcCurve, d: Buffer, digest: Buffer): Buffer {
  const noble = NOBLE[curve];
  const Fn = noble.Point.Fn;
  const { ORDER: n, BYTES: size, BITS: bits } = Fn;
  // bits2int: the digest's leftmost bits, as many as the order has (every KMS pairing of a curve
  // and a digest has no more, but the rule costs nothing).
  let e = bytesToNumberBE(digest);
  if (digest.length * 8 > bits) e >>= BigInt(digest.length * 8 - bits);
  const x = bytesToNumberBE(d);
  for (;;) {
    const k = randomBelow(n, size);
    const ecdh = createECDH(OPENSSL_CURVE[curve]);
    const kBytes = numberToBytesBE(k, size);
    ecdh.setPrivateKey(kBytes);
    // The nonce gives the key away with the signature: its bytes go as soon as OpenSSL has them
    // (the BigInts, like @noble's, live until the garbage collector takes them).
    kBytes.fill(0);
    // Uncompressed point: 0x04 ‖ X ‖ Y, each `size` bytes.
    const r = bytesToNumberBE(ecdh.getPublicKey().subarray(1, 1 + size)) % n;
    if (r === 0n) continue;
    const u = randomBelow(n, size);
    const kInverse = (Fn.inv((k * u) % n) * u) % n;
    const s = (kInverse * ((e + r * x) % n)) % n;
    if (s === 0n) continue;
    return Buffer.from(new noble.Signature(r, s).toBytes('der'));
  }
}

/** Uniform enough in [1, n − 1]: 128 random bits more than n, reduced. */
function randomBelow(n: bigint, size: number): bigint {
  const bytes = randomBytes(size + 16);
  const value = (bytesToNumberBE(bytes) % (n - 1n)) + 1n;
  bytes.fill(0);
  return value;
}

/** True when the signature is valid; malformed signatures are invalid. High-S is accepted. */
export async function ecdsaVerify(
  key: KeyObject,
  curve: EcCurve,
  hash: EcHash,
  input: EcInput,
  signature: Buffer,
): Promise<boolean> {
  if (input.kind === 'raw' && !INLINE_CURVES.has(curve)) {
    return verifyOffLoop(hash, input.bytes, { key, dsaEncoding: 'der' }, signature);
  }
  try {
    if (input.kind === 'raw') return verify(hash, input.bytes, { key, dsaEncoding: 'der' }, signature);
    const point = Buffer.concat([Buffer.of(0x04), jwkBytes(key, 'x'), jwkBytes(key, 'y')]);
    return NOBLE[curve].verify(signature, input.bytes, point, { prehash: false, format: 'der', lowS: false });
  } catch {
    return false;
  }
}

function jwkBytes(key: KeyObject, member: 'd' | 'x' | 'y'): Buffer {
  const value = (key.export({ format: 'jwk' }) as Record<string, string | undefined>)[member];
  if (value === undefined) throw new Error(`EC key has no ${member}`);
  return Buffer.from(value, 'base64url');
}
