import { constants, createDecipheriv, createHmac, createPrivateKey, type KeyObject, privateDecrypt } from 'node:crypto';
import {
  ExpiredImportTokenException,
  IncorrectKeyMaterialException,
  InvalidCiphertextException,
  InvalidImportTokenException,
  UnsupportedOperationException,
} from '../errors.js';
import type { KeyMaterialRecord, KeyRecord } from '../storage/records.js';
import type { KeyRepository } from './key-repository.js';
import { keySpecEntry } from './key-specs.js';
import { materialsOf } from './rotation.js';

/**
 * Imported key material (BYOK, reference §4.12): import tokens, unwrapping what the caller
 * wrapped, checking it fits the key, and the ids that recognise the same material again.
 *
 * **Where the wrapping private key lives.** In the import token itself: the token is the RSA
 * private key (PKCS #8) with the key ARN, wrapping algorithm and expiry, wrapped (AES-256-GCM)
 * under the deployment's root key and bound to the key ARN. Nothing is stored, so a token works on
 * every node and across restarts, cannot be used for another key, and is worthless without the
 * root key. Tokens cannot be revoked before their 24 hours are up (as at AWS, where an earlier
 * token also stays valid).
 */
export const WRAPPING_ALGORITHMS = [
  'RSAES_PKCS1_V1_5',
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
  'SM2PKE',
] as const;
export const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'] as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];

export const IMPORT_PARAMETERS_VALIDITY_MS = 24 * 3_600_000;
export const MAX_VALID_TO_MS = 365 * 86_400_000;

interface TokenPayload {
  v: 1;
  algorithm: WrappingAlgorithm;
  validTo: number;
  /** PKCS #8 DER of the wrapping private key, base64. */
  key: string;
}

const tokenContext = (arn: string) => `import-token\n${arn}`;

export function createImportToken(
  keys: KeyRepository,
  arn: string,
  algorithm: WrappingAlgorithm,
  privateKey: Buffer,
  validTo: number,
): Buffer {
  const payload: TokenPayload = { v: 1, algorithm, validTo, key: privateKey.toString('base64') };
  const bytes = Buffer.from(JSON.stringify(payload), 'utf8');
  try {
    return keys.seal(bytes, tokenContext(arn));
  } finally {
    bytes.fill(0);
  }
}

