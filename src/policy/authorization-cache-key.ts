import type { KmsAuthorizationInput } from './authorize-kms.js';
import { policyFacts } from './policy-facts.js';
import type { Principal } from './request-context.js';

/**
 * A key for memoizing `authorizeKms`: two inputs with the same key get the same decision.
 *
 * It holds what the decision reads and nothing more: the principal (ARN, role, account, type,
 * user id), the action and resource, each policy's fingerprint, the grants, the encryption context
 * when a grant constrains it, the grant a CreateGrant would create when the caller holds grants,
 * and the values of only those condition keys that some policy reads (its `referencedKeys`) — so
 * aws:CurrentTime or a request id does not defeat the cache unless a policy looks at it. The
 * resource too counts only when some policy reads it (a Resource other than `*`): every key under
 * the default policy shares one decision per caller and action. The decision's denial message
 * names the resource, though: a denial must be kept under the key with the resource
 * (`withResource`).
 */
export function authorizationCacheKey(input: KmsAuthorizationInput, facts = policyFacts(input)): string {
  const { request } = input;
  const parts: string[] = [
    principalPart(request.principal),
    request.action.toLowerCase(),
    facts.readsResource ? request.resource : ANY_RESOURCE,
    input.resourceAccountId,
    facts.fingerprints,
  ];
  let constrained = false;
  for (const g of input.grants ?? []) {
    parts.push(`grant:${g.grantId}:${g.operations.join(',')}:${g.granteeIsAccount === true ? 'a' : ''}`);
    if (g.constraints !== undefined) {
      constrained = true;
      parts.push(JSON.stringify(g.constraints));
    }
  }
  if (constrained) parts.push(JSON.stringify(Object.entries(input.encryptionContext ?? {}).sort()));
  if (input.grants !== undefined && input.childGrant !== undefined) parts.push(JSON.stringify(input.childGrant));
  if (facts.conditionKeys.length > 0) {
    const { conditions } = request;
    for (const k of facts.conditionKeys) {
      const v = conditions.get(k);
      parts.push(
        `${k}=${v === undefined ? '\u0001' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify([...v])}`,
      );
    }
  }
  return parts.join('\u0000');
}

const PRINCIPAL_PARTS = new WeakMap<Principal, string>();

/** Who the caller is, as the key spells it: the same string for every request of a cached principal. */
function principalPart(p: Principal): string {
  let part = PRINCIPAL_PARTS.get(p);
  if (part === undefined) {
    part = [p.type, p.arn, p.roleArn ?? '', p.accountId, p.userId].join('\u0000');
    PRINCIPAL_PARTS.set(p, part);
  }
  return part;
}

/** The cache key of a decision that names its resource (a denial): `key` with the resource. */
export function withResource(key: string, resource: string): string {
  return `${key}\u0000resource=${resource}`;
}

// Not an ARN nor `*`: stands for "any resource" in a key.
const ANY_RESOURCE = '\u0001';
