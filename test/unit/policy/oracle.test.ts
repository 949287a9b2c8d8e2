// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax, not a template.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { authorizeKms } from '../../../src/policy/authorize-kms.js';
import { parsePolicy } from '../../../src/policy/parse-policy.js';
import { type Principal, requestContext } from '../../../src/policy/request-context.js';
import { A, B, KEY_ARN, session, user } from './fixtures.js';

/**
 * Differential test against an independent IAM evaluator, @cloud-copilot/iam-simulate (AGPL,
 * a pinned devDependency used only here): a seeded generator builds key policies, IAM policies
 * and SCPs from the operators both engines support, and the two decisions must agree.
 */

type Json = Record<string, unknown>;

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  return { next, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof rng>;

const PRINCIPALS: Principal[] = [
  user('alice', A, { team: 'blue' }),
  user('bob', A),
  session('app', 's1', A, { team: 'red' }),
  user('eve', B, { team: 'blue' }),
  session('ops', 'night', B),
];

const ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:EnableKeyRotation'];
const CROSS_ACCOUNT_OK = new Set(['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey']);

/** A condition generator: the operator family, the key it reads and the actions it is valid for. */
interface CondGen {
  actions?: readonly string[];
  make(r: Rng): [string, string, unknown];
  request(r: Rng, principal: Principal): [string, string | string[]] | undefined;
}

const EC_ACTIONS = ['kms:Encrypt', 'kms:Decrypt'];
const ifExists = (r: Rng, op: string) => (r.chance(0.25) ? `${op}IfExists` : op);
const maybe = <T>(r: Rng, v: T, p = 0.8) => (r.chance(p) ? v : undefined);

const CONDITIONS: CondGen[] = [
  {
    actions: EC_ACTIONS,
    make: (r) => [
      ifExists(
        r,
        r.pick([
          'StringEquals',
          'StringNotEquals',
          'StringEqualsIgnoreCase',
          'StringNotEqualsIgnoreCase',
          'StringLike',
          'StringNotLike',
        ]),
      ),
      'kms:EncryptionAlgorithm',
      r.chance(0.3)
        ? ['SYMMETRIC_DEFAULT', r.pick(['RSAES_OAEP_SHA_1', 'RSAES_*', 'SYMMETRIC_DEFAUL?'])]
        : r.pick(['SYMMETRIC_DEFAULT', 'symmetric_default', 'RSAES_*', 'RSAES_OAEP_SHA_25?']),
    ],
    request: (r) => {
      const v = maybe(r, r.pick(['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_256', 'Symmetric_Default', 'SM2PKE']));
      return v === undefined ? undefined : ['kms:EncryptionAlgorithm', v];
    },
  },
  {
    actions: EC_ACTIONS,
    make: (r) => [
      `${r.pick(['ForAnyValue', 'ForAllValues'])}:${ifExists(r, r.pick(['StringEquals', 'StringNotEquals', 'StringLike', 'StringNotLike']))}`,
      'kms:EncryptionContextKeys',
      r.pick([['dept'], ['dept', 'env'], ['d*'], ['app', 'env']]),
    ],
    request: (r) => {
      if (r.chance(0.15)) return undefined;
      const keys = ['dept', 'env', 'app'].filter(() => r.chance(0.5));
      return keys.length === 0 ? undefined : ['kms:EncryptionContextKeys', keys];
    },
  },
  {
    actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'],
    make: (r) => [
      r.pick(['StringEquals', 'StringLike', 'StringNotEquals']),
      'kms:RequestAlias',
      r.pick(['alias/${aws:username}', 'alias/${aws:PrincipalTag/team}-*', "alias/${aws:PrincipalTag/team, 'none'}"]),
    ],
    request: (r, p) => {
      const v = maybe(
        r,
        r.pick([`alias/${p.userName ?? 'x'}`, 'alias/blue-1', 'alias/red-2', 'alias/none', 'alias/alice']),
      );
      return v === undefined ? undefined : ['kms:RequestAlias', v];
    },
  },
  {
    make: (r) => [
      ifExists(r, r.pick(['IpAddress', 'NotIpAddress'])),
      'aws:SourceIp',
      r.pick(['10.0.0.0/8', '203.0.113.0/24', ['192.0.2.0/24', '2001:db8::/32'], '2001:db8:1::/48']),
    ],
    request: (r) => {
      const v = maybe(r, r.pick(['10.1.2.3', '203.0.113.9', '192.0.2.200', '2001:db8:1::5', '2001:db9::1', '8.8.8.8']));
      return v === undefined ? undefined : ['aws:SourceIp', v];
    },
  },
  {
    make: (r) => [
      ifExists(
        r,
        r.pick([
          'DateLessThan',
          'DateGreaterThan',
          'DateEquals',
          'DateNotEquals',
          'DateLessThanEquals',
          'DateGreaterThanEquals',
        ]),
      ),
      'aws:CurrentTime',
      r.pick(['2025-01-01T00:00:00Z', '2030-06-01T12:00:00Z', '1735689600']),
    ],
    request: (r) => [
      'aws:CurrentTime',
      r.pick(['2024-12-31T23:59:59Z', '2025-01-01T00:00:00Z', '2027-03-03T10:00:00Z']),
    ],
  },
  {
    make: (r) => [ifExists(r, 'Bool'), 'aws:SecureTransport', r.pick(['true', 'false'])],
    request: (r) => {
      const v = maybe(r, r.pick(['true', 'false']));
      return v === undefined ? undefined : ['aws:SecureTransport', v];
    },
  },
  {
    make: (r) => [
      ifExists(
        r,
        r.pick([
          'NumericLessThan',
          'NumericGreaterThan',
          'NumericEquals',
          'NumericNotEquals',
          'NumericLessThanEquals',
          'NumericGreaterThanEquals',
        ]),
      ),
      'aws:MultiFactorAuthAge',
      r.pick(['3600', '60', '0']),
    ],
    request: (r) => {
      const v = maybe(r, r.pick(['0', '60', '3599', '3600', '7200']));
      return v === undefined ? undefined : ['aws:MultiFactorAuthAge', v];
    },
  },
  {
    make: (r) => [
      ifExists(r, r.pick(['ArnLike', 'ArnEquals', 'ArnNotLike', 'ArnNotEquals'])),
      'aws:SourceArn',
      r.pick([
        `arn:aws:s3:::bucket-*`,
        `arn:aws:iam::${A}:role/app`,
        'arn:aws:*:*:*:*',
        `arn:aws:lambda:us-east-1:${A}:function:f?`,
      ]),
    ],
    request: (r) => {
      const v = maybe(
        r,
        r.pick([
          'arn:aws:s3:::bucket-1',
          `arn:aws:iam::${A}:role/app`,
          `arn:aws:lambda:us-east-1:${A}:function:f1`,
          `arn:aws:lambda:us-east-1:${A}:function:f10`,
        ]),
      );
      return v === undefined ? undefined : ['aws:SourceArn', v];
    },
  },
  {
    make: (r) => [
      'Null',
      r.pick(['aws:SourceIp', 'aws:PrincipalTag/team', 'aws:SecureTransport']),
      r.pick(['true', 'false']),
    ],
    request: () => undefined,
  },
  {
    make: (r) => [
      r.pick(['StringEquals', 'StringNotEquals', 'StringLike']),
      r.pick(['aws:PrincipalTag/team', 'kms:CallerAccount', 'aws:PrincipalAccount', 'aws:username']),
      r.pick(['blue', 'red', A, B, 'ali*']),
    ],
    request: () => undefined,
  },
  {
    actions: ['kms:EnableKeyRotation'],
    make: (r) => [
      r.pick(['NumericLessThan', 'NumericGreaterThanEquals', 'NumericEquals']),
      'kms:RotationPeriodInDays',
      r.pick(['90', '365', '180']),
    ],
    request: (r) => ['kms:RotationPeriodInDays', r.pick(['90', '180', '365', '2560'])],
  },
];

function conditionBlock(r: Rng, action: string, max: number): Json | undefined {
  const n = Math.floor(r.next() * (max + 1));
  if (n === 0) return undefined;
  const out: Record<string, Json> = {};
  for (let i = 0; i < n; i++) {
    const gen = r.pick(CONDITIONS.filter((c) => c.actions === undefined || c.actions.includes(action)));
    const [op, key, value] = gen.make(r);
    out[op] = { ...(out[op] ?? {}), [key]: value };
  }
  return out;
}

function actionElement(r: Rng): Json {
  if (r.chance(0.1)) return { NotAction: r.pick(['kms:Decrypt', ['kms:Describe*', 'kms:Enable*']]) };
  return {
    Action: r.pick([
      'kms:*',
      'kms:Encrypt',
      'kms:Decrypt',
      'kms:En*',
      'kms:*crypt',
      ['kms:Encrypt', 'kms:DescribeKey'],
      '*',
      'KMS:DECRYPT',
      'kms:Describe?ey',
    ]),
  };
}

function keyPolicy(r: Rng, action: string): Json {
  const statements: Json[] = [];
  const n = 1 + Math.floor(r.next() * 3);
  for (let i = 0; i < n; i++) {
    const principal = r.pick<unknown>([
      '*',
      { AWS: `arn:aws:iam::${A}:root` },
      { AWS: A },
      { AWS: `arn:aws:iam::${A}:user/alice` },
      { AWS: `arn:aws:iam::${A}:role/app` },
      { AWS: `arn:aws:iam::${B}:root` },
      { AWS: [`arn:aws:iam::${B}:user/eve`, `arn:aws:iam::${A}:user/bob`] },
      { AWS: `arn:aws:sts::${B}:assumed-role/ops/night` },
    ]);
    const s: Json = {
      Effect: r.chance(0.8) ? 'Allow' : 'Deny',
      Principal: principal,
      ...actionElement(r),
      Resource: '*',
    };
    const c = conditionBlock(r, action, 2);
    if (c !== undefined) s.Condition = c;
    statements.push(s);
  }
  return { Version: '2012-10-17', Statement: statements };
}

function identityPolicy(r: Rng, action: string): Json | undefined {
  const n = Math.floor(r.next() * 3);
  if (n === 0) return undefined;
  const statements: Json[] = [];
  for (let i = 0; i < n; i++) {
    const resource = r.chance(0.15)
      ? { NotResource: 'arn:aws:kms:*:*:alias/*' }
      : {
          Resource: r.pick([
            '*',
            KEY_ARN,
            `arn:aws:kms:*:${A}:key/*`,
            `arn:aws:kms:us-east-1:${B}:key/*`,
            'arn:aws:kms:us-east-?:*:key/1234abcd-*',
          ]),
        };
    const s: Json = { Effect: r.chance(0.8) ? 'Allow' : 'Deny', ...actionElement(r), ...resource };
    const c = conditionBlock(r, action, 2);
    if (c !== undefined) s.Condition = c;
    statements.push(s);
  }
  return { Version: '2012-10-17', Statement: statements };
}

function scps(r: Rng, action: string): Json[][] {
  if (!r.chance(0.25)) return [];
  const full = { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: '*', Resource: '*' } };
  const second = r.pick<Json>([
    { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'kms:*', Resource: '*' } },
    { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 's3:*', Resource: '*' } },
    {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        {
          Effect: 'Deny',
          Action: 'kms:Decrypt',
          Resource: '*',
          ...(r.chance(0.5) ? { Condition: conditionBlock(r, action, 1) ?? {} } : {}),
        },
      ],
    },
  ]);
  return [[full], [second]];
}

