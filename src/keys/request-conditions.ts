import { AWS_CONDITION_KEYS as AWS, KMS_CONDITION_KEYS as KMS } from '../policy/condition-keys.js';
import type { Conditions } from '../policy/kms-authorizer.js';
import type { KeyRecord, Tag } from '../storage/records.js';
import type { EncryptionContext } from './encryption-context.js';

/**
 * The condition keys a request sets (reference §4.10), built from its parameters and its key:
 * one function per kind of request, so each key is spelled and derived in one place. Operations
 * pass them to `ctx.useKey` / `ctx.authorize` / `ctx.authorizeAccount`; the policy engine reads
 * only those a policy names. A parameter the request omits sets its key to the default value, as
 * KMS does ("AWS KMS condition keys": the condition works "even when the parameter doesn't appear
 * in the request"). kms:CallerAccount and the aws:Principal* keys come from the caller
 * (src/policy/request-context.ts), not from here.
 */

const KEY_CONDITIONS = new WeakMap<KeyRecord, Readonly<Record<string, string>>>();
/** Keys without tags: one frozen object per spec, usage, origin and multi-Region flag. */
const UNTAGGED_CONDITIONS = new Map<string, Readonly<Record<string, string>>>();

/**
 * What every operation on a key sets about the key: kms:KeySpec, kms:KeyUsage, kms:KeyOrigin,
 * kms:MultiRegion (and the legacy CustomerMasterKey* twins) and aws:ResourceTag/*. Shared by all
 * keys without tags that have the same properties; computed once per cached record of a tagged
 * key (records are replaced, never changed, when a key changes). Read-only.
 */
export function keyConditions(key: KeyRecord): Readonly<Record<string, string>> {
  if (key.tags.length === 0) {
    const id = `${key.keySpec}\u0000${key.keyUsage}\u0000${key.origin}\u0000${key.multiRegion}`;
    let conditions = UNTAGGED_CONDITIONS.get(id);
    if (conditions === undefined) {
      conditions = Object.freeze(keyPropertyConditions(key.keySpec, key.keyUsage, key.origin, key.multiRegion));
      UNTAGGED_CONDITIONS.set(id, conditions);
    }
    return conditions;
  }
  let conditions = KEY_CONDITIONS.get(key);
  if (conditions === undefined) {
    const tagged = keyPropertyConditions(key.keySpec, key.keyUsage, key.origin, key.multiRegion);
    for (const tag of key.tags) tagged[AWS.ResourceTagPrefix + tag.TagKey] = tag.TagValue;
    conditions = Object.freeze(tagged);
    KEY_CONDITIONS.set(key, conditions);
  }
  return conditions;
}

/**
 * CreateKey: the properties the new key will have, the lockout bypass and the request's tags
 * (decided by IAM policies, as there is no key policy yet).
 */
export function newKeyConditions(request: {
  keySpec: string;
  keyUsage: string;
  origin: string;
  multiRegion: boolean;
  bypassPolicyLockoutSafetyCheck: boolean;
  tags: readonly Tag[];
}): Conditions {
  return {
    ...keyPropertyConditions(request.keySpec, request.keyUsage, request.origin, request.multiRegion),
    ...lockoutConditions(request.bypassPolicyLockoutSafetyCheck),
    ...requestTagConditions(request.tags),
  };
}

