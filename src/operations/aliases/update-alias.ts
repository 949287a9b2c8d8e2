import { LimitExceededException, NotFoundException, ValidationException } from '../../errors.js';
import { checkAliasName, MAX_ALIASES_PER_KEY } from '../../keys/alias-name.js';
import { aliasArn, keyArn } from '../../keys/arn.js';
import type { KeyRecord } from '../../storage/records.js';
import { AliasNameType, KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface UpdateAliasInput {
  AliasName: string;
  TargetKeyId: string;
}

/**
 * Points an alias at another key of the same type and usage (reference §4.2). The old target may
 * be in any state; the new one must not be pending deletion. Needs kms:UpdateAlias on the alias
 * (IAM policies), on the old key and on the new one (reference §4.10).
 */
export const UpdateAlias = defineOperation({
  name: 'UpdateAlias',
  input: structure({ AliasName: AliasNameType, TargetKeyId: KeyIdType }, ['AliasName', 'TargetKeyId']),
  async handle(ctx, input: UpdateAliasInput) {
    checkAliasName(input.AliasName);
    const arn = aliasArn(ctx.region, ctx.accountId, input.AliasName);
    await ctx.authorizeAccount('kms:UpdateAlias', undefined, arn);
    const alias = await ctx.keys.getAlias(ctx.accountId, ctx.region, input.AliasName);
    if (alias === undefined) throw new NotFoundException(`Alias ${arn} is not found.`);
    const { key: target } = await ctx.useKey(input.TargetKeyId, 'UpdateAlias');
    const old = await ctx.keys.get(keyArn(alias.region, alias.accountId, alias.targetKeyId));
    if (old !== undefined) {
      await ctx.authorize('kms:UpdateAlias', old);
      if (keyType(old) !== keyType(target) || old.keyUsage !== target.keyUsage) {
        throw new ValidationException(
          `Alias ${input.AliasName} cannot be moved to ${target.arn}: the new target must have the same key type and key usage as the current target.`,
        );
      }
    }
    // The new target takes one more alias, within the same quota as CreateAlias (reference §4.2).
    if (alias.targetKeyId !== target.keyId && (await ctx.keys.countAliases(target)) >= MAX_ALIASES_PER_KEY) {
      throw new LimitExceededException(`The key ${target.arn} already has ${MAX_ALIASES_PER_KEY} aliases.`);
    }
    const updated = await ctx.keys.updateAlias({
      ...alias,
      targetKeyId: target.keyId,
      lastUpdatedDate: ctx.clock.now(),
    });
    if (!updated) throw new NotFoundException(`Alias ${arn} is not found.`);
    return undefined;
  },
});

function keyType(key: KeyRecord): 'symmetric' | 'hmac' | 'asymmetric' {
  if (key.keySpec === 'SYMMETRIC_DEFAULT') return 'symmetric';
  return key.keySpec.startsWith('HMAC_') ? 'hmac' : 'asymmetric';
}
