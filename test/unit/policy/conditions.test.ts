// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax, not a template.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePolicy } from '../../../src/policy/evaluate-policy.js';
import type { Principal } from '../../../src/policy/request-context.js';
import { A, condition, ctx, policy, rootOf, service, session, user } from './fixtures.js';

const EC = 'kms:EncryptionContext:dept';

describe('condition operators', () => {
  it('StringEquals / StringNotEquals: exact, case-sensitive; several values are OR', () => {
    assert.equal(condition({ StringEquals: { [EC]: 'finance' } }, { [EC]: 'finance' }), true);
    assert.equal(condition({ StringEquals: { [EC]: 'finance' } }, { [EC]: 'Finance' }), false);
    assert.equal(condition({ StringEquals: { [EC]: ['hr', 'finance'] } }, { [EC]: 'finance' }), true);
    assert.equal(condition({ StringEquals: { [EC]: 'fin*' } }, { [EC]: 'finance' }), false, 'no wildcards');
    assert.equal(condition({ StringNotEquals: { [EC]: ['hr', 'it'] } }, { [EC]: 'finance' }), true);
    assert.equal(condition({ StringNotEquals: { [EC]: ['hr', 'finance'] } }, { [EC]: 'finance' }), false);
  });

  it('StringEqualsIgnoreCase / StringNotEqualsIgnoreCase', () => {
    assert.equal(condition({ StringEqualsIgnoreCase: { [EC]: 'FINANCE' } }, { [EC]: 'finance' }), true);
    assert.equal(condition({ StringNotEqualsIgnoreCase: { [EC]: 'FINANCE' } }, { [EC]: 'finance' }), false);
    assert.equal(condition({ StringNotEqualsIgnoreCase: { [EC]: 'hr' } }, { [EC]: 'finance' }), true);
  });

  it('StringLike / StringNotLike: * and ?, case-sensitive', () => {
    assert.equal(condition({ StringLike: { [EC]: 'fin*' } }, { [EC]: 'finance' }), true);
    assert.equal(condition({ StringLike: { [EC]: 'fin?nce' } }, { [EC]: 'finance' }), true);
    assert.equal(condition({ StringLike: { [EC]: 'fin?' } }, { [EC]: 'finance' }), false);
    assert.equal(condition({ StringLike: { [EC]: 'FIN*' } }, { [EC]: 'finance' }), false);
    assert.equal(condition({ StringLike: { [EC]: 'a.b' } }, { [EC]: 'axb' }), false, 'regex characters are literal');
    assert.equal(condition({ StringLike: { [EC]: '*' } }, { [EC]: '' }), true);
    assert.equal(condition({ StringNotLike: { [EC]: ['hr*', 'it*'] } }, { [EC]: 'finance' }), true);
    assert.equal(condition({ StringNotLike: { [EC]: 'f*' } }, { [EC]: 'finance' }), false);
  });

  it('Numeric*', () => {
    const K = 'kms:RotationPeriodInDays';
    const n = (op: string, policyValue: string | number, value: string) =>
      condition({ [op]: { [K]: policyValue } }, { [K]: value });
    assert.equal(n('NumericEquals', 90, '90'), true);
    assert.equal(n('NumericEquals', '90', '90.0'), true);
    assert.equal(n('NumericNotEquals', 90, '91'), true);
    assert.equal(n('NumericNotEquals', 90, '90'), false);
    assert.equal(n('NumericLessThan', 90, '89'), true);
    assert.equal(n('NumericLessThan', 90, '90'), false);
    assert.equal(n('NumericLessThanEquals', 90, '90'), true);
    assert.equal(n('NumericGreaterThan', 90, '90'), false);
    assert.equal(n('NumericGreaterThan', 90, '365'), true);
    assert.equal(n('NumericGreaterThanEquals', '-1.5', '-1.5'), true);
    assert.equal(n('NumericEquals', 90, 'ninety'), false, 'a request value that is not a number matches nothing');
  });

  it('Date*: ISO 8601 and epoch seconds, either side', () => {
    const K = 'aws:CurrentTime';
    const d = (op: string, policyValue: string, value: string) =>
      condition({ [op]: { [K]: policyValue } }, { [K]: value });
    assert.equal(d('DateLessThan', '2030-01-01T00:00:00Z', '2025-06-01T12:00:00Z'), true);
    assert.equal(d('DateLessThan', '2020-01-01', '2025-06-01T12:00:00Z'), false);
    assert.equal(d('DateGreaterThan', '2020-01-01', '2025-06-01T12:00:00Z'), true);
    assert.equal(d('DateEquals', '1700000000', '2023-11-14T22:13:20Z'), true);
    assert.equal(d('DateEquals', '2023-11-14T22:13:20Z', '1700000000'), true);
    assert.equal(d('DateNotEquals', '2023-11-14T22:13:20Z', '1700000001'), true);
    assert.equal(d('DateLessThanEquals', '2023-11-14T23:13:20+01:00', '1700000000'), true);
    assert.equal(d('DateGreaterThanEquals', '2023-11-14T22:13:20', '1700000000'), true, 'no zone = UTC');
    assert.equal(d('DateLessThan', '2030-01-01', 'soon'), false);
    // requestContext's `now` sets aws:CurrentTime and aws:EpochTime.
    const p = policy(
      {
        Effect: 'Allow',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01', 'aws:EpochTime': '1900000000' } },
      },
      'identity',
    );
    assert.equal(evaluatePolicy(p, ctx({ now: new Date('2025-01-01T00:00:00Z') })).decision, 'Allow');
    assert.equal(evaluatePolicy(p, ctx({ now: new Date('2031-01-01T00:00:00Z') })).decision, 'ImplicitDeny');
  });

  it('Bool and BinaryEquals', () => {
    const K = 'aws:SecureTransport';
    assert.equal(condition({ Bool: { [K]: 'true' } }, { [K]: 'true' }), true);
    assert.equal(condition({ Bool: { [K]: true } }, { [K]: 'TRUE' }), true);
    assert.equal(condition({ Bool: { [K]: 'false' } }, { [K]: 'true' }), false);
    assert.equal(condition({ Bool: { [K]: 'true' } }, { [K]: 'yes' }), false);
    assert.equal(condition({ BinaryEquals: { 'kms:x': 'AQID' } }, { 'kms:x': 'AQID' }), true);
    assert.equal(condition({ BinaryEquals: { 'kms:x': 'AQID' } }, { 'kms:x': 'AQIE' }), false);
  });

  it('IpAddress / NotIpAddress: IPv4 and IPv6 CIDR', () => {
    const K = 'aws:SourceIp';
    const ip = (op: string, block: string | string[], value: string) =>
      condition({ [op]: { [K]: block } }, { [K]: value });
    assert.equal(ip('IpAddress', '203.0.113.0/24', '203.0.113.77'), true);
    assert.equal(ip('IpAddress', '203.0.113.0/24', '203.0.114.1'), false);
    assert.equal(ip('IpAddress', '203.0.113.5', '203.0.113.5'), true);
    assert.equal(ip('IpAddress', '0.0.0.0/0', '8.8.8.8'), true);
    assert.equal(ip('IpAddress', ['10.0.0.0/8', '2001:db8::/32'], '2001:db8:0:1::7'), true);
    assert.equal(ip('IpAddress', '2001:db8::/32', '2001:db9::1'), false);
    assert.equal(ip('IpAddress', '2001:db8::/32', '10.0.0.1'), false, 'families do not mix');
    assert.equal(ip('IpAddress', '10.0.0.0/8', '::ffff:10.1.2.3'), true, 'IPv4-mapped IPv6');
    assert.equal(ip('IpAddress', '::1/128', '::1'), true);
    assert.equal(ip('IpAddress', '10.0.0.0/8', 'not-an-ip'), false);
    assert.equal(ip('NotIpAddress', '10.0.0.0/8', '192.168.1.1'), true);
    assert.equal(ip('NotIpAddress', '10.0.0.0/8', '10.9.9.9'), false);
  });

  it('Arn*: six parts compared one by one, wildcards within a part', () => {
    const K = 'aws:SourceArn';
    const a = (op: string, pattern: string, value: string) => condition({ [op]: { [K]: pattern } }, { [K]: value });
    const role = 'arn:aws:iam::111122223333:role/app';
    assert.equal(a('ArnEquals', role, role), true);
    assert.equal(a('ArnLike', 'arn:aws:iam::*:role/*', role), true);
    assert.equal(a('ArnEquals', 'arn:aws:iam::*:role/*', role), true, 'ArnEquals takes wildcards too, as in IAM');
    assert.equal(a('ArnLike', 'arn:aws:iam::111122223333:role/ap?', role), true);
    assert.equal(a('ArnLike', 'arn:aws:iam::111122223333:user/*', role), false);
    assert.equal(
      a('ArnLike', 'arn:aws:s3:::bucket/a:b/*', 'arn:aws:s3:::bucket/a:b/c'),
      true,
      'resource part keeps colons',
    );
    assert.equal(a('ArnLike', 'arn:aws:*', role), true, 'a short pattern with a wildcard reads missing parts as *');
    assert.equal(a('ArnLike', 'arn:*:iam::111122223333:role/app', 'not-an-arn'), false);
    assert.equal(a('ArnNotEquals', role, 'arn:aws:iam::111122223333:role/other'), true);
    assert.equal(a('ArnNotLike', 'arn:aws:iam::*:role/*', role), false);
  });

  it('condition key names are case-insensitive, values are not', () => {
    assert.equal(
      condition({ StringEquals: { 'KMS:ENCRYPTIONCONTEXT:Dept': 'x' } }, { 'kms:encryptioncontext:dept': 'x' }),
      true,
    );
    assert.equal(condition({ StringEquals: { 'kms:CallerAccount': '111122223333' } }, {}), true, 'derived key');
    assert.equal(condition({ stringequals: { 'kms:calleraccount': '111122223333' } }, {}), true, 'operator case');
  });

  it('several keys and several operators are AND', () => {
    const both = {
      StringEquals: { [EC]: 'finance', 'kms:EncryptionContext:env': 'prod' },
      Bool: { 'aws:SecureTransport': 'true' },
    };
    assert.equal(
      condition(both, { [EC]: 'finance', 'kms:EncryptionContext:env': 'prod', 'aws:SecureTransport': 'true' }),
      true,
    );
    assert.equal(
      condition(both, { [EC]: 'finance', 'kms:EncryptionContext:env': 'dev', 'aws:SecureTransport': 'true' }),
      false,
    );
    assert.equal(
      condition(both, { [EC]: 'finance', 'kms:EncryptionContext:env': 'prod', 'aws:SecureTransport': 'false' }),
      false,
    );
  });
});

