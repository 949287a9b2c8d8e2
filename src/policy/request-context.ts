import { AWS_CONDITION_KEYS as AWS, conditionKey, KMS_CONDITION_KEYS as KMS } from './condition-keys.js';

/** CloudTrail's userIdentity.type for the principals Trent knows. */
export type PrincipalType = 'Root' | 'IAMUser' | 'AssumedRole' | 'AWSService';

/**
 * The authenticated principal of a request, as policies see it.
 * - Root: `arn:aws:iam::<acct>:root`, userId = account id.
 * - IAMUser: `arn:aws:iam::<acct>:user/<path><name>`, userId = `AIDA…`, userName set.
 * - AssumedRole: `arn:aws:sts::<acct>:assumed-role/<role>/<session>`, roleArn = the role's IAM ARN,
 *   userId = `AROA…:<session>`.
 * - AWSService: a service principal such as `ec2.amazonaws.com` (arn and service name both hold it).
 */
export interface Principal {
  readonly type: PrincipalType;
  readonly accountId: string;
  readonly arn: string;
  readonly userId: string;
  readonly userName?: string | undefined;
  readonly roleArn?: string | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
  /** Temporary credentials (a role session): when STS issued them, in ms. */
  readonly tokenIssuedAt?: number | undefined;
}

/** A condition key's value in a request: single-valued, or a set (e.g. kms:EncryptionContextKeys). */
export type ConditionValue = string | readonly string[];

/** Condition values keyed by the case-folded key name (see `conditionKey()`). */
export type ConditionValues = ReadonlyMap<string, ConditionValue>;

/** What one policy decision is about. */
export interface RequestContext {
  readonly principal: Principal;
  /** `kms:Encrypt`; compared case-insensitively. */
  readonly action: string;
  /** The resource ARN (the key ARN, or an alias ARN). */
  readonly resource: string;
  readonly conditions: ConditionValues;
}

export interface RequestContextInput {
  principal: Principal;
  action: string;
  resource: string;
  /** Request-specific condition keys (any case); they win over the ones derived from the principal. */
  conditions?: Readonly<Record<string, ConditionValue | undefined>>;
  /** Sets aws:CurrentTime and aws:EpochTime. */
  now?: Date;
}

/** IAM's aws:PrincipalType value for each principal type. */
const PRINCIPAL_TYPE_VALUE: Record<PrincipalType, string> = {
  Root: 'Account',
  IAMUser: 'User',
  AssumedRole: 'AssumedRole',
  AWSService: 'Service',
};

/**
 * Builds a request context: the global keys IAM derives from the principal (aws:PrincipalArn —
 * the role ARN for an assumed-role session —, aws:PrincipalAccount, aws:PrincipalType, aws:userid,
 * aws:username for IAM users, aws:PrincipalTag/*, kms:CallerAccount, aws:PrincipalIsAWSService,
 * aws:PrincipalServiceName for a service, aws:TokenIssueTime and aws:MultiFactorAuthPresent for
 * temporary credentials), the clock keys when `now` is given, then the request's own keys. The
 * values are collected when first read: a decision found in the cache of a policy that reads no
 * condition key reads none.
 */
export function requestContext(input: RequestContextInput): RequestContext {
  let values: ConditionValues | undefined;
  return {
    principal: input.principal,
    action: input.action,
    resource: input.resource,
    get conditions(): ConditionValues {
      values ??= conditionValues(input);
      return values;
    },
  };
}

function conditionValues(input: RequestContextInput): ConditionValues {
  // The request's own keys win over the principal's: set after them.
  const values = new Map(principalValues(input.principal));
  if (input.now !== undefined) {
    setValue(values, AWS.CurrentTime, input.now.toISOString());
    setValue(values, AWS.EpochTime, String(Math.floor(input.now.getTime() / 1000)));
  }
  const conditions = input.conditions ?? {};
  for (const k of Object.keys(conditions)) setValue(values, k, conditions[k]);
  return values;
}

const PRINCIPAL_VALUES = new WeakMap<Principal, ConditionValues>();

/** The keys IAM derives from the principal: the same for every request of a cached principal. */
function principalValues(principal: Principal): ConditionValues {
  const cached = PRINCIPAL_VALUES.get(principal);
  if (cached !== undefined) return cached;
  const values = new Map<string, ConditionValue>();
  setValue(values, AWS.PrincipalIsAWSService, String(principal.type === 'AWSService'));
  if (principal.type === 'AWSService') setValue(values, AWS.PrincipalServiceName, principal.arn);
  else {
    const arn = principal.type === 'AssumedRole' ? (principal.roleArn ?? principal.arn) : principal.arn;
    setValue(values, AWS.PrincipalArn, arn);
    setValue(values, AWS.PrincipalAccount, principal.accountId);
    setValue(values, AWS.PrincipalType, PRINCIPAL_TYPE_VALUE[principal.type]);
    setValue(values, AWS.UserId, principal.userId);
    if (principal.type === 'IAMUser') setValue(values, AWS.Username, principal.userName);
    for (const [k, v] of Object.entries(principal.tags ?? {})) setValue(values, AWS.PrincipalTagPrefix + k, v);
    setValue(values, KMS.CallerAccount, principal.accountId);
  }
  // Present only for temporary credentials, as in IAM; Trent's sessions are never MFA-authenticated.
  if (principal.tokenIssuedAt !== undefined) {
    setValue(values, AWS.TokenIssueTime, new Date(principal.tokenIssuedAt).toISOString());
    setValue(values, AWS.MultiFactorAuthPresent, 'false');
  }
  PRINCIPAL_VALUES.set(principal, values);
  return values;
}

function setValue(values: Map<string, ConditionValue>, key: string, value: ConditionValue | undefined): void {
  if (value !== undefined) values.set(conditionKey(key), value);
}
