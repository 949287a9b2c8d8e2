import { lockoutConditions } from '../../keys/request-conditions.js';
import { BooleanType, KeyIdType, PolicyType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { checkPolicyName, PolicyNameType } from './policy-name.js';

interface PutKeyPolicyInput {
  KeyId: string;
  Policy: string;
  PolicyName?: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
}

/**
 * Replaces the key policy (reference §4.9): authorize kms:PutKeyPolicy under the current policy,
 * then check the new one — size (LimitExceeded), syntax and principals (MalformedPolicyDocument),
 * the lockout safety check unless bypassed — and save it with the unique ids of its principals.
 */
export const PutKeyPolicy = defineOperation({
  name: 'PutKeyPolicy',
  input: structure(
    { KeyId: KeyIdType, Policy: PolicyType, PolicyName: PolicyNameType, BypassPolicyLockoutSafetyCheck: BooleanType },
    ['KeyId', 'Policy'],
  ),
  async handle(ctx, input: PutKeyPolicyInput) {
    const bypass = input.BypassPolicyLockoutSafetyCheck === true;
    const conditions = lockoutConditions(bypass);
    const { key } = await ctx.useKey(input.KeyId, 'PutKeyPolicy', { conditions });
    checkPolicyName(input.PolicyName);
    const policyPrincipals = await ctx.services.authorizer.checkNewKeyPolicy({
      caller: ctx.caller,
      policy: input.Policy,
      keyArn: key.arn,
      keyAccountId: key.accountId,
      bypassLockoutCheck: bypass,
      conditions,
      sourceIp: ctx.origin.sourceIp,
      requestedRegion: ctx.region,
    });
    await ctx.keys.update(key.arn, (current) => {
      const { policyPrincipals: _old, ...rest } = current;
      return Object.keys(policyPrincipals).length === 0
        ? { ...rest, policy: input.Policy }
        : { ...rest, policy: input.Policy, policyPrincipals };
    });
    return undefined;
  },
});
