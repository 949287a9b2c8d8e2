import type { EcCurve } from '../crypto/ecdsa.js';
import type { Generation } from '../crypto/key-generation.js';
import type { MlDsaLevel } from '../crypto/ml-dsa.js';
import type { RsaHash } from '../crypto/rsa.js';

/**
 * Every key spec AWS KMS offers, in one declarative table (reference §3.1): which key usages a
 * spec allows, the algorithm lists DescribeKey and GetPublicKey report for each usage, how new
 * material is made, and how stored material is held.
 *
 * `material`: `secret` bytes (AES, HMAC), `pkcs8` DER of an asymmetric private key, or an
 * `ml-dsa-seed` (the 32-byte FIPS 204 seed ξ, expanded when loaded).
 */
export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT';
export type AlgorithmList = 'EncryptionAlgorithms' | 'SigningAlgorithms' | 'MacAlgorithms' | 'KeyAgreementAlgorithms';

export interface KeySpecEntry {
  usages: Partial<Record<KeyUsage, { list: AlgorithmList; algorithms: readonly string[] }>>;
  /** Absent for SM2, which Trent cannot generate (see README). */
  generation?: Generation;
  material: 'secret' | 'pkcs8' | 'ml-dsa-seed';
  asymmetric: boolean;
  curve?: EcCurve;
  mlDsa?: MlDsaLevel;
  /** AWS offers the spec in its China Regions only; elsewhere CreateKey refuses it. */
  chinaOnly?: boolean;
}

const RSA_ENCRYPTION = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;
const RSA_SIGNING = [
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
] as const;

const rsa = (bits: 2048 | 3072 | 4096): KeySpecEntry => ({
  usages: {
    ENCRYPT_DECRYPT: { list: 'EncryptionAlgorithms', algorithms: RSA_ENCRYPTION },
    SIGN_VERIFY: { list: 'SigningAlgorithms', algorithms: RSA_SIGNING },
  },
  generation: { type: 'rsa', bits },
  material: 'pkcs8',
  asymmetric: true,
});

const ecc = (curve: EcCurve, ecdsa: string, keyAgreement: boolean): KeySpecEntry => ({
  usages: {
    SIGN_VERIFY: { list: 'SigningAlgorithms', algorithms: [ecdsa] },
    ...(keyAgreement ? { KEY_AGREEMENT: { list: 'KeyAgreementAlgorithms' as const, algorithms: ['ECDH'] } } : {}),
  },
  generation: { type: 'ec', curve },
  material: 'pkcs8',
  asymmetric: true,
  curve,
});

const hmacSpec = (bits: 224 | 256 | 384 | 512): KeySpecEntry => ({
  usages: { GENERATE_VERIFY_MAC: { list: 'MacAlgorithms', algorithms: [`HMAC_SHA_${bits}`] } },
  generation: { type: 'secret', bytes: bits / 8 },
  material: 'secret',
  asymmetric: false,
});

const mlDsa = (level: MlDsaLevel): KeySpecEntry => ({
  usages: { SIGN_VERIFY: { list: 'SigningAlgorithms', algorithms: ['ML_DSA_SHAKE_256'] } },
  generation: { type: 'secret', bytes: 32 },
  material: 'ml-dsa-seed',
  asymmetric: true,
  mlDsa: level,
});

