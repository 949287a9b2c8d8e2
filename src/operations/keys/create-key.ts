import { randomBytes, randomUUID } from 'node:crypto';
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
import { checkKeyPolicy } from '../../keys/key-policy.js';
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
    // Only symmetric encryption keys have a default usage (reference Appendix A).
    if (keySpec !== 'SYMMETRIC_DEFAULT' && input.KeyUsage === undefined) {
      throw new ValidationException(
        'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
      );
    }
    const keyUsage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
    if (keySpec === 'SYMMETRIC_DEFAULT' && keyUsage !== 'ENCRYPT_DECRYPT') {
      throw new ValidationException(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
    }
    if (input.CustomKeyStoreId !== undefined) {
      throw new CustomKeyStoreNotFoundException(`Custom key store ${input.CustomKeyStoreId} does not exist.`);
    }
    if (input.XksKeyId !== undefined) {
      throw new ValidationException('XksKeyId is valid only for keys in an external key store.');
    }
    if (keySpec !== 'SYMMETRIC_DEFAULT') {
      throw new UnsupportedOperationException(`KeySpec ${keySpec} is not supported by this version of Trent.`);
    }
    const origin = input.Origin ?? 'AWS_KMS';
    if (origin !== 'AWS_KMS') {
      throw new UnsupportedOperationException(`Origin ${origin} is not supported by this version of Trent.`);
    }
    if (input.MultiRegion === true) {
      throw new UnsupportedOperationException('Multi-Region keys are not supported by this version of Trent.');
    }
    if (input.Policy !== undefined) checkKeyPolicy(input.Policy);
    const tags = input.Tags ?? [];
    checkNewTags(tags);
    if (tags.length > MAX_TAGS_PER_KEY) throw new TagException('Too many tags');
    const quota = ctx.services.limits.keysPerAccountRegion;
    if ((await ctx.keys.count(ctx)) >= quota) {
      throw new LimitExceededException(
        `The request would exceed the quota of ${quota} KMS keys in this account and Region.`,
      );
    }

    const keyId = randomUUID();
    const arn = keyArn(ctx.region, ctx.accountId, keyId);
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
      keyState: 'Enabled',
      multiRegion: false,
      policy: input.Policy ?? defaultKeyPolicy(ctx.accountId),
      tags,
      revision: 0,
    };
    const stored = await ctx.keys.create(key, randomBytes(32));
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
