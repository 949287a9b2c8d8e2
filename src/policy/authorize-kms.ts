import { accessDeniedMessage, type DenialReason } from './access-denied-message.js';
import { allowMatch, type Decision, evaluatePolicy, type PolicyEvaluation } from './evaluate-policy.js';
import { type ChildGrant, type GrantInput, type GrantOutcome, grantOutcome } from './grant-constraints.js';
import type { CompiledPolicy } from './policy.js';
import type { RequestContext } from './request-context.js';

/**
 * The AWS KMS authorization flow (reference §4.10) as a pure function of its inputs.
 *
 * 1. An explicit Deny in any applicable policy — SCPs, the key policy, the caller's IAM policies,
 *    the VPC endpoint policy — denies.
 * 2. SCPs of the caller's account: every level of the organization must allow.
 * 3. The VPC endpoint policy, when the request came through one, must allow.
 * 4. The key policy allows the caller directly (names the principal, its role, or `*`) → allow;
 *    from another account the caller's IAM policies must allow too.
 * 5. A grant the caller holds allows the operation and its constraints are met (for CreateGrant:
 *    the new grant stays within it) → allow.
 * 6. The key policy allows the caller's account (delegation) and the caller's IAM policies allow →
 *    allow. An account's root user needs no IAM policy.
 * 7. Otherwise implicit deny.
 * A role session with a session policy (AssumeRole `Policy`) may do only what the session policy
 * allows too, except where the key policy names the session itself (IAM User Guide, "Session
 * policies": a resource-based policy naming the role or the account is limited by the session
 * policy, one naming the session's ARN is not); grants are limited like a key policy naming the role.
 * Cross-account, only the operations of `CROSS_ACCOUNT_ACTIONS` can be allowed at all.
 * Without a key policy (CreateKey, ListKeys, … — no key resource) only IAM policies decide.
 */
export interface KmsAuthorizationInput {
  readonly request: RequestContext;
  /** Account that owns the key (or the resource). */
  readonly resourceAccountId: string;
  /** The key's policy; undefined for operations without a key resource. */
  readonly keyPolicy: CompiledPolicy | undefined;
  /** The caller's IAM policies (user, role, groups); none for root users and service principals. */
  readonly identityPolicies: readonly CompiledPolicy[];
  /** SCPs by organization level, root first; undefined or empty when the account is in no organization. */
  readonly serviceControlPolicies?: readonly (readonly CompiledPolicy[])[] | undefined;
  readonly vpcEndpointPolicy?: CompiledPolicy | undefined;
  /** The session policy of a role session, when AssumeRole was given one. */
  readonly sessionPolicy?: CompiledPolicy | undefined;
  /** Grants on the key whose grantee is the caller (or the caller's role / account). */
  readonly grants?: readonly GrantInput[] | undefined;
  /** The request's encryption context, for grant constraints. */
  readonly encryptionContext?: Readonly<Record<string, string>> | undefined;
  /** CreateGrant: the grant being created, which a grant that allows CreateGrant must contain. */
  readonly childGrant?: ChildGrant | undefined;
  /** Lower-case actions another account's principal can be allowed; default CROSS_ACCOUNT_ACTIONS. */
  readonly crossAccountActions?: ReadonlySet<string> | undefined;
}

/** The rule that decided. */
export type DecisionRule =
  | 'explicit-deny'
  | 'scp-does-not-allow'
  | 'vpc-endpoint-policy-does-not-allow'
  | 'key-policy'
  | 'key-policy-and-iam'
  | 'grant'
  | 'iam'
  | 'cross-account-not-supported'
  | 'no-resource-policy-allows'
  | 'no-identity-policy-allows'
  | 'no-session-policy-allows';

export interface GrantTrace {
  readonly grantId: string;
  readonly outcome: GrantOutcome | 'needs-iam' | 'needs-session-policy';
}

export interface KmsAuthorization {
  readonly decision: Decision;
  readonly rule: DecisionRule;
  /** The AccessDeniedException message when denied. */
  readonly message: string | undefined;
  /** The grant that allowed, if a grant did. */
  readonly grantId: string | undefined;
  readonly trace: {
    readonly serviceControlPolicies: readonly (readonly PolicyEvaluation[])[];
    readonly vpcEndpointPolicy: PolicyEvaluation | undefined;
    readonly keyPolicy: PolicyEvaluation | undefined;
    readonly identityPolicies: readonly PolicyEvaluation[];
    readonly sessionPolicy?: PolicyEvaluation | undefined;
    readonly grants: readonly GrantTrace[];
  };
}

/** Operations a principal of another account can be allowed (reference §4.10). */
export const CROSS_ACCOUNT_ACTIONS: ReadonlySet<string> = new Set(
  [
    'Encrypt',
    'Decrypt',
    'ReEncryptFrom',
    'ReEncryptTo',
    'GenerateDataKey',
    'GenerateDataKeyWithoutPlaintext',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
    'GenerateMac',
    'VerifyMac',
    'Sign',
    'Verify',
    'DeriveSharedSecret',
    'CreateGrant',
    'DescribeKey',
    'GetKeyRotationStatus',
    'GetPublicKey',
    'ListGrants',
    'RetireGrant',
    'RevokeGrant',
  ].map((a) => `kms:${a}`.toLowerCase()),
);

