import { evaluatePolicy } from '../../../src/policy/evaluate-policy.js';
import { parsePolicy } from '../../../src/policy/parse-policy.js';
import type { CompiledPolicy, PolicyKind } from '../../../src/policy/policy.js';
import { type Principal, type RequestContextInput, requestContext } from '../../../src/policy/request-context.js';

export const A = '111122223333';
export const B = '444455556666';
export const REGION = 'us-east-1';
export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const KEY_ARN = `arn:aws:kms:${REGION}:${A}:key/${KEY_ID}`;

export const rootOf = (account: string): Principal => ({
  type: 'Root',
  accountId: account,
  arn: `arn:aws:iam::${account}:root`,
  userId: account,
});

export const user = (name: string, account = A, tags?: Record<string, string>): Principal => ({
  type: 'IAMUser',
  accountId: account,
  arn: `arn:aws:iam::${account}:user/${name}`,
  userId: `AIDA${name.toUpperCase()}`,
  userName: name,
  tags,
});

export const session = (role: string, name: string, account = A, tags?: Record<string, string>): Principal => ({
  type: 'AssumedRole',
  accountId: account,
  arn: `arn:aws:sts::${account}:assumed-role/${role}/${name}`,
  roleArn: `arn:aws:iam::${account}:role/${role}`,
  userId: `AROA${role.toUpperCase()}:${name}`,
  tags,
});

export const service = (name: string): Principal => ({
  type: 'AWSService',
  accountId: '',
  arn: name,
  userId: name,
});

export type Stmt = Record<string, unknown>;

export function policy(statements: Stmt | Stmt[], kind: PolicyKind = 'resource', id?: string): CompiledPolicy {
  return parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), { kind, id: id ?? kind });
}

export function ctx(input: Partial<RequestContextInput> = {}) {
  return requestContext({ principal: user('alice'), action: 'kms:Encrypt', resource: KEY_ARN, ...input });
}

/** Evaluates an identity-policy statement (Action kms:*, Resource *) with one condition. */
export function condition(
  cond: Record<string, unknown>,
  conditions: RequestContextInput['conditions'],
  extra: Partial<RequestContextInput> = {},
) {
  const p = policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: cond }, 'identity');
  return evaluatePolicy(p, ctx({ conditions, ...extra })).decision === 'Allow';
}
