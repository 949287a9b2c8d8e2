import { MalformedPolicyDocumentException } from '../errors.js';
import { authorizeKms } from './authorize-kms.js';
import type { CompiledPolicy } from './policy.js';
import type { RequestContext } from './request-context.js';

export const POLICY_LOCKOUT_MESSAGE = 'The new key policy will not allow you to update the key policy in the future.';

export interface PolicyLockoutInput {
  /** The key policy about to be set. */
  readonly newPolicy: CompiledPolicy;
  /** The CreateKey / PutKeyPolicy request (its principal and condition keys); the action is replaced by kms:PutKeyPolicy. */
  readonly request: RequestContext;
  /** The key's ARN (for CreateKey: the ARN the new key will have). */
  readonly keyArn: string;
  readonly keyAccountId: string;
  readonly identityPolicies: readonly CompiledPolicy[];
}

/**
 * The policy lockout safety check (reference §4.9): would the caller still be allowed
 * kms:PutKeyPolicy under the new policy — named by it, or through account delegation plus its IAM
 * policies? Grants cannot give PutKeyPolicy, and SCPs / VPC endpoint policies are not part of the
 * key policy, so they are left out.
 */
export function allowsFuturePolicyUpdate(input: PolicyLockoutInput): boolean {
  const request: RequestContext = { ...input.request, action: 'kms:PutKeyPolicy', resource: input.keyArn };
  return (
    authorizeKms({
      request,
      resourceAccountId: input.keyAccountId,
      keyPolicy: input.newPolicy,
      identityPolicies: input.identityPolicies,
    }).decision === 'Allow'
  );
}

/** Throws MalformedPolicyDocumentException with AWS's message when the check fails. */
export function checkPolicyLockout(input: PolicyLockoutInput): void {
  if (!allowsFuturePolicyUpdate(input)) throw new MalformedPolicyDocumentException(POLICY_LOCKOUT_MESSAGE);
}
