import { InvalidKeyUsageException } from '../../errors.js';
import type { KeyRecord } from '../../storage/records.js';

/** The algorithm a symmetric key accepts; anything else is InvalidKeyUsageException. */
export function requireSymmetricAlgorithm(key: KeyRecord, algorithm: string | undefined): 'SYMMETRIC_DEFAULT' {
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') {
    throw new InvalidKeyUsageException(`Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`);
  }
  return 'SYMMETRIC_DEFAULT';
}

/** RSAES_OAEP_* (and SM2PKE) name asymmetric ciphertexts; absent or SYMMETRIC_DEFAULT do not. */
export function isAsymmetricAlgorithm(algorithm: string | undefined): boolean {
  return algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT';
}
