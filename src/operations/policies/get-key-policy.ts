import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { checkPolicyName, DEFAULT_POLICY_NAME, PolicyNameType } from './policy-name.js';

interface GetKeyPolicyInput {
  KeyId: string;
  PolicyName?: string;
}

/** The key policy as it was given (or the default one), and its name. */
export const GetKeyPolicy = defineOperation({
  name: 'GetKeyPolicy',
  input: structure({ KeyId: KeyIdType, PolicyName: PolicyNameType }, ['KeyId']),
  async handle(ctx, input: GetKeyPolicyInput) {
    const { key } = await ctx.useKey(input.KeyId, 'GetKeyPolicy');
    checkPolicyName(input.PolicyName);
    return { Policy: key.policy, PolicyName: DEFAULT_POLICY_NAME };
  },
});