/** The token's wrapping key and algorithm; Invalid/ExpiredImportTokenException otherwise. */
export function openImportToken(
  keys: KeyRepository,
  arn: string,
  token: Buffer,
  now: number,
): { algorithm: WrappingAlgorithm; privateKey: KeyObject } {
  const bytes = keys.unseal(token, tokenContext(arn));
  if (bytes === undefined) {
    throw new InvalidImportTokenException('Import token is invalid or expired.', 'the token is not one for this key');
  }
  let payload: TokenPayload;
  try {
    payload = JSON.parse(bytes.toString('utf8')) as TokenPayload;
  } finally {
    bytes.fill(0);
  }
  if (payload.validTo < now) {
    throw new ExpiredImportTokenException('Import token is expired.', `token expired at ${payload.validTo}`);
  }
  const der = Buffer.from(payload.key, 'base64');
  try {
    return { algorithm: payload.algorithm, privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
  } finally {
    der.fill(0);
  }
}

const RFC5649_IV = Buffer.from('a65959a6', 'hex');

/**
 * Undoes the caller's wrapping: RSA-OAEP of the material, or — for RSA_AES_KEY_WRAP — RSA-OAEP
 * of an AES-256 key followed by AES key wrap with padding (RFC 5649) of the material, the RSA
 * part first. Any failure is InvalidCiphertextException.
 */
export function unwrapImportedMaterial(algorithm: WrappingAlgorithm, privateKey: KeyObject, encrypted: Buffer): Buffer {
  const oaepHash = algorithm.endsWith('SHA_256') ? 'sha256' : 'sha1';
  const rsa = (data: Buffer) =>
    privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, data);
  try {
    if (algorithm === 'RSAES_OAEP_SHA_1' || algorithm === 'RSAES_OAEP_SHA_256') return rsa(encrypted);
    const modulusBytes = (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    const aesKey = rsa(encrypted.subarray(0, modulusBytes));
    try {
      if (aesKey.length !== 32) throw new Error('the wrapped AES key is not 256 bits');
      const decipher = createDecipheriv('id-aes256-wrap-pad', aesKey, RFC5649_IV);
      return Buffer.concat([decipher.update(encrypted.subarray(modulusBytes)), decipher.final()]);
    } finally {
      aesKey.fill(0);
    }
  } catch (err) {
    throw new InvalidCiphertextException('', `imported material does not unwrap: ${(err as Error).message}`);
  }
}

/** HMAC key lengths AWS accepts for imported material, in bytes. */
const HMAC_LENGTHS: Record<string, [number, number]> = {
  HMAC_224: [28, 64],
  HMAC_256: [32, 64],
  HMAC_384: [48, 128],
  HMAC_512: [64, 128],
};

/** Checks that `material` is what the key's spec needs: IncorrectKeyMaterialException if not. */
export function checkImportedMaterial(key: KeyRecord, material: Buffer): void {
  const wrong = (detail: string) =>
    new IncorrectKeyMaterialException(`The key material is not valid for a key with key spec ${key.keySpec}.`, detail);
  const entry = keySpecEntry(key.keySpec);
  if (key.keySpec === 'SYMMETRIC_DEFAULT') {
    if (material.length !== 32) throw wrong(`${material.length} bytes, not 32`);
    return;
  }
  const hmac = HMAC_LENGTHS[key.keySpec];
  if (hmac !== undefined) {
    if (material.length < hmac[0] || material.length > hmac[1]) throw wrong(`${material.length} bytes`);
    return;
  }
  if (entry.material !== 'pkcs8') {
    throw new UnsupportedOperationException(`Importing key material for key spec ${key.keySpec} is not supported.`);
  }
  let imported: KeyObject;
  try {
    imported = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
  } catch {
    throw wrong('not a PKCS #8 private key');
  }
  const details = imported.asymmetricKeyDetails;
  const generation = entry.generation;
  const fits =
    generation?.type === 'rsa'
      ? imported.asymmetricKeyType === 'rsa' && details?.modulusLength === generation.bits
      : generation?.type === 'ec'
        ? imported.asymmetricKeyType === 'ec' && namedCurve(details?.namedCurve) === generation.curve
        : generation?.type === 'ed25519' && imported.asymmetricKeyType === 'ed25519';
  if (!fits) throw wrong(`a ${imported.asymmetricKeyType} key of another size or curve`);
}

function namedCurve(name: string | undefined): string | undefined {
  return { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521', secp256k1: 'secp256k1' }[name ?? ''];
}

/**
 * The KeyMaterialId of imported material: HMAC-SHA256 keyed by the material over the key ARN.
 * The same material imported into the same key always gets the same id (so a re-import restores
 * the version its ciphertexts name); it reveals nothing of the material without it.
 */
export function importedMaterialId(arn: string, material: Buffer): string {
  return createHmac('sha256', material).update(`trent imported key material\n${arn}`).digest('hex');
}

/** The earliest ValidTo of material still present (the expiry scheduler's next date). */
export function earliestExpiry(materials: readonly KeyMaterialRecord[]): number | undefined {
  let earliest: number | undefined;
  for (const m of materials) {
    if (m.importState === 'IMPORTED' && m.validTo !== undefined && (earliest === undefined || m.validTo < earliest)) {
      earliest = m.validTo;
    }
  }
  return earliest;
}

/**
 * The record after material versions `ids` are deleted (DeleteImportedKeyMaterial, expiry): they
 * become PENDING_IMPORT; if the current one went, the key goes to PendingImport — unless it is
 * pending deletion, which it stays.
 */
export function withoutMaterial(key: KeyRecord, ids: readonly string[]): KeyRecord {
  const materials = materialsOf(key).map((m) => {
    if (!ids.includes(m.materialId)) return m;
    const { expirationModel: _e, validTo: _v, ...rest } = m;
    return { ...rest, importState: 'PENDING_IMPORT' as const };
  });
  const next: KeyRecord = { ...key, materials };
  const expiry = earliestExpiry(materials);
  if (expiry === undefined) delete next.materialExpiry;
  else next.materialExpiry = expiry;
  const currentGone = key.currentMaterialId !== undefined && ids.includes(key.currentMaterialId);
  if (currentGone && key.keyState !== 'PendingDeletion' && key.keyState !== 'PendingReplicaDeletion') {
    next.keyState = 'PendingImport';
  }
  return next;
}

/**
 * The expiry scheduler's work: imported material whose ValidTo has passed is deleted (its backing
 * key row destroyed, in the same transaction as the key's new record).
 */
export async function expireImportedMaterial(
  keys: KeyRepository,
  now: () => number,
  batch = 100,
): Promise<KeyRecord[]> {
  const expired: KeyRecord[] = [];
  for (;;) {
    const due = await keys.withExpiredMaterial(now(), batch);
    let progressed = 0;
    for (const key of due) {
      const next = await keys
        .updateWithMaterial(key.arn, (current) => {
          const ids = materialsOf(current)
            .filter((m) => m.importState === 'IMPORTED' && m.validTo !== undefined && m.validTo <= now())
            .map((m) => m.materialId);
          if (ids.length === 0) throw new NothingExpired();
          return { key: withoutMaterial(current, ids), materials: { delete: ids } };
        })
        .catch((err: unknown) => {
          if (err instanceof NothingExpired) return undefined;
          throw err;
        });
      if (next !== undefined) {
        expired.push(next);
        progressed++;
      }
    }
    if (due.length < batch || progressed === 0) return expired;
  }
}

class NothingExpired extends Error {}