export const KEY_SPEC_TABLE: Record<string, KeySpecEntry> = {
  SYMMETRIC_DEFAULT: {
    usages: { ENCRYPT_DECRYPT: { list: 'EncryptionAlgorithms', algorithms: ['SYMMETRIC_DEFAULT'] } },
    generation: { type: 'secret', bytes: 32 },
    material: 'secret',
    asymmetric: false,
  },
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  ECC_NIST_P256: ecc('P-256', 'ECDSA_SHA_256', true),
  ECC_NIST_P384: ecc('P-384', 'ECDSA_SHA_384', true),
  ECC_NIST_P521: ecc('P-521', 'ECDSA_SHA_512', true),
  ECC_SECG_P256K1: ecc('secp256k1', 'ECDSA_SHA_256', false),
  ECC_NIST_EDWARDS25519: {
    usages: { SIGN_VERIFY: { list: 'SigningAlgorithms', algorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] } },
    generation: { type: 'ed25519' },
    material: 'pkcs8',
    asymmetric: true,
  },
  HMAC_224: hmacSpec(224),
  HMAC_256: hmacSpec(256),
  HMAC_384: hmacSpec(384),
  HMAC_512: hmacSpec(512),
  ML_DSA_44: mlDsa(44),
  ML_DSA_65: mlDsa(65),
  ML_DSA_87: mlDsa(87),
  SM2: {
    usages: {
      ENCRYPT_DECRYPT: { list: 'EncryptionAlgorithms', algorithms: ['SM2PKE'] },
      SIGN_VERIFY: { list: 'SigningAlgorithms', algorithms: ['SM2DSA'] },
      KEY_AGREEMENT: { list: 'KeyAgreementAlgorithms', algorithms: ['ECDH'] },
    },
    material: 'pkcs8',
    asymmetric: true,
    chinaOnly: true,
  },
};

export function keySpecEntry(spec: string): KeySpecEntry {
  const entry = KEY_SPEC_TABLE[spec];
  if (entry === undefined) throw new Error(`unknown key spec ${spec}`);
  return entry;
}

/** Signing algorithms (reference §3.1): the primitive, its hash and the DIGEST length it takes. */
export type SigningFamily = 'rsa-pss' | 'rsa-pkcs1' | 'ecdsa' | 'ed25519' | 'ed25519ph' | 'ml-dsa';
export interface SigningAlgorithm {
  family: SigningFamily;
  hash: 'sha256' | 'sha384' | 'sha512' | 'shake256';
  /** Message types the algorithm accepts, and the exact length of a DIGEST / EXTERNAL_MU. */
  messageTypes: readonly ('RAW' | 'DIGEST' | 'EXTERNAL_MU')[];
  digestLength: number;
}

const sig = (
  family: SigningFamily,
  hash: SigningAlgorithm['hash'],
  digestLength: number,
  messageTypes: SigningAlgorithm['messageTypes'] = ['RAW', 'DIGEST'],
): SigningAlgorithm => ({ family, hash, digestLength, messageTypes });

export const SIGNING_ALGORITHMS: Record<string, SigningAlgorithm> = {
  RSASSA_PSS_SHA_256: sig('rsa-pss', 'sha256', 32),
  RSASSA_PSS_SHA_384: sig('rsa-pss', 'sha384', 48),
  RSASSA_PSS_SHA_512: sig('rsa-pss', 'sha512', 64),
  RSASSA_PKCS1_V1_5_SHA_256: sig('rsa-pkcs1', 'sha256', 32),
  RSASSA_PKCS1_V1_5_SHA_384: sig('rsa-pkcs1', 'sha384', 48),
  RSASSA_PKCS1_V1_5_SHA_512: sig('rsa-pkcs1', 'sha512', 64),
  ECDSA_SHA_256: sig('ecdsa', 'sha256', 32),
  ECDSA_SHA_384: sig('ecdsa', 'sha384', 48),
  ECDSA_SHA_512: sig('ecdsa', 'sha512', 64),
  // RAW only: pure Ed25519 hashes inside the algorithm and has no digest form.
  ED25519_SHA_512: sig('ed25519', 'sha512', 64, ['RAW']),
  // DIGEST only; the 64-byte input is the message of Ed25519ph, hashed again by its PH step (§3.1).
  ED25519_PH_SHA_512: sig('ed25519ph', 'sha512', 64, ['DIGEST']),
  ML_DSA_SHAKE_256: sig('ml-dsa', 'shake256', 64, ['RAW', 'EXTERNAL_MU']),
};

export const ENCRYPTION_HASHES: Record<string, RsaHash> = { RSAES_OAEP_SHA_1: 'sha1', RSAES_OAEP_SHA_256: 'sha256' };

export const MAC_HASHES: Record<string, 'sha224' | 'sha256' | 'sha384' | 'sha512'> = {
  HMAC_SHA_224: 'sha224',
  HMAC_SHA_256: 'sha256',
  HMAC_SHA_384: 'sha384',
  HMAC_SHA_512: 'sha512',
};
