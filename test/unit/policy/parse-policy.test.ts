import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkKeyPolicy, MAX_POLICY_BYTES } from '../../../src/keys/key-policy.js';
import { parsePolicy } from '../../../src/policy/parse-policy.js';

function refused(doc: unknown, message: string | RegExp, kind: 'resource' | 'identity' = 'resource') {
  const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
  assert.throws(
    () => parsePolicy(text, { kind }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MalformedPolicyDocumentException');
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

const OK = { Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'kms:*', Resource: '*' };
const doc = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });

describe('parsePolicy', () => {
  it('accepts a statement as one object or a list, and reads Sid, Id and the statements', () => {
    const one = parsePolicy(JSON.stringify({ Version: '2012-10-17', Id: 'k', Statement: { Sid: 'a b', ...OK } }), {
      kind: 'resource',
    });
    assert.equal(one.id, 'k');
    assert.equal(one.statements.length, 1);
    assert.equal(one.statements[0]?.sid, 'a b');
    const two = parsePolicy(JSON.stringify(doc(OK, { ...OK, Effect: 'Deny' })), { kind: 'resource', id: 'named' });
    assert.equal(two.id, 'named');
    assert.deepEqual(
      two.statements.map((s) => [s.index, s.effect]),
      [
        [1, 'Allow'],
        [2, 'Deny'],
      ],
    );
    assert.equal(two.version, '2012-10-17');
    assert.match(two.fingerprint, /^[0-9a-f]{32}$/);
  });

  it('says where a JSON syntax error is, without echoing the document', () => {
    refused(
      'this is not JSON',
      'The policy is not valid JSON: unexpected token (expected true) at line 1, column 1 (offset 0).',
    );
    refused('{\n  "Version": "2012-10-17",\n  "Statement": [ } ]\n}', /at line 3, column 18 \(offset 46\)\.$/);
    refused('{"Version": "2012-10-17"', /unexpected end of the document|expected ',' or '}'/);
    refused('{"a": 1} x', /unexpected data after the end of the document/);
    refused('['.repeat(100), /nesting deeper than 64 levels/);
  });

  it('refuses duplicate member names', () => {
    refused(
      '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}}',
      /duplicate member name "Effect" at line 1, column 55/,
    );
  });

  it('names the statement and the element at fault', () => {
    refused(doc(OK, { ...OK, Effect: 'allow' }), 'Statement 2: Effect must be "Allow" or "Deny".');
    refused(
      doc({ ...OK, Action: 'kmsEncrypt' }),
      /^Statement 1: Action "kmsEncrypt" must be "\*" or "<service>:<action>"/,
    );
    refused(doc({ ...OK, NotAction: 'kms:Decrypt' }), 'Statement 1: Action and NotAction cannot both be present.');
    refused(doc({ ...OK, NotResource: '*' }), 'Statement 1: Resource and NotResource cannot both be present.');
    refused(doc({ ...OK, Resource: 'key/1' }), 'Statement 1: Resource "key/1" must be "*" or an ARN.');
    refused(doc({ ...OK, Resource: [] }), 'Statement 1: Resource must not be an empty list.');
    refused(doc({ ...OK, Action: ['kms:Encrypt', 3] }), 'Statement 1: Action must be a string or a list of strings.');
    refused(doc({ ...OK, Sid: 7 }), 'Statement 1: Sid must be a string.');
    refused(doc({ ...OK, Effects: 'Allow' }), 'Statement 1: unknown element "Effects".');
    refused(doc('x'), 'Statement 1 must be a JSON object.');
    refused({ Version: '2012-10-17', Statement: [], Extra: 1 }, /unknown element "Extra"/);
    refused({ Version: '2012-10-17', Statement: [] }, 'The policy must contain at least one Statement.');
    refused({ Version: '2012-10-17' }, 'The policy must contain at least one Statement.');
    refused({ Version: '2020-01-01', Statement: OK }, /Version must be "2012-10-17" or "2008-10-17"/);
    refused([], 'The policy must be a JSON object.');
  });

  it('checks principals: the element, its type and each value', () => {
    const { Principal: _p, ...noPrincipal } = OK;
    refused(doc(noPrincipal), 'Statement 1: a resource-based policy statement must have a Principal or NotPrincipal.');
    refused(doc({ ...OK, NotPrincipal: '*' }), 'Statement 1: Principal and NotPrincipal cannot both be present.');
    refused(
      doc({ ...OK, Principal: { AWS: 'arn:aws:iam::1111:user/x' } }),
      'Policy contains a statement with one or more invalid principals. Statement 1: "arn:aws:iam::1111:user/x" is not a valid AWS principal.',
    );
    refused(doc({ ...OK, Principal: { AWS: 'arn:aws:iam::111122223333:user/*' } }), /invalid principals.*user\/\*/);
    refused(doc({ ...OK, Principal: { Human: 'bob' } }), /unknown principal type "Human"/);
    refused(doc({ ...OK, Principal: 'someone' }), /Principal must be "\*" or an object/);
    refused(doc(OK), 'Statement 1: Principal is not allowed in an identity-based policy.', 'identity');
    for (const p of [
      '*',
      { AWS: '*' },
      { AWS: ['111122223333', 'arn:aws:iam::111122223333:root'] },
      { AWS: 'arn:aws:iam::111122223333:user/division/alice' },
      { AWS: 'arn:aws:iam::111122223333:role/admin' },
      { AWS: 'arn:aws:sts::111122223333:assumed-role/admin/sess-1' },
      { Service: ['ec2.amazonaws.com', 'logs.us-east-1.amazonaws.com'] },
      { Federated: 'cognito-identity.amazonaws.com' },
    ]) {
      parsePolicy(JSON.stringify(doc({ ...OK, Principal: p })), { kind: 'resource' });
    }
  });

  it('checks conditions: operator, values per operator family', () => {
    const withCond = (Condition: unknown) => doc({ ...OK, Condition });
    refused(
      withCond({ StringEqualz: { 'kms:CallerAccount': '1' } }),
      'Statement 1: unknown condition operator "StringEqualz".',
    );
    refused(
      withCond({ 'ForSomeValues:StringLike': { 'aws:TagKeys': 'a' } }),
      /unknown condition operator "ForSomeValues:StringLike"/,
    );
    refused(withCond({ NullIfExists: { 'kms:x': 'true' } }), /condition operator "NullIfExists" is not valid/);
    refused(withCond({ Null: { 'kms:x': 'maybe' } }), /"maybe" is not true or false/);
    refused(withCond({ NumericLessThan: { 'kms:RotationPeriodInDays': 'ninety' } }), /"ninety" is not a number/);
    refused(withCond({ DateLessThan: { 'aws:CurrentTime': 'tomorrow' } }), /"tomorrow" is not an ISO 8601 date/);
    refused(withCond({ IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } }), /"10.0.0.0\/33" is not an IPv4 or IPv6/);
    refused(withCond({ Bool: { 'aws:SecureTransport': 'yes' } }), /"yes" is not true or false/);
    refused(
      withCond({ StringEquals: { 'kms:CallerAccount': [] } }),
      /Statement 1: Condition StringEquals kms:CallerAccount has no values/,
    );
    refused(
      withCond({ StringEquals: { 'kms:CallerAccount': { a: 1 } } }),
      /values must be strings, numbers or booleans/,
    );
    refused(withCond({ StringEquals: 'x' }), /Condition operator "StringEquals" must map condition keys to values/);
    refused(withCond(['x']), 'Statement 1: Condition must be an object of operators.');
  });

  it('accepts a statement without Action or Resource (it has no effect)', () => {
    const { Action: _a, ...noAction } = OK;
    const p = parsePolicy(JSON.stringify(doc(noAction)), { kind: 'resource' });
    assert.equal(p.statements[0]?.action, undefined);
  });
});

