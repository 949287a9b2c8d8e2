import { NotFoundException, ValidationException } from '../../errors.js';
import { parseKeyIdentifier } from '../../keys/arn.js';
import { BooleanType, KeyIdType, structure } from '../../wire/shapes.js';
import { finishDryRun } from '../cryptographic/dry-run.js';
import { defineOperation } from '../operation.js';
import { GrantIdType, GrantTokenType } from './grant-shapes.js';

interface RetireGrantInput {
  GrantToken?: string;
  KeyId?: string;
  GrantId?: string;
  DryRun?: boolean;
}

/**
 * Retires a grant named by its token, or by key ARN + grant id (reference §4.11). The grant
 * decides who may: its retiring principal, its grantee when it grants RetireGrant — otherwise
 * kms:RetireGrant on the key (the issuing account and those its policies allow).
 */
export const RetireGrant = defineOperation({
  name: 'RetireGrant',
  input: structure({ GrantToken: GrantTokenType, KeyId: KeyIdType, GrantId: GrantIdType, DryRun: BooleanType }),
  async handle(ctx, input: RetireGrantInput) {
    let keyArn: string;
    let grantId: string;
    if (input.GrantToken !== undefined) {
      ({ keyArn, grantId } = ctx.services.grants.parseToken(input.GrantToken));
    } else {
      if (input.KeyId === undefined || input.GrantId === undefined) {
        throw new ValidationException('Specify a GrantToken, or a KeyId (key ARN) and a GrantId.');
      }
      if (parseKeyIdentifier(input.KeyId).kind !== 'keyArn') {
        throw new ValidationException('KeyId must be a key ARN when the grant is named by GrantId.');
      }
      keyArn = input.KeyId;
      grantId = input.GrantId;
    }
    const key = await ctx.keys.get(keyArn);
    const grant = key === undefined ? undefined : await ctx.services.grants.get(keyArn, grantId);
    if (key === undefined || grant === undefined) throw new NotFoundException(`Grant ID ${grantId} not found`);
    const caller = ctx.caller.arn;
    const byGrant =
      grant.retiringPrincipal === caller ||
      (grant.granteePrincipal === caller && grant.operations.includes('RetireGrant'));
    if (byGrant) {
      ctx.usedKey(key.arn);
    } else {
      await ctx.authorize('kms:RetireGrant', key);
    }
    finishDryRun(input.DryRun);
    if (!(await ctx.services.grants.delete(keyArn, grantId)))
      throw new NotFoundException(`Grant ID ${grantId} not found`);
    return undefined;
  },
});
