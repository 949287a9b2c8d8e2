import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizationCacheKey } from '../../../src/policy/authorization-cache-key.js';
import { authorizeKms, type KmsAuthorizationInput } from '../../../src/policy/authorize-kms.js';
import type { GrantInput } from '../../../src/policy/grant-constraints.js';
import { checkPolicyLockout, POLICY_LOCKOUT_MESSAGE } from '../../../src/policy/policy-lockout-check.js';
import type { Principal, RequestContextInput } from '../../../src/policy/request-context.js';
import { A, B, ctx, KEY_ARN, policy, rootOf, service, session, user } from './fixtures.js';

const DEFAULT_KEY_POLICY = policy({
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${A}:root` },
  Action: 'kms:*',
  Resource: '*',
});
const ALLOW_KMS = policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }, 'identity', 'iam-allow-kms');
const ALLOW_ALL = policy({ Effect: 'Allow', Action: '*', Resource: '*' }, 'identity', 'scp-full');

function run(
  principal: Principal,
  overrides: Partial<KmsAuthorizationInput> = {},
  request: Partial<RequestContextInput> = {},
) {
  return authorizeKms({
    request: ctx({ principal, ...request }),
    resourceAccountId: A,
    keyPolicy: DEFAULT_KEY_POLICY,
    identityPolicies: [],
    ...overrides,
  });
}

const msg = (arn: string, action: string, tail: string) =>
  `User: ${arn} is not authorized to perform: ${action} on resource: ${KEY_ARN} ${tail}`;

describe('authorizeKms — same account', () => {
  it('default key policy: delegation to the account, then IAM must allow', () => {
    const alice = user('alice');
    const denied = run(alice);
    assert.equal(denied.decision, 'ImplicitDeny');
    assert.equal(denied.rule, 'no-identity-policy-allows');
    assert.equal(
      denied.message,
      msg(alice.arn, 'kms:Encrypt', 'because no identity-based policy allows the kms:Encrypt action'),
    );
    const allowed = run(alice, { identityPolicies: [ALLOW_KMS] });
    assert.deepEqual([allowed.decision, allowed.rule, allowed.message], ['Allow', 'key-policy-and-iam', undefined]);
  });

  it("the account's root user needs no IAM policy", () => {
    assert.equal(run(rootOf(A)).decision, 'Allow');
  });

  it('a key policy naming the principal allows without IAM', () => {
    const kp = policy({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${A}:user/alice` },
      Action: 'kms:Encrypt',
      Resource: '*',
    });
    assert.equal(run(user('alice'), { keyPolicy: kp }).rule, 'key-policy');
    const r = run(user('bob'), { keyPolicy: kp, identityPolicies: [ALLOW_KMS] });
    assert.equal(r.decision, 'ImplicitDeny');
    assert.equal(
      r.message,
      msg(user('bob').arn, 'kms:Encrypt', 'because no resource-based policy allows the kms:Encrypt action'),
    );
    const role = policy({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${A}:role/app` },
      Action: 'kms:*',
      Resource: '*',
    });
    assert.equal(run(session('app', 'job-7'), { keyPolicy: role }).decision, 'Allow');
  });

  it('a key policy without delegation makes IAM allows useless, but IAM denies still apply', () => {
    const kp = policy({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${A}:user/alice` },
      Action: 'kms:*',
      Resource: '*',
    });
    assert.equal(run(user('bob'), { keyPolicy: kp, identityPolicies: [ALLOW_KMS] }).decision, 'ImplicitDeny');
    const deny = policy({ Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' }, 'identity');
    const r = run(user('alice'), { keyPolicy: kp, identityPolicies: [deny] });
    assert.equal(r.decision, 'ExplicitDeny');
    assert.equal(r.message, msg(user('alice').arn, 'kms:Encrypt', 'with an explicit deny in an identity-based policy'));
  });

  it('an explicit deny in the key policy wins over every allow', () => {
    const kp = policy([
      { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${A}:user/alice` }, Action: 'kms:Encrypt', Resource: '*' },
    ]);
    const grants: GrantInput[] = [{ grantId: 'g1', operations: ['Encrypt'] }];
    const r = run(user('alice'), { keyPolicy: kp, identityPolicies: [ALLOW_KMS], grants });
    assert.equal(r.decision, 'ExplicitDeny');
    assert.equal(r.message, msg(user('alice').arn, 'kms:Encrypt', 'with an explicit deny in a resource-based policy'));
    assert.equal(run(user('bob'), { keyPolicy: kp }).decision, 'Allow');
  });

  it('a service principal is allowed only by a statement naming it', () => {
    const ec2 = service('ec2.amazonaws.com');
    assert.equal(run(ec2).decision, 'ImplicitDeny');
    const kp = policy({
      Effect: 'Allow',
      Principal: { Service: 'ec2.amazonaws.com' },
      Action: 'kms:Decrypt',
      Resource: '*',
    });
    assert.equal(run(ec2, { keyPolicy: kp }, { action: 'kms:Decrypt' }).decision, 'Allow');
  });

  it('without a key resource (CreateKey, ListKeys) only IAM decides', () => {
    assert.equal(
      run(user('alice'), { keyPolicy: undefined }, { action: 'kms:CreateKey', resource: '*' }).decision,
      'ImplicitDeny',
    );
    assert.equal(
      run(user('alice'), { keyPolicy: undefined, identityPolicies: [ALLOW_KMS] }, { action: 'kms:CreateKey' }).rule,
      'iam',
    );
    assert.equal(run(rootOf(A), { keyPolicy: undefined }, { action: 'kms:ListKeys' }).decision, 'Allow');
  });
});

describe('authorizeKms — guard rails', () => {
  it('SCPs: every level must allow; an SCP deny is an explicit deny', () => {
    const alice = user('alice');
    const kmsOnly = policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }, 'identity', 'scp-kms');
    const s3Only = policy({ Effect: 'Allow', Action: 's3:*', Resource: '*' }, 'identity', 'scp-s3');
    const base = { identityPolicies: [ALLOW_KMS] };
    assert.equal(run(alice, { ...base, serviceControlPolicies: [[ALLOW_ALL], [kmsOnly]] }).decision, 'Allow');
    const gate = run(alice, { ...base, serviceControlPolicies: [[ALLOW_ALL], [s3Only]] });
    assert.equal(gate.rule, 'scp-does-not-allow');
    assert.equal(
      gate.message,
      msg(alice.arn, 'kms:Encrypt', 'because no service control policy allows the kms:Encrypt action'),
    );
    assert.equal(
      run(rootOf(A), { serviceControlPolicies: [[s3Only]] }).decision,
      'ImplicitDeny',
      'SCPs bind the root user too',
    );
    const denyEncrypt = policy({ Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' }, 'identity', 'scp-deny');
    const denied = run(alice, { ...base, serviceControlPolicies: [[ALLOW_ALL, denyEncrypt]] });
    assert.equal(denied.decision, 'ExplicitDeny');
    assert.equal(denied.message, msg(alice.arn, 'kms:Encrypt', 'with an explicit deny in a service control policy'));
    // A key policy naming the principal does not get past the SCP gate either.
    const direct = policy({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:*', Resource: '*' });
    assert.equal(run(alice, { keyPolicy: direct, serviceControlPolicies: [[s3Only]] }).decision, 'ImplicitDeny');
  });

  it('the VPC endpoint policy, when there is one, must allow', () => {
    const alice = user('alice');
    const vpce = policy(
      { Effect: 'Allow', Principal: '*', Action: ['kms:Decrypt', 'kms:DescribeKey'], Resource: '*' },
      'resource',
      'vpce',
    );
    const base = { identityPolicies: [ALLOW_KMS], vpcEndpointPolicy: vpce };
    assert.equal(run(alice, base, { action: 'kms:Decrypt' }).decision, 'Allow');
    const r = run(alice, base);
    assert.equal(r.rule, 'vpc-endpoint-policy-does-not-allow');
    assert.equal(
      r.message,
      msg(alice.arn, 'kms:Encrypt', 'because no VPC endpoint policy allows the kms:Encrypt action'),
    );
    const denyVpce = policy(
      [
        { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' },
        {
          Effect: 'Deny',
          Principal: '*',
          Action: '*',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:SourceVpc': 'vpc-1' } },
        },
      ],
      'resource',
      'vpce',
    );
    const d = run(
      alice,
      { identityPolicies: [ALLOW_KMS], vpcEndpointPolicy: denyVpce },
      { conditions: { 'aws:SourceVpc': 'vpc-2' } },
    );
    assert.equal(d.message, msg(alice.arn, 'kms:Encrypt', 'with an explicit deny in a VPC endpoint policy'));
    assert.equal(
      run(
        alice,
        { identityPolicies: [ALLOW_KMS], vpcEndpointPolicy: denyVpce },
        { conditions: { 'aws:SourceVpc': 'vpc-1' } },
      ).decision,
      'Allow',
    );
  });
});

describe('authorizeKms — cross-account', () => {
  const eve = user('eve', B);
  const shareWithB = policy([
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${B}:root` },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:PutKeyPolicy'],
      Resource: '*',
    },
  ]);
  const iamForKey = policy({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: KEY_ARN }, 'identity');

  it('needs both the key policy and the caller’s IAM policy', () => {
    assert.equal(run(eve, { keyPolicy: shareWithB, identityPolicies: [iamForKey] }).decision, 'Allow');
    const noIam = run(eve, { keyPolicy: shareWithB });
    assert.equal(
      noIam.message,
      msg(eve.arn, 'kms:Encrypt', 'because no identity-based policy allows the kms:Encrypt action'),
    );
    const noKeyPolicy = run(eve, { identityPolicies: [iamForKey] });
    assert.equal(
      noKeyPolicy.message,
      msg(eve.arn, 'kms:Encrypt', 'because no resource-based policy allows the kms:Encrypt action'),
    );
  });

  it('a key policy naming the external principal still needs its IAM allow', () => {
    const kp = policy({ Effect: 'Allow', Principal: { AWS: eve.arn }, Action: 'kms:*', Resource: '*' });
    assert.equal(run(eve, { keyPolicy: kp }).decision, 'ImplicitDeny');
    assert.equal(run(eve, { keyPolicy: kp, identityPolicies: [iamForKey] }).rule, 'key-policy-and-iam');
    assert.equal(run(rootOf(B), { keyPolicy: shareWithB }).decision, 'Allow', "the other account's root");
  });

  it('only the cross-account operations can be allowed', () => {
    const r = run(eve, { keyPolicy: shareWithB, identityPolicies: [ALLOW_KMS] }, { action: 'kms:PutKeyPolicy' });
    assert.equal(r.rule, 'cross-account-not-supported');
    assert.equal(r.decision, 'ImplicitDeny');
  });
});

