import { NotFoundException } from '../../errors.js';
import { checkAliasName } from '../../keys/alias-name.js';
import { aliasArn, keyArn } from '../../keys/arn.js';
import { AliasNameType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface DeleteAliasInput {
  AliasName: string;
}

/** Needs kms:DeleteAlias on the alias (IAM policies) and on its key (reference §4.10). */
export const DeleteAlias = defineOperation({
  name: 'DeleteAlias',
  input: structure({ AliasName: AliasNameType }, ['AliasName']),
  async handle(ctx, input: DeleteAliasInput) {
    checkAliasName(input.AliasName);
    const arn = aliasArn(ctx.region, ctx.accountId, input.AliasName);
    const notFound = () => new NotFoundException(`Alias ${arn} is not found.`);
    await ctx.authorizeAccount('kms:DeleteAlias', undefined, arn);
    const alias = await ctx.keys.getAlias(ctx.accountId, ctx.region, input.AliasName);
    if (alias === undefined) throw notFound();
    const target = await ctx.keys.get(keyArn(alias.region, alias.accountId, alias.targetKeyId));
    if (target !== undefined) await ctx.authorize('kms:DeleteAlias', target);
    if (!(await ctx.keys.deleteAlias(ctx, input.AliasName))) throw notFound();
    return undefined;
  },
});