describe('checkKeyPolicy', () => {
  it('keeps its messages for current callers and returns the compiled policy', () => {
    assert.equal(checkKeyPolicy(JSON.stringify(doc(OK))).statements.length, 1);
    assert.throws(
      () => checkKeyPolicy('this is not JSON'),
      /^MalformedPolicyDocumentException|The policy is not valid JSON/,
    );
    assert.throws(
      () => checkKeyPolicy(JSON.stringify({ Version: '2012-10-17', Statement: [] })),
      /The policy must contain at least one Statement\./,
    );
  });

  it('refuses a policy over 32768 bytes with LimitExceededException', () => {
    const big = JSON.stringify(doc({ ...OK, Sid: 'x'.repeat(MAX_POLICY_BYTES) }));
    assert.throws(
      () => checkKeyPolicy(big),
      (err: Error & { code?: string }) =>
        err.code === 'LimitExceededException' &&
        err.message === 'Policy document exceeds the maximum size of 32768 bytes.',
    );
    // Bytes, not characters: 16385 two-byte characters exceed the quota.
    const wide = JSON.stringify(doc({ ...OK, Sid: '\u00e9'.repeat(16385) }));
    assert.ok(wide.length < MAX_POLICY_BYTES);
    assert.throws(
      () => checkKeyPolicy(wide),
      (err: Error & { code?: string }) => err.code === 'LimitExceededException',
    );
  });

  it('refuses characters outside the allowed set', () => {
    assert.equal(
      checkKeyPolicy(JSON.stringify(doc({ ...OK, Sid: 'caf\u00e9\tx' }))).statements[0]?.sid,
      'caf\u00e9\tx',
    );
    const text = JSON.stringify(doc({ ...OK, Sid: 'smart\u2019quote' }));
    assert.throws(
      () => checkKeyPolicy(text),
      (err: Error & { code?: string }) =>
        err.code === 'MalformedPolicyDocumentException' &&
        err.message ===
          `The policy contains the character U+2019 at offset ${text.indexOf('\u2019')}; only tab, LF, CR and U+0020 to U+00FF are allowed.`,
    );
    assert.throws(() => checkKeyPolicy(`${JSON.stringify(doc(OK))}\u0000`), /U\+0000/);
  });
});
