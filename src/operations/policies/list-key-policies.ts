import { KeyIdType, LimitType, MarkerType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { DEFAULT_POLICY_NAME } from './policy-name.js';

interface ListKeyPoliciesInput {
  KeyId: string;
  Limit?: number;
  Marker?: string;
}

/** Always the one name `default`: a list of one never needs a second page. */
export const ListKeyPolicies = defineOperation({
  name: 'ListKeyPolicies',
  input: structure({ KeyId: KeyIdType, Limit: LimitType, Marker: MarkerType }, ['KeyId']),
  async handle(ctx, input: ListKeyPoliciesInput) {
    await ctx.useKey(input.KeyId, 'ListKeyPolicies');
    return { PolicyNames: [DEFAULT_POLICY_NAME], Truncated: false };
  },
});
