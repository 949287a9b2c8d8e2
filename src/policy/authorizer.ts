import type { Caller } from '../auth/caller.js';
import { AccessDeniedException } from '../errors.js';
import type { KeyRecord } from '../storage/records.js';

/**
 * Decides whether a caller may perform a `kms:` action on a key.
 *
 * `AccountAuthorizer` gives what the default key policy gives: the key's own account may do
 * everything (the policy delegates the key to the account, and Trent's identities carry no IAM
 * policies yet), any other account nothing. The policy engine replaces it with full evaluation.
 */
export interface Authorizer {
  authorize(caller: Caller, action: string, key: KeyRecord): void;
}

export class AccountAuthorizer implements Authorizer {
  authorize(caller: Caller, action: string, key: KeyRecord): void {
    if (caller.accountId === key.accountId) return;
    throw new AccessDeniedException(
      `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${key.arn} because no resource-based policy allows the ${action} action`,
    );
  }
}
