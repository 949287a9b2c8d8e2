import { AWS_CONDITION_KEYS as AWS, KMS_CONDITION_KEYS as KMS } from '../policy/condition-keys.js';
import type { Conditions } from '../policy/kms-authorizer.js';
import type { KeyRecord, Tag } from '../storage/records.js';
import type { EncryptionContext } from './encryption-context.js';

/**
 * The condition keys a request sets (reference §4.10), built from its parameters and its key.
 * Operations pass them to `ctx.useKey` / `ctx.authorize`; the policy engine reads only those a
 * policy names.
 */

const KEY_CONDITIONS = new WeakMap<KeyRecord, Record<string, string>>();

/**
 * What every operation on a key sets about the key: kms:KeySpec, kms:KeyUsage, kms:KeyOrigin,
 * kms:MultiRegion (and the legacy CustomerMasterKey* twins) and aws:ResourceTag/*. Computed once
 * per cached key record (records are replaced, never changed, when a key changes).
 */
export function keyConditions(key: KeyRecord): Record<string, string> {
  let conditions = KEY_CONDITIONS.get(key);
  if (conditions === undefined) {
    conditions = {
      [KMS.KeySpec]: key.keySpec,
      [KMS.CustomerMasterKeySpec]: key.keySpec,
      [KMS.KeyUsage]: key.keyUsage,
      [KMS.CustomerMasterKeyUsage]: key.keyUsage,
      [KMS.KeyOrigin]: key.origin,
      [KMS.MultiRegion]: String(key.multiRegion),
    };
    for (const tag of key.tags) conditions[AWS.ResourceTagPrefix + tag.TagKey] = tag.TagValue;
    KEY_CONDITIONS.set(key, conditions);
  }
  return conditions;
}

/** kms:EncryptionContext:<key> for each pair, kms:EncryptionContextKeys, kms:EncryptionAlgorithm. */
export function encryptionConditions(
  context: EncryptionContext | undefined,
  algorithm: string | undefined,
): Conditions {
  const conditions: Record<string, string | string[]> = {};
  if (algorithm !== undefined) conditions[KMS.EncryptionAlgorithm] = algorithm;
  if (context !== undefined) {
    const keys = Object.keys(context);
    if (keys.length > 0) conditions[KMS.EncryptionContextKeys] = keys;
    for (const k of keys) conditions[KMS.EncryptionContextPrefix + k] = context[k] as string;
  }
  return conditions;
}

/** aws:RequestTag/<key> for each tag and aws:TagKeys (CreateKey, TagResource). */
export function requestTagConditions(tags: readonly Tag[]): Conditions {
  const conditions: Record<string, string | string[]> = {};
  if (tags.length > 0) conditions[AWS.TagKeys] = tags.map((t) => t.TagKey);
  for (const t of tags) conditions[AWS.RequestTagPrefix + t.TagKey] = t.TagValue;
  return conditions;
}
