import { parsePolicy } from '../policy/parse-policy.js';
import type { CompiledPolicy } from '../policy/policy.js';

/**
 * The checks a key policy gets before it is stored (reference §4.9): within the 32 KB quota
 * (LimitExceededException), only tab, LF, CR and U+0020–U+00FF, and a valid policy document —
 * the policy language's parser says what is wrong and where (MalformedPolicyDocumentException).
 */
export const MAX_POLICY_BYTES = 32768;

export function checkKeyPolicy(policy: string): CompiledPolicy {
  return parsePolicy(policy, { kind: 'resource', id: 'key-policy', maxBytes: MAX_POLICY_BYTES });
}
