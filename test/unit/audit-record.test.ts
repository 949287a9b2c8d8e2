import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../src/audit/canonical.js';
import { buildApiCallRecord, cloudTrailTime, responseDate } from '../../src/audit/record.js';
import { parameterFilter } from '../../src/audit/request-parameters.js';
import { AccessDeniedException } from '../../src/errors.js';
import { OPERATIONS } from '../../src/operations/registry.js';
import type { Shape } from '../../src/wire/shapes.js';

/**
 * Record building is a pure function. For every registered operation, an input with every member
 * filled — blobs and sensitive members with a marker — yields requestParameters without a marker,
 * camelCased, keeping every other member.
 */
const MARKER = 'SECRET-MARKER';

/** The canonical text as docs/audit.md describes it, in Python: reads JSON texts, writes them back canonical. */
const PYTHON_CANONICAL = `
import json, re, sys
def order(names):
    index = sorted((n for n in names if re.fullmatch(r'0|[1-9][0-9]*', n) and int(n) <= 2**32 - 2), key=int)
    return index + sorted((n for n in names if n not in index), key=lambda n: n.encode('utf-16-be'))
def canon(v):
    if isinstance(v, dict):
        return '{' + ','.join(json.dumps(n, ensure_ascii=False) + ':' + canon(v[n]) for n in order(list(v))) + '}'
    if isinstance(v, list):
        return '[' + ','.join(canon(x) for x in v) + ']'
    return json.dumps(v, ensure_ascii=False)
print(json.dumps([canon(json.loads(t)) for t in json.load(sys.stdin)]))
`;

function fill(shape: Shape): { value: unknown; secret: boolean } {
  switch (shape.type) {
    case 'blob':
      return { value: Buffer.from(MARKER), secret: true };
    case 'string':
      return { value: shape.sensitive ? MARKER : (shape.enum?.[0] ?? 'text'), secret: shape.sensitive === true };
    case 'integer':
      return { value: shape.min ?? 1, secret: false };
    case 'boolean':
      return { value: true, secret: false };
    case 'timestamp':
      return { value: 1, secret: false };
    case 'map':
      return { value: { k: 'v' }, secret: false };
    case 'list': {
      const m = fill(shape.member);
      return { value: [m.value], secret: m.secret };
    }
    case 'structure': {
      const out: Record<string, unknown> = {};
      let secret = false;
      for (const [name, member] of Object.entries(shape.members)) {
        const m = fill(member);
        out[name] = m.value;
        secret ||= m.secret;
      }
      return { value: out, secret };
    }
  }
}

