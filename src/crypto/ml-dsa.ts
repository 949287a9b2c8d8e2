import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';

/**
 * ML-DSA (FIPS 204) from @noble/post-quantum: Node 20's OpenSSL 3.0 has no ML-DSA.
 *
 * A key is kept as its 32-byte seed ξ (FIPS 204 Algorithm 1); `mlDsaExpand` derives the key pair.
 * RAW messages use the pure form with an empty context (Algorithm 2, M′ = 0 ‖ 0 ‖ M); EXTERNAL_MU
 * takes the 64-byte μ = H(tr ‖ M′) computed by the caller (§6.2, Algorithm 7 step 6 onwards).
 */
export type MlDsaLevel = 44 | 65 | 87;
export interface MlDsaInput {
  kind: 'raw' | 'mu';
  bytes: Buffer;
}

const IMPL = { 44: ml_dsa44, 65: ml_dsa65, 87: ml_dsa87 } as const;
export const ML_DSA_SEED_LENGTH = 32;
export const ML_DSA_MU_LENGTH = 64;

// id-ml-dsa-44/65/87: 2.16.840.1.101.3.4.3.17/18/19 (NIST CSOR; RFC 9881 §2: parameters absent).
const OID_PREFIX = Buffer.from('0609608648016503040311', 'hex').subarray(0, 10);
const OID_ARC: Record<MlDsaLevel, number> = { 44: 0x11, 65: 0x12, 87: 0x13 };

export function mlDsaExpand(level: MlDsaLevel, seed: Buffer): { secretKey: Uint8Array; publicKey: Uint8Array } {
  return IMPL[level].keygen(seed);
}

export function mlDsaPublicKey(level: MlDsaLevel, secretKey: Uint8Array): Uint8Array {
  return IMPL[level].getPublicKey(secretKey);
}

/**
 * Signs hedged: `rnd` (FIPS 204 Algorithm 2/7) is 32 fresh random bytes unless given. Only the
 * known-answer tests pass it (32 zero bytes is the deterministic variant of §3.4).
 */
export function mlDsaSign(level: MlDsaLevel, secretKey: Uint8Array, input: MlDsaInput, rnd?: Uint8Array): Buffer {
  const impl = IMPL[level];
  const sig =
    input.kind === 'raw'
      ? impl.sign(input.bytes, secretKey, { extraEntropy: rnd })
      : impl.internal.sign(input.bytes, secretKey, { externalMu: true, extraEntropy: rnd });
  return Buffer.from(sig);
}

export function mlDsaVerify(level: MlDsaLevel, publicKey: Uint8Array, input: MlDsaInput, signature: Buffer): boolean {
  const impl = IMPL[level];
  try {
    if (signature.length !== impl.lengths.signature) return false;
    return input.kind === 'raw'
      ? impl.verify(signature, input.bytes, publicKey)
      : impl.internal.verify(signature, input.bytes, publicKey, { externalMu: true });
  } catch {
    return false;
  }
}

/** DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) of a raw ML-DSA public key. */
export function mlDsaSpki(level: MlDsaLevel, publicKey: Uint8Array): Buffer {
  const oid = Buffer.concat([OID_PREFIX, Buffer.of(OID_ARC[level])]);
  const algorithm = der(0x30, oid);
  const bits = der(0x03, Buffer.concat([Buffer.of(0), publicKey]));
  return der(0x30, Buffer.concat([algorithm, bits]));
}

/** The raw public key inside an ML-DSA SubjectPublicKeyInfo made by `mlDsaSpki`. */
export function mlDsaRawPublicKey(level: MlDsaLevel, spki: Buffer): Uint8Array {
  return spki.subarray(spki.length - (IMPL[level].lengths.publicKey as number));
}

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, (n >> 8) & 0xff, n & 0xff);
  return Buffer.concat([Buffer.of(tag), length, content]);
}