interface Case {
  principal: Principal;
  action: string;
  conditions: Record<string, string | string[]>;
  keyPolicy: Json;
  identity: Json | undefined;
  scps: Json[][];
}

function generate(seed: number, count: number): Case[] {
  const r = rng(seed);
  const cases: Case[] = [];
  while (cases.length < count) {
    const principal = r.pick(PRINCIPALS);
    const actions = principal.accountId === A ? ACTIONS : ACTIONS.filter((a) => CROSS_ACCOUNT_OK.has(a));
    const action = r.pick(actions);
    const conditions: Record<string, string | string[]> = {};
    for (const gen of CONDITIONS) {
      if (gen.actions !== undefined && !gen.actions.includes(action)) continue;
      const kv = gen.request(r, principal);
      if (kv !== undefined) conditions[kv[0]] = kv[1];
    }
    cases.push({
      principal,
      action,
      conditions,
      keyPolicy: keyPolicy(r, action),
      identity: identityPolicy(r, action),
      scps: scps(r, action),
    });
  }
  return cases;
}

function ours(c: Case) {
  const request = requestContext({
    principal: c.principal,
    action: c.action,
    resource: KEY_ARN,
    conditions: c.conditions,
  });
  const result = authorizeKms({
    request,
    resourceAccountId: A,
    keyPolicy: parsePolicy(JSON.stringify(c.keyPolicy), { kind: 'resource', id: 'key-policy' }),
    identityPolicies:
      c.identity === undefined ? [] : [parsePolicy(JSON.stringify(c.identity), { kind: 'identity', id: 'iam' })],
    serviceControlPolicies: c.scps.map((level) =>
      level.map((p, i) => parsePolicy(JSON.stringify(p), { kind: 'identity', id: `scp${i}` })),
    ),
  });
  return { result, request };
}