export function authorizeKms(input: KmsAuthorizationInput): KmsAuthorization {
  const { request } = input;
  const { principal } = request;
  const scps = (input.serviceControlPolicies ?? []).map((level) => level.map((p) => evaluatePolicy(p, request)));
  const vpce = input.vpcEndpointPolicy && evaluatePolicy(input.vpcEndpointPolicy, request);
  const key = input.keyPolicy && evaluatePolicy(input.keyPolicy, request);
  const identity = input.identityPolicies.map((p) => evaluatePolicy(p, request));
  const session = input.sessionPolicy && evaluatePolicy(input.sessionPolicy, request);
  const sessionAllows = session === undefined || session.decision === 'Allow';
  const grants: GrantTrace[] = [];
  const trace = {
    serviceControlPolicies: scps,
    vpcEndpointPolicy: vpce,
    keyPolicy: key,
    identityPolicies: identity,
    sessionPolicy: session,
    grants,
  };

  const result = (
    decision: Decision,
    rule: DecisionRule,
    reason?: DenialReason,
    grantId?: string,
  ): KmsAuthorization => ({
    decision,
    rule,
    message: reason && accessDeniedMessage(principal.arn, request.action, request.resource, reason),
    grantId,
    trace,
  });
  const deny = (rule: DecisionRule, reason: DenialReason) =>
    result(rule === 'explicit-deny' ? 'ExplicitDeny' : 'ImplicitDeny', rule, reason);

  // 1. Explicit deny anywhere.
  if (scps.some((level) => level.some((e) => e.decision === 'ExplicitDeny'))) {
    return deny('explicit-deny', { kind: 'explicit-deny', in: 'service control' });
  }
  if (key?.decision === 'ExplicitDeny') return deny('explicit-deny', { kind: 'explicit-deny', in: 'resource-based' });
  if (identity.some((e) => e.decision === 'ExplicitDeny')) {
    return deny('explicit-deny', { kind: 'explicit-deny', in: 'identity-based' });
  }
  if (vpce?.decision === 'ExplicitDeny') return deny('explicit-deny', { kind: 'explicit-deny', in: 'VPC endpoint' });
  if (session?.decision === 'ExplicitDeny') return deny('explicit-deny', { kind: 'explicit-deny', in: 'session' });

  // 2–3. Guard rails must allow.
  if (principal.type !== 'AWSService' && scps.some((level) => !level.some((e) => e.decision === 'Allow'))) {
    return deny('scp-does-not-allow', { kind: 'no-allow', in: 'service control' });
  }
  if (vpce !== undefined && vpce.decision !== 'Allow') {
    return deny('vpc-endpoint-policy-does-not-allow', { kind: 'no-allow', in: 'VPC endpoint' });
  }

  const identityAllows =
    principal.type === 'Root' || (principal.type !== 'AWSService' && identity.some((e) => e.decision === 'Allow'));
  const iamAllows = identityAllows && sessionAllows;
  // Which side was missing when the caller's own permissions fall short.
  const noIamAllow = () =>
    identityAllows
      ? deny('no-session-policy-allows', { kind: 'no-allow', in: 'session' })
      : deny('no-identity-policy-allows', { kind: 'no-allow', in: 'identity-based' });
  if (key === undefined) return iamAllows ? result('Allow', 'iam') : noIamAllow();

  const crossAccount = principal.type !== 'AWSService' && principal.accountId !== input.resourceAccountId;
  if (crossAccount && !(input.crossAccountActions ?? CROSS_ACCOUNT_ACTIONS).has(request.action.toLowerCase())) {
    return deny('cross-account-not-supported', { kind: 'no-allow', in: 'resource-based' });
  }
  const keyMatch = key.decision === 'Allow' ? allowMatch(key) : undefined;

  // 4. The key policy allows the caller directly.
  const keyAllowsDirectly = keyMatch === 'principal' || keyMatch === 'any';
  const sessionLimitsKey = keyAllowsDirectly && !sessionAllows && !namesSession(key, input);
  if (keyAllowsDirectly && !sessionLimitsKey) {
    if (!crossAccount) return result('Allow', 'key-policy');
    if (iamAllows) return result('Allow', 'key-policy-and-iam');
  }

  // 5. Grants.
  const operation = request.action.replace(/^kms:/i, '');
  for (const grant of input.grants ?? []) {
    const outcome = grantOutcome(grant, operation, input.encryptionContext, input.childGrant);
    if (outcome === 'allows' && grant.granteeIsAccount === true && !iamAllows) {
      grants.push({ grantId: grant.grantId, outcome: 'needs-iam' });
      continue;
    }
    if (outcome === 'allows' && !sessionAllows) {
      grants.push({ grantId: grant.grantId, outcome: 'needs-session-policy' });
      continue;
    }
    grants.push({ grantId: grant.grantId, outcome });
    if (outcome === 'allows') return result('Allow', 'grant', undefined, grant.grantId);
  }

  // 6. Delegation to the caller's account, and IAM allows.
  if (keyMatch === 'account' && iamAllows) return result('Allow', 'key-policy-and-iam');

  // 7. Implicit deny: say which side was missing.
  if (sessionLimitsKey && !crossAccount) return deny('no-session-policy-allows', { kind: 'no-allow', in: 'session' });
  if (keyMatch !== undefined) return noIamAllow();
  if (!sessionAllows && identityAllows) return noIamAllow();
  return deny('no-resource-policy-allows', { kind: 'no-allow', in: 'resource-based' });
}

/**
 * Does the key policy allow the caller by the session's own ARN (not its role's, not `*`)? Such a
 * grant of permission is added after the session policy is applied, so that policy does not limit it.
 */
function namesSession(key: PolicyEvaluation, input: KmsAuthorizationInput): boolean {
  const { request, keyPolicy } = input;
  if (keyPolicy === undefined || request.principal.type !== 'AssumedRole') return false;
  const asSessionOnly = { ...request, principal: { ...request.principal, roleArn: undefined } };
  return key.decision === 'Allow' && allowMatch(evaluatePolicy(keyPolicy, asSessionOnly)) === 'principal';
}
