import { type KeyObject, sign, verify } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { signOffLoop, verifyOffLoop } from './off-loop.js';

/**
 * ECDSA (FIPS 186-5 §6) with DER `ECDSA-Sig-Value` signatures (RFC 3279 §2.2.3).
 *
 * A RAW message is hashed once and signed inside OpenSSL. Node has no way to sign a digest that
 * is already hashed (its `sign` always hashes), so a DIGEST is signed with @noble/curves
 * (audited, RFC 6979 deterministic nonces) with `prehash: false`.
 */
export type EcCurve = 'P-256' | 'P-384' | 'P-521' | 'secp256k1';
export type EcHash = 'sha256' | 'sha384' | 'sha512';
export interface EcInput {
  kind: 'raw' | 'digest';
  bytes: Buffer;
}

const NOBLE = { 'P-256': p256, 'P-384': p384, 'P-521': p521, secp256k1 } as const;

/**
 * P-256 signs and verifies inline (~26 and ~66 µs); the other curves, 330 µs to ~1.9 ms an
 * operation, on libuv's thread pool (off-loop.ts).
 */
const INLINE_CURVES: ReadonlySet<EcCurve> = new Set(['P-256']);

export async function ecdsaSign(key: KeyObject, curve: EcCurve, hash: EcHash, input: EcInput): Promise<Buffer> {
  if (input.kind === 'raw') {
    return INLINE_CURVES.has(curve)
      ? sign(hash, input.bytes, { key, dsaEncoding: 'der' })
      : signOffLoop(hash, input.bytes, { key, dsaEncoding: 'der' });
  }
  const d = jwkBytes(key, 'd');
  try {
    return Buffer.from(NOBLE[curve].sign(input.bytes, d, { prehash: false, format: 'der', lowS: false }));
  } finally {
    d.fill(0);
  }
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