function keyPropertyConditions(
  keySpec: string,
  keyUsage: string,
  origin: string,
  multiRegion: boolean,
): Record<string, string> {
  return {
    [KMS.KeySpec]: keySpec,
    [KMS.CustomerMasterKeySpec]: keySpec,
    [KMS.KeyUsage]: keyUsage,
    [KMS.CustomerMasterKeyUsage]: keyUsage,
    [KMS.KeyOrigin]: origin,
    [KMS.MultiRegion]: String(multiRegion),
  };
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

// The spread comes last in the two literals below: a literal that opens with one gets a new hidden
// class on every call once V8 optimizes the function (docs/performance-log.md, "Hidden classes on the
// hot path").

/**
 * ReEncrypt, on both kms:ReEncryptFrom and kms:ReEncryptTo: that side's encryption keys, and
 * kms:ReEncryptOnSameKey — whether the source and destination are one key.
 */
export function reEncryptConditions(
  context: EncryptionContext | undefined,
  algorithm: string | undefined,
  sameKey: boolean,
): Conditions {
  return { [KMS.ReEncryptOnSameKey]: String(sameKey), ...encryptionConditions(context, algorithm) };
}

/**
 * GenerateDataKeyPair(WithoutPlaintext): kms:DataKeyPairSpec, and the encryption keys of the
 * private key's encryption under the symmetric KMS key (so always SYMMETRIC_DEFAULT).
 */
export function dataKeyPairConditions(keyPairSpec: string, context: EncryptionContext | undefined): Conditions {
  return { [KMS.DataKeyPairSpec]: keyPairSpec, ...encryptionConditions(context, 'SYMMETRIC_DEFAULT') };
}

/** Sign and Verify: kms:SigningAlgorithm, and kms:MessageType (RAW when the request omits it, as KMS reads it). */
export function signingConditions(signingAlgorithm: string, messageType: string | undefined): Conditions {
  return { [KMS.SigningAlgorithm]: signingAlgorithm, [KMS.MessageType]: messageType ?? 'RAW' };
}

/** GenerateMac and VerifyMac: kms:MacAlgorithm. */
export function macConditions(macAlgorithm: string): Conditions {
  return { [KMS.MacAlgorithm]: macAlgorithm };
}

/** DeriveSharedSecret: kms:KeyAgreementAlgorithm. */
export function keyAgreementConditions(keyAgreementAlgorithm: string): Conditions {
  return { [KMS.KeyAgreementAlgorithm]: keyAgreementAlgorithm };
}

/** The grant a CreateGrant request would create, as its condition keys see it. */
export interface GrantRequest {
  readonly operations: readonly string[];
  readonly granteePrincipal: string;
  readonly retiringPrincipal?: string | undefined;
  readonly encryptionContextEquals?: EncryptionContext | undefined;
  readonly encryptionContextSubset?: EncryptionContext | undefined;
}

/**
 * CreateGrant: kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal,
 * kms:GrantConstraintType, kms:GrantIsForAWSResource, and kms:EncryptionContext:* /
 * kms:EncryptionContextKeys over the constraint's pairs (reference §4.10).
 */
export function createGrantConditions(grant: GrantRequest, viaService: boolean): Conditions {
  const equals = grant.encryptionContextEquals;
  const subset = grant.encryptionContextSubset;
  const constraintType =
    equals !== undefined ? 'EncryptionContextEquals' : subset !== undefined ? 'EncryptionContextSubset' : undefined;
  return {
    ...encryptionConditions(constraintType === undefined ? undefined : { ...subset, ...equals }, undefined),
    [KMS.GrantOperations]: [...grant.operations],
    [KMS.GranteePrincipal]: grant.granteePrincipal,
    [KMS.RetiringPrincipal]: grant.retiringPrincipal,
    [KMS.GrantConstraintType]: constraintType,
    ...grantManagementConditions(viaService),
  };
}

/**
 * CreateGrant, ListGrants, RevokeGrant: kms:GrantIsForAWSResource, true when a service identity
 * makes the call on the caller's behalf (X-Trent-On-Behalf-Of, docs/identities.md) — Trent's model
 * of an integrated AWS service managing grants for the resources it protects.
 */
export function grantManagementConditions(viaService: boolean): Conditions {
  return { [KMS.GrantIsForAWSResource]: String(viaService) };
}

/** GetParametersForImport: kms:WrappingAlgorithm and kms:WrappingKeySpec. */
export function wrappingConditions(wrappingAlgorithm: string, wrappingKeySpec: string): Conditions {
  return { [KMS.WrappingAlgorithm]: wrappingAlgorithm, [KMS.WrappingKeySpec]: wrappingKeySpec };
}

/** ImportKeyMaterial: kms:ExpirationModel, and kms:ValidTo (epoch seconds) when the request sets it. */
export function importConditions(expirationModel: string, validToSeconds: number | undefined): Conditions {
  return {
    [KMS.ExpirationModel]: expirationModel,
    [KMS.ValidTo]: validToSeconds === undefined ? undefined : String(validToSeconds),
  };
}

/** EnableKeyRotation: kms:RotationPeriodInDays (the default period when the request omits it). */
export function rotationConditions(rotationPeriodInDays: number): Conditions {
  return { [KMS.RotationPeriodInDays]: String(rotationPeriodInDays) };
}

/** ScheduleKeyDeletion: kms:ScheduleKeyDeletionPendingWindowInDays (30 when the request omits it). */
export function deletionConditions(pendingWindowInDays: number): Conditions {
  return { [KMS.ScheduleKeyDeletionPendingWindowInDays]: String(pendingWindowInDays) };
}

/** CreateKey and PutKeyPolicy: kms:BypassPolicyLockoutSafetyCheck. */
export function lockoutConditions(bypass: boolean): Conditions {
  return { [KMS.BypassPolicyLockoutSafetyCheck]: String(bypass) };
}

/** aws:RequestTag/<key> for each tag and aws:TagKeys (CreateKey, TagResource). */
export function requestTagConditions(tags: readonly Tag[]): Conditions {
  const conditions: Record<string, string | string[] | undefined> = tagKeyConditions(tags.map((t) => t.TagKey));
  for (const t of tags) conditions[AWS.RequestTagPrefix + t.TagKey] = t.TagValue;
  return conditions;
}

/** aws:TagKeys: the tag keys a request names (UntagResource names keys only). */
export function tagKeyConditions(tagKeys: readonly string[]): Record<string, string[] | undefined> {
  return { [AWS.TagKeys]: tagKeys.length === 0 ? undefined : [...tagKeys] };
}
