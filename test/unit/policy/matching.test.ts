// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax, not a template.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePolicy } from '../../../src/policy/evaluate-policy.js';
import { A, B, ctx, KEY_ARN, policy, rootOf, type Stmt, service, session, user } from './fixtures.js';

const decide = (s: Stmt | Stmt[], input: Parameters<typeof ctx>[0] = {}, kind: 'resource' | 'identity' = 'identity') =>
  evaluatePolicy(policy(s, kind), ctx(input)).decision;

describe('Action and NotAction', () => {
  it('matches case-insensitively with * and ?', () => {
    for (const action of [
      'kms:Encrypt',
      'KMS:encrypt',
      'kms:*',
      '*',
      'kms:En*',
      'kms:Encryp?',
      ['kms:Decrypt', 'kms:Encrypt'],
    ]) {
      assert.equal(decide({ Effect: 'Allow', Action: action, Resource: '*' }), 'Allow', JSON.stringify(action));
    }
    for (const action of ['kms:Decrypt', 'kms:Encrypt?', 'kms:En', 's3:*', 'kms:*Decrypt']) {
      assert.equal(decide({ Effect: 'Allow', Action: action, Resource: '*' }), 'ImplicitDeny', action);
    }
  });

  it('NotAction applies to every action except those listed', () => {
    assert.equal(decide({ Effect: 'Allow', NotAction: 'kms:Decrypt', Resource: '*' }), 'Allow');
    assert.equal(decide({ Effect: 'Allow', NotAction: ['kms:Decrypt', 'kms:En*'], Resource: '*' }), 'ImplicitDeny');
    assert.equal(
      decide([
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', NotAction: 'kms:Describe*', Resource: '*' },
      ]),
      'ExplicitDeny',
    );
  });

  it('a statement without Action or Resource has no effect', () => {
    assert.equal(decide({ Effect: 'Deny', Resource: '*' }), 'ImplicitDeny');
    assert.equal(decide({ Effect: 'Deny', Action: '*' }), 'ImplicitDeny');
  });
});

describe('Resource and NotResource', () => {
  it('matches ARNs part by part, case-sensitively, with wildcards', () => {
    for (const r of [
      '*',
      KEY_ARN,
      'arn:aws:kms:*:111122223333:key/*',
      'arn:aws:kms:us-east-?:*:key/1234abcd-*',
      'arn:aws:kms:*',
      'arn:aws:kms',
    ]) {
      assert.equal(decide({ Effect: 'Allow', Action: '*', Resource: r }), 'Allow', r);
    }
    for (const r of [
      KEY_ARN.replace('key/1234abcd', 'key/1234ABCD'),
      'arn:aws:kms:*:444455556666:key/*',
      'arn:aws:kms:us-east-1:111122223333:alias/*',
    ]) {
      assert.equal(decide({ Effect: 'Allow', Action: '*', Resource: r }), 'ImplicitDeny', r);
    }
  });

  it('a short ARN without a wildcard matches nothing in a resource-based policy', () => {
    assert.equal(
      decide({ Effect: 'Allow', Principal: '*', Action: '*', Resource: 'arn:aws:kms' }, {}, 'resource'),
      'ImplicitDeny',
    );
    assert.equal(
      decide({ Effect: 'Allow', Principal: '*', Action: '*', Resource: 'arn:aws:kms*' }, {}, 'resource'),
      'Allow',
    );
  });

  it('NotResource', () => {
    assert.equal(decide({ Effect: 'Allow', Action: '*', NotResource: 'arn:aws:kms:*:*:alias/*' }), 'Allow');
    assert.equal(decide({ Effect: 'Allow', Action: '*', NotResource: 'arn:aws:kms:*:*:key/*' }), 'ImplicitDeny');
  });

  it('substitutes policy variables in Resource', () => {
    const tagged = user('alice', A, { keyid: '1234abcd-12ab-34cd-56ef-1234567890ab' });
    const stmt = { Effect: 'Allow', Action: '*', Resource: 'arn:aws:kms:*:*:key/${aws:PrincipalTag/keyid}' };
    assert.equal(decide(stmt, { principal: tagged }), 'Allow');
    assert.equal(decide(stmt, { principal: user('bob') }), 'ImplicitDeny', 'missing variable');
    const withDefault = {
      ...stmt,
      Resource: "arn:aws:kms:*:*:key/${aws:PrincipalTag/keyid, '1234abcd-12ab-34cd-56ef-1234567890ab'}",
    };
    assert.equal(decide(withDefault, { principal: user('bob') }), 'Allow');
  });
});

