import { keyArn } from '../../src/keys/arn.js';
import type { KeyRecord } from '../../src/storage/records.js';

/**
 * A symmetric customer key record as the store holds it, for tests that write keys directly:
 * account 111122223333 in eu-west-1, enabled, created at 1,700,000,000,000, revision 1; `fields`
 * override any of it (the ARN follows the account, region and key id).
 */
export function keyRecord(keyId: string, fields: Partial<KeyRecord> = {}): KeyRecord {
  const accountId = fields.accountId ?? '111122223333';
  const region = fields.region ?? 'eu-west-1';
  return {
    keyId,
    arn: keyArn(region, accountId, keyId),
    accountId,
    region,
    creationDate: 1_700_000_000_000,
    description: '',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    keyState: 'Enabled',
    multiRegion: false,
    policy: '{}',
    tags: [],
    revision: 1,
    ...fields,
  };
}
