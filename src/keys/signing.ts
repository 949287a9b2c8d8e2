import type { KeyObject } from 'node:crypto';
import { offThread } from '../crypto/crypto-threads.js';
import { type EcCurve, ecdsaSign, ecdsaVerify, INLINE_CURVES } from '../crypto/ecdsa.js';
import { ed25519Sign, ed25519Verify } from '../crypto/eddsa.js';
import { mlDsaRawPublicKey } from '../crypto/ml-dsa.js';
import { rsaSign, rsaVerify } from '../crypto/rsa.js';
import { KMSInvalidStateException, ValidationException } from '../errors.js';
import type { KeyRecord } from '../storage/records.js';
import type { KeyRepository } from './key-repository.js';
import { keySpecEntry, SIGNING_ALGORITHMS, type SigningAlgorithm } from './key-specs.js';

/**
 * Sign and Verify with a KMS key's private key, after the operation checked usage and algorithm.
 * `checkMessage` validates MessageType and DIGEST/EXTERNAL_MU lengths (reference §3.1, §4.4). A
 * RAW message is hashed once, by the primitive; a DIGEST is never hashed again (except by
 * Ed25519ph's own PH step, as AWS defines ED25519_PH_SHA_512).
 */
export type MessageType = 'RAW' | 'DIGEST' | 'EXTERNAL_MU';
export interface SigningRequest {
  name: string;
  algorithm: SigningAlgorithm;
  messageType: MessageType;
  message: Buffer;
}

export function checkMessage(name: string, messageType: string | undefined, message: Buffer): SigningRequest {
  const algorithm = SIGNING_ALGORITHMS[name];
  if (algorithm === undefined) throw new ValidationException(`Unknown signing algorithm ${name}.`);
  const type = (messageType ?? 'RAW') as MessageType;
  if (!algorithm.messageTypes.includes(type)) {
    throw new ValidationException(
      `MessageType ${type} is not supported for algorithm ${name}. Use ${algorithm.messageTypes.join(' or ')}.`,
    );
  }
  if (type !== 'RAW' && message.length !== algorithm.digestLength) {
    throw new ValidationException(`Digest is invalid length for algorithm ${name}.`);
  }
  return { name, algorithm, messageType: type, message };
}

export async function currentMaterial(keys: KeyRepository, key: KeyRecord): Promise<KeyObject> {
  const material = key.currentMaterialId === undefined ? undefined : await keys.material(key, key.currentMaterialId);
  if (material === undefined) throw new KMSInvalidStateException(`${key.arn} is pending import.`);
  return material;
}

/**
 * Where each signature is made (measured costs in src/crypto/off-loop.ts and crypto-threads.ts):
 * RAW RSA, and RAW ECDSA off P-256, on libuv's pool (inside rsaSign / ecdsaSign); a DIGEST on RSA
 * or on ECDSA off P-256, Ed25519ph and ML-DSA on the crypto threads; P-256 (RAW ~25 µs, DIGEST ~60)
 * and Ed25519 inline, where they cost less than the hop: a P-256 DIGEST on a thread took the
 * server 266 µs of CPU a signature against 197 inline (docs/performance-log.md, twenty-second
 * session).
 */
export async function signWith(keys: KeyRepository, key: KeyRecord, request: SigningRequest): Promise<Buffer> {
  const material = await currentMaterial(keys, key);
  const { algorithm, message } = request;
  const kind = request.messageType === 'RAW' ? 'raw' : 'digest';
  const input = { kind, bytes: message } as const;
  const hash = algorithm.hash as 'sha256' | 'sha384' | 'sha512';
  switch (algorithm.family) {
    case 'rsa-pss':
    case 'rsa-pkcs1': {
      const padding = algorithm.family === 'rsa-pss' ? 'pss' : 'pkcs1';
      return kind === 'raw'
        ? rsaSign(material, padding, hash, input)
        : offThread('rsaSign', material, padding, hash, input);
    }
    case 'ecdsa':
      return kind === 'raw' || INLINE_CURVES.has(curveOf(key))
        ? ecdsaSign(material, curveOf(key), hash, input)
        : offThread('ecdsaSign', material, curveOf(key), hash, input);
    case 'ed25519':
      return ed25519Sign(material, message);
    case 'ed25519ph':
      return offThread('ed25519phSign', material, message);
    case 'ml-dsa':
      return offThread('mlDsaSign', levelOf(key), material, { kind: kind === 'raw' ? 'raw' : 'mu', bytes: message });
  }
}

/** As signWith; RSA verification (a public-key operation: 23–66 µs) stays inline. */
export async function verifyWith(
  keys: KeyRepository,
  key: KeyRecord,
  request: SigningRequest,
  signature: Buffer,
): Promise<boolean> {
  const { algorithm, message } = request;
  const kind = request.messageType === 'RAW' ? 'raw' : 'digest';
  const input = { kind, bytes: message } as const;
  const hash = algorithm.hash as 'sha256' | 'sha384' | 'sha512';
  if (algorithm.family === 'ml-dsa') {
    const level = levelOf(key);
    const publicKey = mlDsaRawPublicKey(level, await keys.publicKey(key));
    return offThread(
      'mlDsaVerify',
      level,
      publicKey,
      { kind: kind === 'raw' ? 'raw' : 'mu', bytes: message },
      signature,
    );
  }
  const material = await currentMaterial(keys, key);
  switch (algorithm.family) {
    case 'rsa-pss':
    case 'rsa-pkcs1':
      return rsaVerify(material, algorithm.family === 'rsa-pss' ? 'pss' : 'pkcs1', hash, input, signature);
    case 'ecdsa':
      return kind === 'raw'
        ? ecdsaVerify(material, curveOf(key), hash, input, signature)
        : offThread('ecdsaVerify', material, curveOf(key), hash, input, signature);
    case 'ed25519':
      return ed25519Verify(material, message, signature);
    case 'ed25519ph':
      return offThread('ed25519phVerify', material, message, signature);
  }
}

function curveOf(key: KeyRecord): EcCurve {
  return keySpecEntry(key.keySpec).curve as EcCurve;
}

function levelOf(key: KeyRecord): 44 | 65 | 87 {
  return keySpecEntry(key.keySpec).mlDsa as 44 | 65 | 87;
}
