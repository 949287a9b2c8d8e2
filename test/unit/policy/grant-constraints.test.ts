import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizationCacheKey } from '../../../src/policy/authorization-cache-key.js';
import { authorizeKms, type KmsAuthorizationInput } from '../../../src/policy/authorize-kms.js';
import {
  type ChildGrant,
  childGrantWithin,
  type GrantConstraints,
  type GrantInput,
  grantOutcome,
} from '../../../src/policy/grant-constraints.js';
import { A, ctx, KEY_ARN, policy, user } from './fixtures.js';

/**
 * A grant that includes CreateGrant bounds the grants its grantee creates with it (AWS KMS
 * Developer Guide, "Granting CreateGrant permission"): some or all of its operations, constraints
 * at least as strict.
 */
const parent = (operations: string[], constraints?: GrantConstraints): GrantInput => ({
  grantId: 'parent',
  operations,
  constraints,
});
const child = (operations: string[], constraints?: GrantConstraints): ChildGrant => ({ operations, constraints });

describe('childGrantWithin — operations', () => {
  const p = parent(['CreateGrant', 'Decrypt', 'GenerateDataKey']);

  it('allows some or all of the parent’s operations, CreateGrant included', () => {
    assert.equal(childGrantWithin(p, child(['Decrypt'])), true);
    assert.equal(childGrantWithin(p, child(['CreateGrant', 'Decrypt'])), true);
    assert.equal(childGrantWithin(p, child(['CreateGrant', 'Decrypt', 'GenerateDataKey'])), true);
  });

  it('refuses any operation the parent lacks', () => {
    assert.equal(childGrantWithin(p, child(['Encrypt'])), false);
    assert.equal(childGrantWithin(p, child(['Decrypt', 'ReEncryptFrom'])), false);
    assert.equal(childGrantWithin(p, child(['decrypt'])), false, 'grant operations are case-sensitive names');
  });

  it('an unconstrained parent allows any constraint', () => {
    assert.equal(childGrantWithin(p, child(['Decrypt'], { encryptionContextSubset: { a: '1' } })), true);
    assert.equal(childGrantWithin(p, child(['Decrypt'], { encryptionContextEquals: { a: '1' } })), true);
  });
});

describe('childGrantWithin — encryption context constraints', () => {
  const ops = ['CreateGrant', 'Decrypt'];
  const subsetParent = parent(ops, { encryptionContextSubset: { Dept: 'IT' } });
  const equalsParent = parent(ops, { encryptionContextEquals: { Dept: 'IT', env: 'prod' } });
  const table: [string, GrantInput, GrantConstraints | undefined, boolean][] = [
    ['Subset: the same pairs', subsetParent, { encryptionContextSubset: { Dept: 'IT' } }, true],
    ['Subset: more pairs', subsetParent, { encryptionContextSubset: { Dept: 'IT', team: 'a' } }, true],
    ['Subset: key case differs', subsetParent, { encryptionContextSubset: { dept: 'IT' } }, true],
    ['Subset: value case differs', subsetParent, { encryptionContextSubset: { Dept: 'it' } }, false],
    ['Subset: a pair removed', subsetParent, { encryptionContextSubset: { team: 'a' } }, false],
    ['Subset: another value', subsetParent, { encryptionContextSubset: { Dept: 'HR' } }, false],
    ['Subset: no constraint', subsetParent, undefined, false],
    ['Subset → Equals with the pairs', subsetParent, { encryptionContextEquals: { Dept: 'IT', x: 'y' } }, true],
    ['Subset → Equals without them', subsetParent, { encryptionContextEquals: { x: 'y' } }, false],
    ['Equals: the same', equalsParent, { encryptionContextEquals: { env: 'prod', DEPT: 'IT' } }, true],
    ['Equals: a pair more', equalsParent, { encryptionContextEquals: { Dept: 'IT', env: 'prod', x: 'y' } }, false],
    ['Equals: a pair less', equalsParent, { encryptionContextEquals: { Dept: 'IT' } }, false],
    ['Equals → Subset (looser)', equalsParent, { encryptionContextSubset: { Dept: 'IT', env: 'prod' } }, false],
    ['Equals: no constraint', equalsParent, undefined, false],
    [
      'keys that differ only by case cannot be judged',
      subsetParent,
      { encryptionContextSubset: { Dept: 'IT', DEPT: 'IT' } },
      false,
    ],
  ];
  for (const [label, p, constraints, expected] of table) {
    it(`${label} → ${expected ? 'within' : 'exceeds'}`, () => {
      assert.equal(childGrantWithin(p, child(['Decrypt'], constraints)), expected);
    });
  }

  it('a parent with both constraints needs both met', () => {
    const both = parent(ops, { encryptionContextSubset: { a: '1' }, encryptionContextEquals: { a: '1', b: '2' } });
    assert.equal(childGrantWithin(both, child(['Decrypt'], { encryptionContextEquals: { a: '1', b: '2' } })), true);
    assert.equal(childGrantWithin(both, child(['Decrypt'], { encryptionContextSubset: { a: '1', b: '2' } })), false);
  });
});