/**
 * iam-simulate reads an epoch date as seconds but an ISO 8601 date as milliseconds, so it compares
 * `"1735689600"` with `"2025-01-01T00:00:00Z"` wrongly (IAM takes both as the same instant). A
 * disagreement is put down to that only if the oracle agrees with us once every epoch value in a
 * Date condition is rewritten as ISO 8601.
 */
function epochDatesAsIso(policy: unknown): unknown {
  if (Array.isArray(policy)) return policy.map(epochDatesAsIso);
  if (policy === null || typeof policy !== 'object') return policy;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(policy)) {
    if (/^Date/.test(k) && v !== null && typeof v === 'object') {
      out[k] = Object.fromEntries(
        Object.entries(v).map(([key, values]) => [
          key,
          [values]
            .flat()
            .map((x) => (/^\d+$/.test(String(x)) ? new Date(Number(x) * 1000).toISOString().replace('.000Z', 'Z') : x)),
        ]),
      );
    } else {
      out[k] = epochDatesAsIso(v);
    }
  }
  return out;
}

/**
 * iam-simulate ignores `…IfExists` under `ForAnyValue:` (a missing key makes the condition false);
 * we follow IAM's documented rule that IfExists makes a condition on a missing key true, whatever
 * the qualifier. A disagreement is put down to that only if our engine, given the policies with
 * `ForAnyValue:XIfExists` rewritten to `ForAnyValue:X` (the same thing when the key is present),
 * agrees with the oracle.
 */
