import type { KmsAuthorizationInput } from './authorize-kms.js';
import type { CompiledPolicy } from './policy.js';

/**
 * A key for memoizing `authorizeKms`: two inputs with the same key get the same decision.
 *
 * It holds what the decision reads and nothing more: the principal (ARN, role, account, type,
 * user id), the action and resource, each policy's fingerprint, the grants, the encryption context
 * when a grant constrains it, the grant a CreateGrant would create when the caller holds grants,
 * and the values of only those condition keys that some policy reads (its `referencedKeys`) — so
 * aws:CurrentTime or a request id does not defeat the cache unless a policy looks at it.
 */
export function authorizationCacheKey(input: KmsAuthorizationInput): string {
  const { request } = input;
  const p = request.principal;
  const parts: string[] = [
    p.type,
    p.arn,
    p.roleArn ?? '',
    p.accountId,
    p.userId,
    request.action.toLowerCase(),
    request.resource,
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
  const collect = (policy: CompiledPolicy | undefined) => {
    if (policy !== undefined) for (const k of policy.referencedKeys) keys.add(k);
  };
  collect(input.keyPolicy);
  collect(input.vpcEndpointPolicy);
  collect(input.sessionPolicy);
  input.identityPolicies.forEach(collect);
  for (const level of input.serviceControlPolicies ?? []) level.forEach(collect);
  for (const k of [...keys].sort()) {
    const v = request.conditions.get(k);
    parts.push(
      `${k}=${v === undefined ? '\u0001' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify([...v])}`,
    );
  }
  return parts.join('\u0000');
}
