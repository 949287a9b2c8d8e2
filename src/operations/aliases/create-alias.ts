import { AlreadyExistsException, LimitExceededException } from '../../errors.js';
import { checkAliasName, MAX_ALIASES_PER_KEY } from '../../keys/alias-name.js';
import { aliasArn } from '../../keys/arn.js';
import { AliasNameType, KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface CreateAliasInput {
  AliasName: string;
  TargetKeyId: string;
}

/**
 * Names a key. AWS asks for kms:CreateAlias twice (reference §4.10): on the alias, which only IAM
 * policies can allow (an alias has no policy), and on the key.
 */
export const CreateAlias = defineOperation({
  name: 'CreateAlias',
  input: structure({ AliasName: AliasNameType, TargetKeyId: KeyIdType }, ['AliasName', 'TargetKeyId']),
  async handle(ctx, input: CreateAliasInput) {
    checkAliasName(input.AliasName);
    await ctx.authorizeAccount('kms:CreateAlias', undefined, aliasArn(ctx.region, ctx.accountId, input.AliasName));
    const { key } = await ctx.useKey(input.TargetKeyId, 'CreateAlias');
    if ((await ctx.keys.countAliases(key)) >= MAX_ALIASES_PER_KEY) {
      throw new LimitExceededException(`The key ${key.arn} already has ${MAX_ALIASES_PER_KEY} aliases.`);
    }
    const now = ctx.clock.now();
    const inserted = await ctx.keys.insertAlias({
      accountId: key.accountId,
      region: key.region,
      aliasName: input.AliasName,
      targetKeyId: key.keyId,
      creationDate: now,
      lastUpdatedDate: now,
    });
    if (!inserted) {
      throw new AlreadyExistsException(
        `An alias with the name ${aliasArn(ctx.region, ctx.accountId, input.AliasName)} already exists`,
      );
    }
    return undefined;
  },
});
