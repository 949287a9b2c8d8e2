import { NotFoundException } from '../../errors.js';
import { grantManagementConditions } from '../../keys/request-conditions.js';
import { BooleanType, KeyIdType, structure } from '../../wire/shapes.js';
import { finishDryRun } from '../cryptographic/dry-run.js';
import { defineOperation } from '../operation.js';
import { GrantIdType } from './grant-shapes.js';

interface RevokeGrantInput {
  KeyId: string;
  GrantId: string;
  DryRun?: boolean;
}

/** Deletes a grant; needs kms:RevokeGrant on the key (reference §4.11). */
export const RevokeGrant = defineOperation({
  name: 'RevokeGrant',
  input: structure({ KeyId: KeyIdType, GrantId: GrantIdType, DryRun: BooleanType }, ['KeyId', 'GrantId']),
  async handle(ctx, input: RevokeGrantInput) {
    const { key } = await ctx.useKey(input.KeyId, 'RevokeGrant', {
      conditions: grantManagementConditions(ctx.caller.invokedBy !== undefined),
    });
    if ((await ctx.services.grants.get(key.arn, input.GrantId)) === undefined) {
      throw new NotFoundException(`Grant ID ${input.GrantId} not found`);
    }
    finishDryRun(input.DryRun);
    await ctx.services.grants.delete(key.arn, input.GrantId);
    return undefined;
  },
});