describe('Principal and NotPrincipal', () => {
  const allow = (Principal: unknown) => ({ Effect: 'Allow', Principal, Action: '*', Resource: '*' });
  const match = (Principal: unknown, principal = user('alice')) => {
    const e = evaluatePolicy(policy(allow(Principal)), ctx({ principal }));
    return e.decision === 'Allow' ? e.statements[0]?.principalMatch : undefined;
  };

  it('"*" matches everyone', () => {
    assert.equal(match('*'), 'any');
    assert.equal(match({ AWS: '*' }, user('x', B)), 'any');
    assert.equal(match('*', service('ec2.amazonaws.com')), 'any');
  });

  it('an account matches every principal of the account (delegation)', () => {
    assert.equal(match({ AWS: A }), 'account');
    assert.equal(match({ AWS: `arn:aws:iam::${A}:root` }, session('r', 's')), 'account');
    assert.equal(match({ AWS: `arn:aws:iam::${A}:root` }, rootOf(A)), 'account');
    assert.equal(match({ AWS: A }, user('alice', B)), undefined);
    assert.equal(match({ AWS: A }, service('ec2.amazonaws.com')), undefined);
  });

  it('user, role (and its sessions), session and service principals', () => {
    assert.equal(match({ AWS: `arn:aws:iam::${A}:user/alice` }), 'principal');
    assert.equal(match({ AWS: `arn:aws:iam::${A}:user/bob` }), undefined);
    assert.equal(match({ AWS: `arn:aws:iam::${A}:role/app` }, session('app', 's1')), 'principal');
    assert.equal(match({ AWS: `arn:aws:iam::${A}:role/other` }, session('app', 's1')), undefined);
    assert.equal(match({ AWS: `arn:aws:sts::${A}:assumed-role/app/s1` }, session('app', 's1')), 'principal');
    assert.equal(match({ AWS: `arn:aws:sts::${A}:assumed-role/app/s1` }, session('app', 's2')), undefined);
    assert.equal(match({ Service: 'ec2.amazonaws.com' }, service('ec2.amazonaws.com')), 'principal');
    assert.equal(match({ Service: 'ec2.amazonaws.com' }, user('alice')), undefined);
    assert.equal(match({ AWS: [`arn:aws:iam::${A}:user/bob`, A] }), 'account');
    assert.equal(match({ AWS: [A, `arn:aws:iam::${A}:user/alice`] }), 'principal', 'the strongest match wins');
  });

  it('NotPrincipal applies to everyone not listed', () => {
    const deny = (NotPrincipal: unknown, principal = user('alice')) =>
      evaluatePolicy(
        policy([
          { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' },
          { Effect: 'Deny', NotPrincipal, Action: '*', Resource: '*' },
        ]),
        ctx({ principal }),
      ).decision;
    assert.equal(deny({ AWS: `arn:aws:iam::${A}:user/alice` }), 'Allow');
    assert.equal(deny({ AWS: `arn:aws:iam::${A}:user/bob` }), 'ExplicitDeny');
    assert.equal(deny({ AWS: A }), 'Allow', 'the account covers its principals');
    assert.equal(deny({ AWS: A }, user('eve', B)), 'ExplicitDeny');
    assert.equal(deny({ AWS: `arn:aws:iam::${A}:role/app` }, session('app', 's')), 'Allow');
  });
});

describe('evaluation and trace', () => {
  it('Deny wins over Allow; the trace names each statement, what failed and the conditions compared', () => {
    const p = policy(
      [
        { Sid: 'Use', Effect: 'Allow', Principal: { AWS: A }, Action: 'kms:Encrypt', Resource: '*' },
        {
          Sid: 'OnlyFinance',
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:*',
          Resource: '*',
          Condition: { StringNotEquals: { 'kms:EncryptionContext:dept': 'finance' } },
        },
        { Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*' },
      ],
      'resource',
      'key-policy',
    );
    const denied = evaluatePolicy(p, ctx({ conditions: { 'kms:EncryptionContext:dept': 'hr' } }));
    assert.equal(denied.decision, 'ExplicitDeny');
    assert.deepEqual(
      denied.statements.map((s) => [s.policy, s.statement, s.sid, s.applies, s.failed]),
      [
        ['key-policy', 1, 'Use', true, undefined],
        ['key-policy', 2, 'OnlyFinance', true, undefined],
        ['key-policy', 3, undefined, false, 'action'],
      ],
    );
    assert.deepEqual(denied.statements[1]?.conditions, [
      {
        operator: 'StringNotEquals',
        key: 'kms:EncryptionContext:dept',
        policyValues: ['finance'],
        requestValues: ['hr'],
        result: true,
      },
    ]);
    const allowed = evaluatePolicy(p, ctx({ conditions: { 'kms:EncryptionContext:dept': 'finance' } }));
    assert.equal(allowed.decision, 'Allow');
    assert.equal(allowed.statements[1]?.failed, 'condition');
    assert.equal(allowed.statements[1]?.conditions[0]?.result, false);
    const other = evaluatePolicy(
      p,
      ctx({ principal: user('x', B), conditions: { 'kms:EncryptionContext:dept': 'finance' } }),
    );
    assert.equal(other.statements[0]?.failed, 'principal');
  });
});
