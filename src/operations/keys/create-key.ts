import { randomUUID } from 'node:crypto';
import { generateMaterial } from '../../crypto/key-generation.js';
import {
  CustomKeyStoreNotFoundException,
  LimitExceededException,
  TagException,
  UnsupportedOperationException,
  ValidationException,
} from '../../errors.js';
import { keyArn } from '../../keys/arn.js';
import { defaultKeyPolicy } from '../../keys/default-policy.js';
import { keyMetadata } from '../../keys/key-metadata.js';
import { type KeyUsage, keySpecEntry } from '../../keys/key-specs.js';
import { newKeyConditions } from '../../keys/request-conditions.js';
import { checkNewTags, MAX_TAGS_PER_KEY } from '../../keys/tags.js';
import type { KeyRecord, Tag } from '../../storage/records.js';
import {
  BooleanType,
  CUSTOMER_MASTER_KEY_SPECS,
  DescriptionType,
  enumOf,
  KEY_SPECS,
  KEY_USAGES,
  ORIGINS,
  PolicyType,
  structure,
  TagList,
} from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface CreateKeyInput {
  Policy?: string;
  Description?: string;
  KeyUsage?: string;
  CustomerMasterKeySpec?: string;
  KeySpec?: string;
  Origin?: string;
  CustomKeyStoreId?: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
  Tags?: Tag[];
  MultiRegion?: boolean;
  XksKeyId?: string;
}

export const CreateKey = defineOperation({
  name: 'CreateKey',
  input: structure({
    Policy: PolicyType,
    Description: DescriptionType,
    KeyUsage: enumOf(KEY_USAGES),
    CustomerMasterKeySpec: enumOf(CUSTOMER_MASTER_KEY_SPECS),
    KeySpec: enumOf(KEY_SPECS),
    Origin: enumOf(ORIGINS),
    CustomKeyStoreId: { type: 'string', min: 1, max: 64 },
    BypassPolicyLockoutSafetyCheck: BooleanType,
    Tags: TagList,
    MultiRegion: BooleanType,
    XksKeyId: { type: 'string', min: 1, max: 128, pattern: '^[a-zA-Z0-9-_.]+$' },
  }),
  async handle(ctx, input: CreateKeyInput) {
    const keySpec = chooseKeySpec(input);
    // No key resource yet: IAM policies decide (reference §4.10); Tags need kms:TagResource too.
    const conditions = newKeyConditions({
      keySpec,
      keyUsage: input.KeyUsage ?? 'ENCRYPT_DECRYPT',
      origin: input.Origin ?? 'AWS_KMS',
      multiRegion: input.MultiRegion === true,
      bypassPolicyLockoutSafetyCheck: input.BypassPolicyLockoutSafetyCheck === true,
      tags: input.Tags ?? [],
    });
    await ctx.authorizeAccount('kms:CreateKey', conditions);
    if (input.Tags !== undefined && input.Tags.length > 0) await ctx.authorizeAccount('kms:TagResource', conditions);
    // Only symmetric encryption keys have a default usage (reference Appendix A).
    if (keySpec !== 'SYMMETRIC_DEFAULT' && input.KeyUsage === undefined) {
      throw new ValidationException(
        'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
      );
    }
    const keyUsage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
    const spec = keySpecEntry(keySpec);
    if (spec.usages[keyUsage as KeyUsage] === undefined) {
      throw new ValidationException(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
    }
    if (input.CustomKeyStoreId !== undefined) {
      throw new CustomKeyStoreNotFoundException(`Custom key store ${input.CustomKeyStoreId} does not exist.`);
    }
    if (input.XksKeyId !== undefined) {
      throw new ValidationException('XksKeyId is valid only for keys in an external key store.');
    }
    // SM2 exists only in AWS's China Regions, and Node has no SM2DSA/SM2PKE (see README).
    if (spec.generation === undefined) {
      throw new UnsupportedOperationException(`KeySpec ${keySpec} is not supported in this Region.`);
    }
    const origin = input.Origin ?? 'AWS_KMS';
    const generation = spec.generation;
    if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') {
      throw new UnsupportedOperationException(`Origin ${origin} is not supported by this version of Trent.`);
    }
    // ML-DSA keys hold a seed Trent cannot take from outside yet.
    if (origin === 'EXTERNAL' && spec.material === 'ml-dsa-seed') {
      throw new UnsupportedOperationException(`KeySpec ${keySpec} cannot have imported key material in Trent.`);
    }
    if (input.MultiRegion === true) {
      throw new UnsupportedOperationException('Multi-Region keys are not supported by this version of Trent.');
    }
    const keyId = randomUUID();
    const arn = keyArn(ctx.region, ctx.accountId, keyId);
    const policyPrincipals =
      input.Policy === undefined
        ? undefined
        : await ctx.services.authorizer.checkNewKeyPolicy({
            caller: ctx.caller,
            policy: input.Policy,
            keyArn: arn,
            keyAccountId: ctx.accountId,
            bypassLockoutCheck: input.BypassPolicyLockoutSafetyCheck === true,
            conditions,
            sourceIp: ctx.origin.sourceIp,
            requestedRegion: ctx.region,
          });
    const tags = input.Tags ?? [];
    checkNewTags(tags);
    if (tags.length > MAX_TAGS_PER_KEY) throw new TagException('Too many tags');
    const quota = ctx.services.limits.keysPerAccountRegion;
    if ((await ctx.keys.count(ctx)) >= quota) {
      throw new LimitExceededException(
        `The request would exceed the quota of ${quota} KMS keys in this account and Region.`,
      );
    }

    const key: KeyRecord = {
      keyId,
      arn,
      accountId: ctx.accountId,
      region: ctx.region,
      creationDate: ctx.clock.now(),
      description: input.Description ?? '',
      keySpec,
      keyUsage,
      origin,
      keyManager: 'CUSTOMER',
      // Imported material: no material until ImportKeyMaterial (reference §4.12).
      keyState: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      multiRegion: false,
      policy: input.Policy ?? defaultKeyPolicy(ctx.accountId),
      ...(policyPrincipals === undefined || Object.keys(policyPrincipals).length === 0 ? {} : { policyPrincipals }),
      tags,
      revision: 0,
    };
    const stored = await ctx.keys.create(key, origin === 'EXTERNAL' ? undefined : await generateMaterial(generation));
    ctx.usedKey(stored.arn);
    return { KeyMetadata: keyMetadata(stored) };
  },
});

/** KeySpec and its deprecated twin CustomerMasterKeySpec are synonyms (reference §3). */
function chooseKeySpec(input: CreateKeyInput): string {
  const { KeySpec, CustomerMasterKeySpec } = input;
  if (KeySpec !== undefined && CustomerMasterKeySpec !== undefined && KeySpec !== CustomerMasterKeySpec) {
    throw new ValidationException('You cannot specify KeySpec and CustomerMasterKeySpec with different values.');
  }
  return KeySpec ?? CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
}
