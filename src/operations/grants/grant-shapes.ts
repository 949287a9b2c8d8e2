import { ValidationException } from '../../errors.js';
import { epochSeconds } from '../../keys/key-metadata.js';
import type { GrantRecord } from '../../storage/grant-store.js';
import type { KeyRecord } from '../../storage/records.js';
import { EncryptionContextType, type StringShape, structure } from '../../wire/shapes.js';

/** Shapes and rules the grant operations share (reference §2.4, §4.11). */
export const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
] as const;

export const PrincipalIdType: StringShape = { type: 'string', min: 1, max: 256, pattern: '^[\\w+=,.@:/-]+$' };
export const ServicePrincipalType: StringShape = {
  type: 'string',
  min: 1,
  max: 128,
  pattern: '^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$',
};
export const GrantIdType: StringShape = { type: 'string', min: 1, max: 128 };
export const GrantTokenType: StringShape = { type: 'string', min: 1, max: 8192 };
export const GrantNameType: StringShape = { type: 'string', min: 1, max: 256, pattern: '^[a-zA-Z0-9:/_-]+$' };
export const GrantConstraintsType = structure({
  EncryptionContextSubset: EncryptionContextType,
  EncryptionContextEquals: EncryptionContextType,
  SourceArn: { type: 'string', min: 20, max: 512, pattern: '^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$' },
});

export interface GrantConstraintsInput {
  EncryptionContextSubset?: Record<string, string>;
  EncryptionContextEquals?: Record<string, string>;
  SourceArn?: string;
}

const BASE = ['DescribeKey', 'CreateGrant', 'RetireGrant'];
const SUPPORTED: Record<string, readonly string[]> = {
  SYMMETRIC: [
    ...BASE,
    'Encrypt',
    'Decrypt',
    'GenerateDataKey',
    'GenerateDataKeyWithoutPlaintext',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
    'ReEncryptFrom',
    'ReEncryptTo',
  ],
  ENCRYPT_DECRYPT: [...BASE, 'Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey'],
  SIGN_VERIFY: [...BASE, 'Sign', 'Verify', 'GetPublicKey'],
  GENERATE_VERIFY_MAC: [...BASE, 'GenerateMac', 'VerifyMac'],
  KEY_AGREEMENT: [...BASE, 'DeriveSharedSecret', 'GetPublicKey'],
};

const MAX_CONSTRAINT_PAIRS = 8;

/** The operations must suit the key type, and constraints only symmetric keys (reference §4.11). */
export function checkGrantFitsKey(
  key: KeyRecord,
  operations: readonly string[],
  constraints?: GrantConstraintsInput,
): void {
  const symmetric = key.keySpec === 'SYMMETRIC_DEFAULT';
  const supported = SUPPORTED[symmetric ? 'SYMMETRIC' : key.keyUsage] ?? BASE;
  for (const op of operations) {
    if (!supported.includes(op)) {
      throw new ValidationException(
        `Grant operation ${op} is not supported by key ${key.arn} (${key.keySpec}, ${key.keyUsage}).`,
      );
    }
  }
  for (const name of ['EncryptionContextEquals', 'EncryptionContextSubset'] as const) {
    const pairs = constraints?.[name];
    if (pairs === undefined) continue;
    if (!symmetric) throw new ValidationException(`${name} constraints are valid only for symmetric encryption keys.`);
    if (Object.keys(pairs).length > MAX_CONSTRAINT_PAIRS) {
      throw new ValidationException(`${name} has more than ${MAX_CONSTRAINT_PAIRS} pairs.`);
    }
    for (const v of Object.values(pairs)) {
      if (v.length > 384) throw new ValidationException(`${name} values are at most 384 characters.`);
    }
  }
  if (constraints?.SourceArn !== undefined) {
    throw new ValidationException(
      'SourceArn grant constraints need a service principal, which Trent does not have yet.',
    );
  }
}

/** GrantListEntry (reference §2.4). */
export function grantListEntry(g: GrantRecord) {
  return {
    KeyId: g.keyArn,
    GrantId: g.grantId,
    ...(g.name === undefined ? {} : { Name: g.name }),
    CreationDate: epochSeconds(g.creationDate),
    GranteePrincipal: g.granteePrincipal,
    ...(g.retiringPrincipal === undefined ? {} : { RetiringPrincipal: g.retiringPrincipal }),
    IssuingAccount: g.issuingAccount,
    Operations: g.operations,
    ...(g.constraints === undefined ? {} : { Constraints: g.constraints }),
  };
}