describe('missing keys, IfExists and Null', () => {
  it('a missing key makes positive operators false and negated operators true', () => {
    for (const op of ['StringEquals', 'StringLike', 'StringEqualsIgnoreCase'])
      assert.equal(condition({ [op]: { [EC]: 'x' } }, {}), false, op);
    for (const op of ['StringNotEquals', 'StringNotLike', 'StringNotEqualsIgnoreCase'])
      assert.equal(condition({ [op]: { [EC]: 'x' } }, {}), true, op);
    assert.equal(condition({ NumericLessThan: { 'kms:n': 1 } }, {}), false);
    assert.equal(condition({ NumericNotEquals: { 'kms:n': 1 } }, {}), true);
    assert.equal(condition({ DateNotEquals: { 'kms:d': '2020-01-01' } }, {}), true);
    assert.equal(condition({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {}), false);
    assert.equal(condition({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {}), true);
    assert.equal(condition({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:s3:::*' } }, {}), true);
    assert.equal(condition({ Bool: { 'aws:SecureTransport': 'false' } }, {}), false);
  });

  it('…IfExists: true when the key is missing, the operator otherwise', () => {
    assert.equal(condition({ StringEqualsIfExists: { [EC]: 'x' } }, {}), true);
    assert.equal(condition({ StringEqualsIfExists: { [EC]: 'x' } }, { [EC]: 'y' }), false);
    assert.equal(condition({ StringEqualsIfExists: { [EC]: 'x' } }, { [EC]: 'x' }), true);
    assert.equal(condition({ StringNotLikeIfExists: { [EC]: 'x*' } }, { [EC]: 'xy' }), false);
    assert.equal(condition({ NumericLessThanIfExists: { 'kms:n': 5 } }, {}), true);
    assert.equal(condition({ NumericLessThanIfExists: { 'kms:n': 5 } }, { 'kms:n': '7' }), false);
    assert.equal(condition({ DateGreaterThanIfExists: { 'kms:d': '2020-01-01' } }, {}), true);
    assert.equal(condition({ BoolIfExists: { 'aws:SecureTransport': 'true' } }, {}), true);
    assert.equal(
      condition({ BoolIfExists: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'false' }),
      false,
    );
    assert.equal(condition({ IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, {}), true);
    assert.equal(
      condition({ NotIpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '10.0.0.1' }),
      false,
    );
    assert.equal(condition({ ArnLikeIfExists: { 'aws:SourceArn': 'arn:aws:s3:::b' } }, {}), true);
    assert.equal(condition({ BinaryEqualsIfExists: { 'kms:x': 'AQID' } }, {}), true);
    assert.equal(condition({ StringEqualsIgnoreCaseIfExists: { [EC]: 'X' } }, { [EC]: 'x' }), true);
  });

  it('Null: "true" means the key is absent, "false" present', () => {
    assert.equal(condition({ Null: { [EC]: 'true' } }, {}), true);
    assert.equal(condition({ Null: { [EC]: 'true' } }, { [EC]: 'x' }), false);
    assert.equal(condition({ Null: { [EC]: 'false' } }, { [EC]: '' }), true, 'an empty string is present');
    assert.equal(condition({ Null: { [EC]: false } }, {}), false);
    assert.equal(condition({ Null: { 'aws:TagKeys': 'true' } }, { 'aws:TagKeys': [] }), true, 'an empty set is absent');
  });
});

describe('set qualifiers ForAnyValue: / ForAllValues:', () => {
  const KEYS = 'kms:EncryptionContextKeys';
  const any = (op: string, policyValues: string[], values: string[] | undefined) =>
    condition({ [`ForAnyValue:${op}`]: { [KEYS]: policyValues } }, values === undefined ? {} : { [KEYS]: values });
  const all = (op: string, policyValues: string[], values: string[] | undefined) =>
    condition({ [`ForAllValues:${op}`]: { [KEYS]: policyValues } }, values === undefined ? {} : { [KEYS]: values });

  it('ForAnyValue: some request value matches; false when the key is missing or empty', () => {
    assert.equal(any('StringEquals', ['dept', 'env'], ['env', 'other']), true);
    assert.equal(any('StringEquals', ['dept', 'env'], ['other']), false);
    assert.equal(any('StringEquals', ['dept'], undefined), false);
    assert.equal(any('StringEquals', ['dept'], []), false);
    assert.equal(any('StringLike', ['d*'], ['x', 'dept']), true);
    assert.equal(any('StringEqualsIfExists', ['dept'], undefined), true);
  });

  it('ForAllValues: every request value matches; true when the key is missing or empty', () => {
    assert.equal(all('StringEquals', ['dept', 'env'], ['env', 'dept']), true);
    assert.equal(all('StringEquals', ['dept', 'env'], ['env', 'other']), false);
    assert.equal(all('StringEquals', ['dept'], undefined), true);
    assert.equal(all('StringEquals', ['dept'], []), true);
    assert.equal(all('StringLike', ['d*', 'e*'], ['dept', 'env']), true);
  });

  it('negated operators under a qualifier', () => {
    // ForAnyValue:StringNotEquals — some request value equals none of the policy values.
    assert.equal(any('StringNotEquals', ['dept', 'env'], ['dept', 'other']), true);
    assert.equal(any('StringNotEquals', ['dept', 'env'], ['dept', 'env']), false);
    assert.equal(any('StringNotEquals', ['dept'], undefined), false);
    // ForAllValues:StringNotEquals — no request value equals any policy value.
    assert.equal(all('StringNotEquals', ['dept', 'env'], ['a', 'b']), true);
    assert.equal(all('StringNotEquals', ['dept', 'env'], ['a', 'env']), false);
    assert.equal(all('StringNotEquals', ['dept'], undefined), true);
    assert.equal(all('StringNotLike', ['d*'], ['env']), true);
  });

  it('a multi-valued key without a qualifier: some pair matches (negated: none does)', () => {
    assert.equal(condition({ StringEquals: { [KEYS]: 'env' } }, { [KEYS]: ['dept', 'env'] }), true);
    assert.equal(condition({ StringNotEquals: { [KEYS]: 'env' } }, { [KEYS]: ['dept', 'env'] }), false);
  });

  it('other operator families take qualifiers too', () => {
    assert.equal(
      condition({ 'ForAnyValue:IpAddress': { 'kms:ips': '10.0.0.0/8' } }, { 'kms:ips': ['1.1.1.1', '10.2.3.4'] }),
      true,
    );
    assert.equal(condition({ 'ForAllValues:NumericLessThan': { 'kms:n': 10 } }, { 'kms:n': ['1', '11'] }), false);
    assert.equal(
      condition(
        { 'ForAllValues:ArnLike': { 'kms:a': 'arn:aws:iam::*:role/*' } },
        { 'kms:a': ['arn:aws:iam::1:role/x'] },
      ),
      true,
    );
  });
});

describe('policy variables', () => {
  const p = (cond: Record<string, unknown>, version = '2012-10-17') =>
    JSON.stringify({ Version: version, Statement: { Effect: 'Allow', Action: '*', Resource: '*', Condition: cond } });

  it('${aws:username}, ${aws:PrincipalTag/x}, ${aws:userid} in condition values', () => {
    const alice = user('alice', undefined, { team: 'blue' });
    assert.equal(
      condition({ StringEquals: { [EC]: '${aws:username}' } }, { [EC]: 'alice' }, { principal: alice }),
      true,
    );
    assert.equal(
      condition({ StringEquals: { [EC]: '${aws:username}' } }, { [EC]: 'bob' }, { principal: alice }),
      false,
    );
    assert.equal(
      condition(
        { StringLike: { [EC]: 'team-${aws:PrincipalTag/team}-*' } },
        { [EC]: 'team-blue-1' },
        { principal: alice },
      ),
      true,
    );
    assert.equal(
      condition({ StringEquals: { [EC]: '${aws:userid}' } }, { [EC]: 'AIDAALICE' }, { principal: alice }),
      true,
    );
    assert.equal(
      condition({ StringEquals: { [EC]: '${AWS:UserName}' } }, { [EC]: 'alice' }, { principal: alice }),
      true,
      'names are case-insensitive',
    );
  });

  it('a missing variable without a default matches nothing; a default is used when missing', () => {
    const alice = user('alice');
    assert.equal(
      condition({ StringEquals: { [EC]: '${aws:PrincipalTag/team}' } }, { [EC]: '' }, { principal: alice }),
      false,
    );
    assert.equal(
      condition({ StringEquals: { [EC]: "${aws:PrincipalTag/team, 'none'}" } }, { [EC]: 'none' }, { principal: alice }),
      true,
    );
    assert.equal(
      condition(
        { StringEquals: { [EC]: "${aws:PrincipalTag/team, 'none'}" } },
        { [EC]: 'red' },
        { principal: user('x', undefined, { team: 'red' }) },
      ),
      true,
    );
    // With a negated operator, an unresolvable value simply never matches.
    assert.equal(
      condition({ StringNotEquals: { [EC]: '${aws:PrincipalTag/team}' } }, { [EC]: 'x' }, { principal: alice }),
      true,
    );
  });

  it('${*}, ${?}, ${$} are literal characters; substituted text is literal', () => {
    assert.equal(condition({ StringLike: { [EC]: 'a${*}b' } }, { [EC]: 'a*b' }), true);
    assert.equal(condition({ StringLike: { [EC]: 'a${*}b' } }, { [EC]: 'axxb' }), false);
    assert.equal(condition({ StringLike: { [EC]: 'a${?}' } }, { [EC]: 'a?' }), true);
    assert.equal(condition({ StringLike: { [EC]: 'a${?}' } }, { [EC]: 'ab' }), false);
    assert.equal(condition({ StringEquals: { [EC]: '${$}{x}' } }, { [EC]: '${x}' }), true);
    const star = user('s', undefined, { t: '*' });
    assert.equal(
      condition({ StringLike: { [EC]: '${aws:PrincipalTag/t}' } }, { [EC]: 'anything' }, { principal: star }),
      false,
    );
    assert.equal(
      condition({ StringLike: { [EC]: '${aws:PrincipalTag/t}' } }, { [EC]: '*' }, { principal: star }),
      true,
    );
  });

  it('are not substituted in a 2008-10-17 policy, nor for numeric operators', async () => {
    const { parsePolicy } = await import('../../../src/policy/parse-policy.js');
    const old = parsePolicy(p({ StringEquals: { [EC]: '${aws:username}' } }, '2008-10-17'), { kind: 'identity' });
    assert.equal(evaluatePolicy(old, ctx({ conditions: { [EC]: 'alice' } })).decision, 'ImplicitDeny');
    assert.equal(evaluatePolicy(old, ctx({ conditions: { [EC]: '${aws:username}' } })).decision, 'Allow');
  });
});

describe('keys derived from the principal', () => {
  const issued = Date.parse('2026-11-28T01:02:03.456Z');
  const valuesOf = (principal: Principal) => ctx({ principal }).conditions;

  it('aws:PrincipalIsAWSService on every request; aws:PrincipalServiceName for a service', () => {
    assert.equal(valuesOf(user('alice')).get('aws:principalisawsservice'), 'false');
    assert.equal(valuesOf(user('alice')).get('aws:principalservicename'), undefined);
    assert.equal(valuesOf(service('s3.amazonaws.com')).get('aws:principalisawsservice'), 'true');
    assert.equal(valuesOf(service('s3.amazonaws.com')).get('aws:principalservicename'), 's3.amazonaws.com');
  });

  it('aws:TokenIssueTime and aws:MultiFactorAuthPresent for temporary credentials only', () => {
    const bob = { ...session('app', 'bob'), tokenIssuedAt: issued };
    assert.equal(valuesOf(bob).get('aws:tokenissuetime'), '2026-11-28T01:02:03.456Z');
    assert.equal(valuesOf(bob).get('aws:multifactorauthpresent'), 'false');
    for (const longTerm of [user('alice'), rootOf(A)]) {
      assert.equal(valuesOf(longTerm).get('aws:tokenissuetime'), undefined);
      assert.equal(valuesOf(longTerm).get('aws:multifactorauthpresent'), undefined);
    }
    // Revoking the sessions issued before a moment, as IAM's "revoke active sessions" does.
    const revoke = policy(
      {
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': '2026-11-28T02:00:00Z' } },
      },
      'identity',
    );
    assert.equal(evaluatePolicy(revoke, ctx({ principal: bob })).decision, 'ExplicitDeny');
    const later = { ...bob, tokenIssuedAt: Date.parse('2026-11-28T03:00:00Z') };
    assert.equal(evaluatePolicy(revoke, ctx({ principal: later })).decision, 'ImplicitDeny');
  });
});