describe('grantOutcome for CreateGrant', () => {
  const p = parent(['CreateGrant', 'Decrypt'], { encryptionContextSubset: { Dept: 'IT' } });

  it('judges the grant being created, not the request’s encryption context', () => {
    const stricter = child(['Decrypt'], { encryptionContextSubset: { Dept: 'IT' } });
    assert.equal(grantOutcome(p, 'CreateGrant', undefined, stricter), 'allows');
    assert.equal(grantOutcome(p, 'CreateGrant', undefined, child(['Decrypt'])), 'child-grant-exceeds-grant');
    assert.equal(
      grantOutcome(p, 'CreateGrant', undefined, child(['Encrypt'], stricter.constraints)),
      'child-grant-exceeds-grant',
    );
  });

  it('other operations still check the request’s encryption context', () => {
    assert.equal(grantOutcome(p, 'Decrypt', { Dept: 'IT' }, child(['Encrypt'])), 'allows');
    assert.equal(grantOutcome(p, 'Decrypt', { Dept: 'HR' }), 'constraint-not-met');
  });
});

describe('authorizeKms — CreateGrant from a grant', () => {
  const bob = user('bob');
  // The default key policy delegates to the account; bob has no IAM policy.
  const keyPolicy = policy({
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${A}:root` },
    Action: 'kms:*',
    Resource: '*',
  });
  const grants = [parent(['CreateGrant', 'Decrypt'], { encryptionContextSubset: { Dept: 'IT' } })];
  const input = (childGrant: ChildGrant, identityPolicies = [] as KmsAuthorizationInput['identityPolicies']) => ({
    request: ctx({ principal: bob, action: 'kms:CreateGrant' }),
    resourceAccountId: A,
    keyPolicy,
    identityPolicies,
    grants,
    childGrant,
  });

  it('allows a child within the grant, and denies one beyond it with AWS’s message', () => {
    const within = authorizeKms(input(child(['Decrypt'], { encryptionContextSubset: { Dept: 'IT', x: 'y' } })));
    assert.deepEqual([within.decision, within.rule, within.grantId], ['Allow', 'grant', 'parent']);
    const beyond = authorizeKms(input(child(['Decrypt', 'Encrypt'], { encryptionContextSubset: { Dept: 'IT' } })));
    assert.equal(beyond.decision, 'ImplicitDeny');
    assert.deepEqual(beyond.trace.grants, [{ grantId: 'parent', outcome: 'child-grant-exceeds-grant' }]);
    assert.equal(
      beyond.message,
      `User: ${bob.arn} is not authorized to perform: kms:CreateGrant on resource: ${KEY_ARN} because no identity-based policy allows the kms:CreateGrant action`,
    );
  });

  it('a principal with CreateGrant from a policy is not bounded by its grants', () => {
    const iam = policy({ Effect: 'Allow', Action: 'kms:CreateGrant', Resource: '*' }, 'identity', 'iam-create-grant');
    assert.equal(authorizeKms(input(child(['Encrypt']), [iam])).decision, 'Allow');
  });

  it('memoizes per child grant: two children never share a decision', () => {
    const a = authorizationCacheKey(input(child(['Decrypt'], { encryptionContextSubset: { Dept: 'IT' } })));
    const b = authorizationCacheKey(input(child(['Encrypt'], { encryptionContextSubset: { Dept: 'IT' } })));
    assert.notEqual(a, b);
  });
});
