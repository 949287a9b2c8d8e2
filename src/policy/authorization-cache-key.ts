import type { KmsAuthorizationInput } from './authorize-kms.js';
import type { CompiledPolicy } from './policy.js';

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
export function authorizationCacheKey(input: KmsAuthorizationInput): string {
  const { request } = input;
  const p = request.principal;
  const policies = [
    input.keyPolicy,
    input.vpcEndpointPolicy,
    input.sessionPolicy,
    ...input.identityPolicies,
    ...(input.serviceControlPolicies ?? []).flat(),
  ];
  const parts: string[] = [
    p.type,
    p.arn,
    p.roleArn ?? '',
    p.accountId,
    p.userId,
    request.action.toLowerCase(),
    policies.some((x) => x !== undefined && readsResource(x)) ? request.resource : ANY_RESOURCE,
    input.resourceAccountId,
    input.keyPolicy?.fingerprint ?? '-',
    input.identityPolicies.map((x) => x.fingerprint).join(','),
    (input.serviceControlPolicies ?? []).map((level) => level.map((x) => x.fingerprint).join(',')).join('/'),
    input.vpcEndpointPolicy?.fingerprint ?? '-',
    input.sessionPolicy?.fingerprint ?? '-',
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
  const keys = new Set<string>();
  for (const policy of policies) if (policy !== undefined) for (const k of policy.referencedKeys) keys.add(k);
  for (const k of [...keys].sort()) {
    const v = request.conditions.get(k);
    parts.push(
      `${k}=${v === undefined ? '\u0001' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify([...v])}`,
    );
  }
  return parts.join('\u0000');
}

/** The cache key of a decision that names its resource (a denial): `key` with the resource. */
export function withResource(key: string, resource: string): string {
  return `${key}\u0000resource=${resource}`;
}

// Not an ARN nor `*`: stands for "any resource" in a key.
const ANY_RESOURCE = '\u0001';

const READS_RESOURCE = new WeakMap<CompiledPolicy, boolean>();

/**
 * Can the policy's verdict differ between two resources? Only through a statement's Resource or
 * NotResource: one that lists `*` matches every resource (or, NotResource, none), whatever it is.
 * Condition keys about the resource (aws:ResourceTag/…, kms:ResourceAliases) are condition values,
 * part of the key already.
 */
export function readsResource(policy: CompiledPolicy): boolean {
  let reads = READS_RESOURCE.get(policy);
  if (reads === undefined) {
    reads = policy.statements.some(
      (s) => s.resource !== undefined && !s.resource.patterns.some((pattern) => pattern.source === '*'),
    );
    READS_RESOURCE.set(policy, reads);
  }
  return reads;
}
