import { generateKeyPair, type KeyObject, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * New key material. Secret material (AES, HMAC keys, ML-DSA seeds) is random bytes; asymmetric
 * key pairs come from OpenSSL, off the event loop (RSA-4096 generation takes ~1 s).
 */
export type Generation =
  | { type: 'secret'; bytes: number }
  | { type: 'rsa'; bits: 2048 | 3072 | 4096 }
  | { type: 'ec'; curve: 'P-256' | 'P-384' | 'P-521' | 'secp256k1' }
  | { type: 'ed25519' };

export interface KeyPairDer {
  /** PKCS #8 PrivateKeyInfo, DER (RFC 5958). */
  privateKey: Buffer;
  /** SubjectPublicKeyInfo, DER (RFC 5280). */
  publicKey: Buffer;
}

const generate = promisify(generateKeyPair);

export async function generateKeyPairDer(generation: Exclude<Generation, { type: 'secret' }>): Promise<KeyPairDer> {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  switch (generation.type) {
    case 'rsa':
      pair = await generate('rsa', { modulusLength: generation.bits, publicExponent: 0x10001 });
      break;
    case 'ec':
      pair = await generate('ec', { namedCurve: generation.curve });
      break;
    case 'ed25519':
      pair = await generate('ed25519', undefined);
      break;
  }
  return {
    privateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }),
  };
}

/** The material to store for a new key: random bytes, or the PKCS #8 DER of a new key pair. */
export async function generateMaterial(generation: Generation): Promise<Buffer> {
  if (generation.type === 'secret') return randomBytes(generation.bytes);
  return (await generateKeyPairDer(generation)).privateKey;
}