function withoutIfExistsUnderForAnyValue(policy: unknown): unknown {
  if (Array.isArray(policy)) return policy.map(withoutIfExistsUnderForAnyValue);
  if (policy === null || typeof policy !== 'object') return policy;
  return Object.fromEntries(
    Object.entries(policy).map(([k, v]) => [
      /^ForAnyValue:.*IfExists$/.test(k) ? k.replace(/IfExists$/, '') : k,
      withoutIfExistsUnderForAnyValue(v),
    ]),
  );
}

const ORACLE_NAMES = { Allow: 'Allowed', ExplicitDeny: 'ExplicitlyDenied', ImplicitDeny: 'ImplicitlyDenied' } as const;

async function oracle(c: Case, conditions: ReadonlyMap<string, string | readonly string[]>) {
  // Give the oracle every key our context holds (it does not derive principal keys itself),
  // spelled as IAM spells them.
  const spelled: Record<string, string | string[]> = {};
  const original = new Map(
    [
      ...Object.keys(c.conditions),
      'aws:PrincipalArn',
      'aws:PrincipalAccount',
      'aws:PrincipalType',
      'aws:userid',
      'aws:username',
      'kms:CallerAccount',
      'aws:PrincipalTag/team',
    ].map((k) => [k.toLowerCase(), k]),
  );
  for (const [k, v] of conditions) spelled[original.get(k) ?? k] = typeof v === 'string' ? v : [...v];
  const simulation: Simulation = {
    request: {
      principal: c.principal.arn,
      action: c.action,
      resource: { resource: KEY_ARN, accountId: A },
      contextVariables: spelled,
    },
    identityPolicies: c.identity === undefined ? [] : [{ name: 'iam', policy: c.identity }],
    serviceControlPolicies: c.scps.map((level, i) => ({
      orgIdentifier: i === 0 ? 'r-root' : `ou-${i}`,
      policies: level.map((policy, j) => ({ name: `scp${j}`, policy })),
    })),
    resourceControlPolicies: [],
    resourcePolicy: c.keyPolicy,
  };
  return runSimulation(simulation, {});
}

