import { InvalidKeyUsageException } from '../errors.js';
import type { KeyRecord } from '../storage/records.js';
import { type KeyUsage, keySpecEntry } from './key-specs.js';

/**
 * The usage and algorithm checks of reference §4.3, with AWS's messages (Appendix A): a key used
 * by an operation its usage does not allow, or with an algorithm its spec does not offer, is
 * InvalidKeyUsageException.
 */
export function requireKeyUsage(key: KeyRecord, usage: KeyUsage, operation: string): void {
  if (key.keyUsage !== usage) {
    throw new InvalidKeyUsageException(`${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
  }
}

export function requireAlgorithm(key: KeyRecord, algorithm: string): void {
  const allowed = keySpecEntry(key.keySpec).usages[key.keyUsage as KeyUsage]?.algorithms ?? [];
  if (!allowed.includes(algorithm)) {
    throw new InvalidKeyUsageException(`Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`);
  }
}