describe('authorizeKms — grants', () => {
  const alice = user('alice');
  const noDelegation = policy({
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${A}:user/admin` },
    Action: 'kms:*',
    Resource: '*',
  });
  const grant = (g: Partial<GrantInput>): GrantInput => ({ grantId: 'g1', operations: ['Encrypt', 'Decrypt'], ...g });
  const withGrant = (g: GrantInput, ec?: Record<string, string>, action = 'kms:Encrypt') =>
    run(alice, { keyPolicy: noDelegation, grants: [g], encryptionContext: ec }, { action });

  it('a grant for the operation allows without any policy', () => {
    const r = withGrant(grant({}));
    assert.deepEqual([r.decision, r.rule, r.grantId], ['Allow', 'grant', 'g1']);
    assert.equal(withGrant(grant({ operations: ['Decrypt'] })).decision, 'ImplicitDeny');
    assert.deepEqual(withGrant(grant({ operations: ['Decrypt'] })).trace.grants, [
      { grantId: 'g1', outcome: 'operation-not-granted' },
    ]);
  });

  it('EncryptionContextEquals: exactly these pairs, keys case-insensitive, values case-sensitive', () => {
    const g = grant({ constraints: { encryptionContextEquals: { Dept: 'finance', env: 'prod' } } });
    assert.equal(withGrant(g, { dept: 'finance', ENV: 'prod' }).decision, 'Allow');
    assert.equal(withGrant(g, { dept: 'Finance', env: 'prod' }).decision, 'ImplicitDeny');
    assert.equal(withGrant(g, { dept: 'finance', env: 'prod', x: '1' }).decision, 'ImplicitDeny');
    assert.equal(withGrant(g, { dept: 'finance' }).decision, 'ImplicitDeny');
    assert.equal(withGrant(g, undefined).decision, 'ImplicitDeny');
    assert.deepEqual(withGrant(g, undefined).trace.grants, [{ grantId: 'g1', outcome: 'constraint-not-met' }]);
  });

  it('EncryptionContextSubset: these pairs at least', () => {
    const g = grant({ constraints: { encryptionContextSubset: { dept: 'finance' } } });
    assert.equal(withGrant(g, { DEPT: 'finance', extra: 'y' }).decision, 'Allow');
    assert.equal(withGrant(g, { dept: 'hr' }).decision, 'ImplicitDeny');
    assert.equal(withGrant(g, {}).decision, 'ImplicitDeny');
    assert.equal(
      withGrant(
        grant({ operations: ['DescribeKey'], constraints: { encryptionContextSubset: { a: 'b' } } }),
        {},
        'kms:DescribeKey',
      ).decision,
      'Allow',
      'ignored for DescribeKey',
    );
  });

  it('a grant to an account needs the identity’s IAM allow; a grant never overrides a deny', () => {
    const g = grant({ granteeIsAccount: true });
    assert.equal(withGrant(g).decision, 'ImplicitDeny');
    assert.equal(run(alice, { keyPolicy: noDelegation, grants: [g], identityPolicies: [ALLOW_KMS] }).decision, 'Allow');
    const deny = policy({ Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' }, 'identity');
    assert.equal(
      run(alice, { keyPolicy: noDelegation, grants: [grant({})], identityPolicies: [deny] }).decision,
      'ExplicitDeny',
    );
  });

  it('a cross-account grantee is allowed by its grant', () => {
    assert.equal(run(user('eve', B), { keyPolicy: noDelegation, grants: [grant({})] }).decision, 'Allow');
  });
});

describe('policy lockout safety check', () => {
  const alice = user('alice');
  const input = (text: ReturnType<typeof policy>, principal: Principal = alice, identityPolicies = [ALLOW_KMS]) => ({
    newPolicy: text,
    request: ctx({ principal, action: 'kms:CreateKey' }),
    keyArn: KEY_ARN,
    keyAccountId: A,
    identityPolicies,
  });

  it('passes when the new policy still lets the caller call PutKeyPolicy', () => {
    checkPolicyLockout(input(DEFAULT_KEY_POLICY));
    const named = policy({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:PutKeyPolicy', Resource: '*' });
    checkPolicyLockout(input(named, alice, []));
    checkPolicyLockout(input(DEFAULT_KEY_POLICY, rootOf(A), []));
  });

  it('fails with AWS’s message when it would not', () => {
    const lockout = (p: ReturnType<typeof policy>, principal?: Principal, iam?: ReturnType<typeof policy>[]) =>
      assert.throws(
        () => checkPolicyLockout(input(p, principal, iam)),
        (err: Error & { code?: string }) =>
          err.code === 'MalformedPolicyDocumentException' && err.message === POLICY_LOCKOUT_MESSAGE,
      );
    lockout(policy({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:Encrypt', Resource: '*' }));
    lockout(DEFAULT_KEY_POLICY, alice, []);
    lockout(
      policy([
        { Effect: 'Allow', Principal: { AWS: A }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: '*', Action: 'kms:PutKeyPolicy', Resource: '*' },
      ]),
    );
    assert.equal(
      POLICY_LOCKOUT_MESSAGE,
      'The new key policy will not allow you to update the key policy in the future.',
    );
  });
});

describe('authorizationCacheKey', () => {
  const kp = policy({
    Effect: 'Allow',
    Principal: '*',
    Action: 'kms:*',
    Resource: '*',
    Condition: { StringEquals: { 'kms:EncryptionContext:dept': 'finance' } },
  });
  const input = (conditions: Record<string, string>, principal = user('alice'), action = 'kms:Encrypt') => ({
    request: ctx({ principal, action, conditions }),
    resourceAccountId: A,
    keyPolicy: kp,
    identityPolicies: [],
  });

  it('ignores condition keys no policy reads, and changes with those it does', () => {
    const a = authorizationCacheKey(
      input({ 'kms:EncryptionContext:dept': 'finance', 'aws:CurrentTime': '2025-01-01T00:00:00Z' }),
    );
    const b = authorizationCacheKey(
      input({ 'kms:EncryptionContext:dept': 'finance', 'aws:CurrentTime': '2026-01-01T00:00:00Z' }),
    );
    assert.equal(a, b);
    assert.notEqual(a, authorizationCacheKey(input({ 'kms:EncryptionContext:dept': 'hr' })));
    assert.notEqual(a, authorizationCacheKey(input({ 'kms:EncryptionContext:dept': 'finance' }, user('bob'))));
    assert.notEqual(
      a,
      authorizationCacheKey(input({ 'kms:EncryptionContext:dept': 'finance' }, user('alice'), 'kms:Decrypt')),
    );
    assert.notEqual(
      a,
      authorizationCacheKey({ ...input({ 'kms:EncryptionContext:dept': 'finance' }), identityPolicies: [ALLOW_KMS] }),
    );
  });

  it('equal keys mean equal decisions over a sample of inputs', () => {
    const decisions = new Map<string, string>();
    const principals = [user('alice'), user('bob', B), session('app', 's'), rootOf(A)];
    for (const principal of principals) {
      for (const dept of ['finance', 'hr', undefined]) {
        for (const time of ['2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z']) {
          const conditions: Record<string, string> = { 'aws:CurrentTime': time };
          if (dept !== undefined) conditions['kms:EncryptionContext:dept'] = dept;
          const i = input(conditions, principal);
          const key = authorizationCacheKey(i);
          const d = authorizeKms(i).decision;
          const seen = decisions.get(key);
          if (seen !== undefined) assert.equal(d, seen);
          decisions.set(key, d);
        }
      }
    }
    assert.equal(decisions.size, principals.length * 3);
  });

  it('counts the resource only when a policy reads it', () => {
    const other = KEY_ARN.replace(/key\/.*/, 'key/0000aaaa-00aa-00aa-00aa-000000aaaa00');
    const on = (resource: string, identityPolicies = [ALLOW_KMS]) =>
      authorizationCacheKey({
        request: ctx({ principal: user('alice'), resource }),
        resourceAccountId: A,
        keyPolicy: DEFAULT_KEY_POLICY,
        identityPolicies,
      });
    // Resource "*" everywhere: one decision for every key.
    assert.equal(on(KEY_ARN), on(other));
    // An IAM policy that names keys: a decision per key.
    const oneKey = policy({ Effect: 'Allow', Action: 'kms:*', Resource: KEY_ARN }, 'identity', 'one-key');
    assert.notEqual(on(KEY_ARN, [oneKey]), on(other, [oneKey]));
    assert.equal(authorizeKms({ ...inputOn(KEY_ARN), identityPolicies: [oneKey] }).decision, 'Allow');
    assert.equal(authorizeKms({ ...inputOn(other), identityPolicies: [oneKey] }).decision, 'ImplicitDeny');
    // NotResource "*" matches no resource, whatever it is.
    const none = policy({ Effect: 'Allow', Action: 'kms:*', NotResource: '*' }, 'identity', 'none');
    assert.equal(on(KEY_ARN, [none]), on(other, [none]));
  });
});

function inputOn(resource: string): KmsAuthorizationInput {
  return {
    request: ctx({ principal: user('alice'), resource }),
    resourceAccountId: A,
    keyPolicy: DEFAULT_KEY_POLICY,
    identityPolicies: [],
  };
}