describe('differential test against @cloud-copilot/iam-simulate', () => {
  it('agrees on generated key policy / IAM policy / SCP / request combinations', async () => {
    const cases = generate(20250101, 600);
    let compared = 0;
    const oracleErrors: string[] = [];
    const disagreements: string[] = [];
    const ignored = new Set<string>();
    let epochExplained = 0;
    let ifExistsExplained = 0;
    const tally = { Allow: 0, ExplicitDeny: 0, ImplicitDeny: 0 };
    for (const [i, c] of cases.entries()) {
      const { result, request } = ours(c);
      const theirs = await oracle(c, request.conditions);
      if (theirs.resultType === 'error') {
        oracleErrors.push(`case ${i}: ${JSON.stringify(theirs.errors).slice(0, 300)}`);
        continue;
      }
      for (const k of theirs.resultType === 'single' ? (theirs.result.ignoredContextKeys ?? []) : []) ignored.add(k);
      compared++;
      tally[result.decision]++;
      let verdict = theirs.overallResult;
      if (verdict !== ORACLE_NAMES[result.decision]) {
        const iso = {
          ...c,
          keyPolicy: epochDatesAsIso(c.keyPolicy) as Json,
          identity: epochDatesAsIso(c.identity) as Json | undefined,
          scps: epochDatesAsIso(c.scps) as Json[][],
        };
        const again = await oracle(iso, request.conditions);
        if (again.resultType !== 'error' && again.overallResult === ORACLE_NAMES[result.decision]) {
          epochExplained++;
          verdict = again.overallResult;
        }
      }
      if (verdict !== ORACLE_NAMES[result.decision]) {
        const rewritten = ours({
          ...c,
          keyPolicy: withoutIfExistsUnderForAnyValue(c.keyPolicy) as Json,
          identity: withoutIfExistsUnderForAnyValue(c.identity) as Json | undefined,
          scps: withoutIfExistsUnderForAnyValue(c.scps) as Json[][],
        });
        if (ORACLE_NAMES[rewritten.result.decision] === verdict) {
          ifExistsExplained++;
          continue;
        }
        disagreements.push(
          `case ${i}: ours ${result.decision} (${result.rule}), oracle ${theirs.overallResult}\n${JSON.stringify({ principal: c.principal.arn, action: c.action, conditions: c.conditions, keyPolicy: c.keyPolicy, identity: c.identity, scps: c.scps })}`,
        );
      }
    }
    if (process.env.ORACLE_REPORT) {
      console.log(
        JSON.stringify({
          compared,
          tally,
          epochExplained,
          ifExistsExplained,
          oracleErrors: oracleErrors.length,
          disagreements: disagreements.length,
        }),
      );
    }
    assert.deepEqual(oracleErrors, []);
    assert.deepEqual([...ignored], [], 'the oracle must see every condition key we evaluate');
    assert.ok(epochExplained <= compared / 20, `${epochExplained} disagreements put down to epoch dates`);
    assert.ok(
      ifExistsExplained <= compared / 20,
      `${ifExistsExplained} disagreements put down to ForAnyValue IfExists`,
    );
    assert.deepEqual(disagreements, []);
    assert.equal(compared, cases.length);
    // The generator must exercise every outcome in earnest.
    for (const d of ['Allow', 'ExplicitDeny', 'ImplicitDeny'] as const) assert.ok(tally[d] >= 30, `${d}: ${tally[d]}`);
  });
});
