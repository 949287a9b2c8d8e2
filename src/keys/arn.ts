/**
 * Key and alias identifiers (reference §4.1). Trent mints ARNs in the `aws` partition so that
 * clients which parse them (the AWS Encryption SDK) accept them unchanged.
 */
export const PARTITION = 'aws';

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:${PARTITION}:kms:${region}:${accountId}:key/${keyId}`;
}

/** `aliasName` includes the `alias/` prefix, as on the wire. */
export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:${PARTITION}:kms:${region}:${accountId}:${aliasName}`;
}

export function accountRootArn(accountId: string): string {
  return `arn:${PARTITION}:iam::${accountId}:root`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MRK = /^mrk-[0-9a-f]{32}$/;
const KMS_ARN = /^arn:([a-z0-9-]+):kms:([a-z0-9-]*):([0-9]{12}):(key|alias)\/(.+)$/;

export function isKeyId(value: string): boolean {
  return UUID.test(value) || MRK.test(value);
}

export type KeyIdentifier =
  | { kind: 'keyId'; keyId: string }
  | { kind: 'keyArn'; region: string; accountId: string; keyId: string }
  | { kind: 'aliasName'; aliasName: string }
  | { kind: 'aliasArn'; region: string; accountId: string; aliasName: string }
  | { kind: 'invalid' };

/** Classifies a KeyId-like parameter. Nothing here looks anything up. */
export function parseKeyIdentifier(value: string): KeyIdentifier {
  if (value.startsWith('alias/')) return { kind: 'aliasName', aliasName: value };
  if (value.startsWith('arn:')) {
    const m = KMS_ARN.exec(value);
    if (m === null || m[1] !== PARTITION) return { kind: 'invalid' };
    const [, , region = '', accountId = '', type, rest = ''] = m;
    if (type === 'alias') return { kind: 'aliasArn', region, accountId, aliasName: `alias/${rest}` };
    return isKeyId(rest) ? { kind: 'keyArn', region, accountId, keyId: rest } : { kind: 'invalid' };
  }
  return isKeyId(value) ? { kind: 'keyId', keyId: value } : { kind: 'invalid' };
}