describe('audit record building', () => {
  it('never copies a blob or a sensitive member into requestParameters, for any operation', () => {
    let blobs = 0;
    for (const op of OPERATIONS) {
      const input = fill(op.input).value as Record<string, unknown>;
      const params = parameterFilter(op.input)(input) ?? {};
      const text = JSON.stringify(params);
      assert.ok(
        !text.includes(MARKER) && !text.includes(Buffer.from(MARKER).toString('base64')),
        `${op.name}: ${text}`,
      );
      for (const [name, member] of Object.entries(op.input.members)) {
        const camel = name[0]!.toLowerCase() + name.slice(1);
        if (fill(member).secret && member.type !== 'structure' && member.type !== 'list') {
          blobs++;
          assert.equal(Object.hasOwn(params, camel), false, `${op.name}.${name}`);
        } else if (!fill(member).secret) {
          assert.ok(Object.hasOwn(params, camel), `${op.name}.${name} should be kept`);
        }
      }
    }
    assert.ok(blobs >= 5, `only ${blobs} secret members seen`);
  });

  it('puts KmsError.detail in the private trentDetail, and maps AccessDeniedException as CloudTrail does', () => {
    const record = buildApiCallRecord(
      {
        eventName: 'Encrypt',
        input: { KeyId: 'k' },
        parameters: undefined,
        output: undefined,
        error: new AccessDeniedException('not allowed', 'policy says no'),
        caller: {
          accountId: '111122223333',
          arn: 'arn:aws:iam::111122223333:user/u',
          type: 'IAMUser',
          accessKeyId: 'AKIA',
          userName: 'u',
        },
        keyArns: [],
        policyTrace: { statement: 'none' },
      },
      {
        requestId: 'r',
        eventId: 'e',
        time: Date.UTC(2022, 7, 10, 22, 38, 27),
        region: 'us-east-1',
        sourceIp: '::1',
        userAgent: 'x'.repeat(2000),
        accessKeyId: undefined,
        defaultAccountId: '999999999999',
      },
    );
    assert.equal(record.errorCode, 'AccessDenied');
    assert.equal(record.errorMessage, 'not allowed');
    assert.deepEqual(record.trentDetail, { detail: 'policy says no', policyTrace: { statement: 'none' } });
    assert.equal(record.userAgent?.length, 1024);
    assert.equal(record.userIdentity.userName, 'u');
    assert.equal(record.eventTime, '2022-08-10T22:38:27Z');
    assert.equal(record.resources, undefined);
  });

  it('renders times as CloudTrail does', () => {
    assert.equal(cloudTrailTime(Date.UTC(2024, 4, 1, 12, 0, 0, 999)), '2024-05-01T12:00:00Z');
    // The text of the last second is kept: the next second, and an earlier one, are new texts.
    assert.equal(cloudTrailTime(Date.UTC(2024, 4, 1, 12, 0, 0, 0)), '2024-05-01T12:00:00Z');
    assert.equal(cloudTrailTime(Date.UTC(2024, 4, 1, 12, 0, 1, 0)), '2024-05-01T12:00:01Z');
    assert.equal(cloudTrailTime(Date.UTC(1969, 11, 31, 23, 59, 59, 500)), '1969-12-31T23:59:59Z');
    assert.equal(responseDate(Date.UTC(2022, 7, 10, 22, 38, 27)), 'Aug 10, 2022, 10:38:27 PM');
    assert.equal(responseDate(Date.UTC(2022, 0, 1, 0, 5, 0)), 'Jan 1, 2022, 12:05:00 AM');
  });

  it('writes canonical JSON: sorted members, no whitespace, no undefined', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } }),
      '{"a":{"c":null,"d":[2,{"z":1}]},"b":1}',
    );
  });

  it('puts array-index member names first, in numeric order, as docs/audit.md says', () => {
    assert.equal(
      canonicalJson({ b: 1, '10': 'x', '9': 'y', '09': 'z', '4294967295': 'w', A: 2 }),
      '{"9":"y","10":"x","09":"z","4294967295":"w","A":2,"b":1}',
    );
  });

  it('keeps a member named __proto__, in sorted objects and unsorted ones alike', () => {
    assert.equal(canonicalJson(JSON.parse('{"a":{"__proto__":1,"b":2}}')), '{"a":{"__proto__":1,"b":2}}');
    assert.equal(canonicalJson(JSON.parse('{"a":{"b":2,"__proto__":1}}')), '{"a":{"__proto__":1,"b":2}}');
  });

  it('writes what a sorted copy of the value stringifies to, for values sorted or not', () => {
    // The definition: JSON.stringify of a copy with every object's members sorted (canonical.ts
    // skips the copy where a value is in that order already).
    const sortedCopy = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(sortedCopy);
      if (value === null || typeof value !== 'object') return value;
      const out: Record<string, unknown> = Object.create(null);
      for (const name of Object.keys(value).sort()) {
        const member = (value as Record<string, unknown>)[name];
        if (member !== undefined) out[name] = sortedCopy(member);
      }
      return out;
    };
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const names = ['a', 'b', 'B', 'ab', '0', '9', '10', '01', '-1', 'é', '😀', '__proto__', ''];
    const leaves = ['x"\n', 'ü', 1.5, -0, Number.NaN, true, null, undefined, new Date(0), Buffer.from('ab')];
    const make = (depth: number): unknown => {
      const kind = random(depth > 3 ? 1 : 3);
      if (kind === 0) return leaves[random(leaves.length)];
      if (kind === 1) return Array.from({ length: random(4) }, () => make(depth + 1));
      const chosen = Array.from({ length: random(6) }, () => names[random(names.length)] as string);
      if (random(2) === 0) chosen.sort();
      const object: Record<string, unknown> = JSON.parse('{}');
      for (const name of chosen) {
        Object.defineProperty(object, name, { value: make(depth + 1), enumerable: true, configurable: true });
      }
      return object;
    };
    for (let i = 0; i < 20_000; i++) {
      const value = make(0);
      assert.equal(canonicalJson(value), JSON.stringify(sortedCopy(value)));
    }
  });

  it('can be recomputed outside JavaScript by the rule docs/audit.md gives', () => {
    const values = [
      { eventName: 'Encrypt', requestParameters: { encryptionContext: { '10': 'a', '9': 'b', tenant: 'ü', '😀': 1 } } },
      { resources: [{ ARN: 'arn:aws:kms:us-east-1:111122223333:key/1', type: 'AWS::KMS::Key' }], '0': [1, 'a\n"b"'] },
      { '\uff5e': 1, '\u{1f600}': 2, z: { '007': true, '7': false } },
    ];
    const texts = values.map((v) => canonicalJson(v));
    const python = spawnSync('python3', ['-c', PYTHON_CANONICAL], { input: JSON.stringify(texts), encoding: 'utf8' });
    assert.equal(python.status, 0, python.stderr);
    assert.deepEqual(JSON.parse(python.stdout), texts);
  });
});
