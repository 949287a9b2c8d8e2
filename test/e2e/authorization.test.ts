import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  GetKeyPolicyCommand,
  type KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ListRetirableGrantsCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import Database from 'better-sqlite3';
import { REGION, startServer, type TestServer } from '../helpers/server.js';
import { trent } from '../helpers/trent-cli.js';
import { rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * Access control end to end: a scenario table of authorization cases, each one call through
 * @aws-sdk/client-kms with its own credentials, asserting that it is allowed or denied with AWS's
 * exact AccessDeniedException message.
 *
 * Identities: the admin key (account A's root); users alice, bob, carol, dave, gina of account A
 * and xavier, yvonne of account B from an identities file (`trent server --identities`); frank of
 * account A made with `trent policy put-user-policy` + `trent access-key create --user`; account
 * B's root from `trent access-key create --account`.
 *
 * Role sessions, from STS AssumeRole on Trent's port (@aws-sdk/client-sts): opsPay and opsHr are
 * sessions of role ops (bob assumes it; opsPay with the session tag team=payments over the role's
 * tag team=hr), readerS a session of role reader (alice), named in a key policy; account C
 * (777788889999) is under an SCP (`trent scp attach`): its user zoe and croleS, a session of role
 * crole made with `trent role create` / `trent policy put-role-policy`. expiredS is a session whose
 * expiry has passed; bogusS a real session id with a wrong token.
 */

const A = '111122223333';
const B = '444455556666';
const C = '777788889999';
const session = (acct: string, role: string, name: string) => `arn:aws:sts::${acct}:assumed-role/${role}/${name}`;
const roleArn = (acct: string, name: string) => `arn:aws:iam::${acct}:role/${name}`;
const root = (acct: string) => `arn:aws:iam::${acct}:root`;
const user = (acct: string, name: string) => `arn:aws:iam::${acct}:user/${name}`;

type Who =
  | 'admin'
  | 'alice'
  | 'bob'
  | 'carol'
  | 'dave'
  | 'frank'
  | 'gina'
  | 'rootB'
  | 'xavier'
  | 'yvonne'
  | 'opsPay'
  | 'opsHr'
  | 'readerS'
  | 'zoe'
  | 'croleS'
  | 'expiredS'
  | 'bogusS';
const ARN: Record<Who, string> = {
  admin: root(A),
  alice: user(A, 'alice'),
  bob: user(A, 'bob'),
  carol: user(A, 'carol'),
  dave: user(A, 'dave'),
  frank: user(A, 'frank'),
  gina: user(A, 'gina'),
  rootB: root(B),
  xavier: user(B, 'xavier'),
  yvonne: user(B, 'yvonne'),
  opsPay: session(A, 'ops', 'pay'),
  opsHr: session(A, 'ops', 'hr'),
  readerS: session(A, 'reader', 'reader-session'),
  zoe: user(C, 'zoe'),
  croleS: session(C, 'crole', 'c-session'),
  expiredS: session(A, 'ops', 'old'),
  bogusS: session(A, 'ops', 'bogus'),
};

/** The sessions: who assumes which role, with which session tags. */
const SESSIONS: Partial<Record<Who, { by: Who; account: string; role: string; name: string; tags?: object }>> = {
  opsPay: { by: 'bob', account: A, role: 'ops', name: 'pay', tags: { team: 'payments' } },
  opsHr: { by: 'bob', account: A, role: 'ops', name: 'hr' },
  readerS: { by: 'alice', account: A, role: 'reader', name: 'reader-session' },
  croleS: { by: 'zoe', account: C, role: 'crole', name: 'c-session' },
  expiredS: { by: 'bob', account: A, role: 'ops', name: 'old' },
  bogusS: { by: 'bob', account: A, role: 'ops', name: 'bogus' },
};

type Op =
  | 'Encrypt'
  | 'Decrypt'
  | 'DescribeKey'
  | 'GenerateDataKey'
  | 'GetKeyPolicy'
  | 'ListKeyPolicies'
  | 'ListResourceTags'
  | 'DisableKey'
  | 'ScheduleKeyDeletion'
  | 'CreateKey'
  | 'ListKeys'
  | 'ListAliases'
  | 'GenerateRandom';

/** allow, or the denial: which policy type said no, and whether by explicit deny. */
type Expect =
  | 'allow'
  | 'resource'
  | 'identity'
  | 'explicit-resource'
  | 'explicit-identity'
  | 'scp'
  | 'explicit-scp'
  | 'expired'
  | 'unrecognized';

interface Case {
  as: Who;
  op: Op;
  /** A key of the KEYS table (by ARN), `alias:<name>` (through its alias), or none (account-level). */
  key?: string;
  context?: Record<string, string>;
  algorithm?: string;
  days?: number;
  tags?: Record<string, string>;
  expect: Expect;
  note?: string;
}

/** A policy variable, spelled out (the IAM `${…}` syntax, not a template literal). */
const variable = (name: string) => `$\{${name}}`;

const STATEMENT_ROOT = { Sid: 'root', Effect: 'Allow', Principal: { AWS: root(A) }, Action: 'kms:*', Resource: '*' };
const policy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const allowBob = (action: string | string[], condition?: object) => ({
  Effect: 'Allow',
  Principal: { AWS: user(A, 'bob') },
  Action: action,
  Resource: '*',
  ...(condition === undefined ? {} : { Condition: condition }),
});

/** Keys the cases use: a policy (undefined: the default one) and tags. */
const KEYS: Record<string, { policy?: string; tags?: Record<string, string>; alias?: boolean }> = {
  default: {},
  shared: {
    policy: policy(
      STATEMENT_ROOT,
      allowBob(['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey']),
      {
        Sid: 'other account',
        Effect: 'Allow',
        Principal: { AWS: root(B) },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey', 'kms:DisableKey'],
        Resource: '*',
      },
      {
        Sid: 'never secrets',
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:classification': 'secret' } },
      },
    ),
  },
  payments: { tags: { team: 'payments' } },
  hr: { tags: { team: 'hr' } },
  rolekey: {
    policy: policy(
      STATEMENT_ROOT,
      {
        Sid: 'the reader role',
        Effect: 'Allow',
        Principal: { AWS: roleArn(A, 'reader') },
        Action: ['kms:Encrypt', 'kms:DescribeKey'],
        Resource: '*',
      },
      {
        Sid: 'sessions of the reader role, by condition',
        Effect: 'Allow',
        Principal: '*',
        Action: 'kms:GenerateDataKey',
        Resource: '*',
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': roleArn(A, 'reader') },
          StringEquals: { 'aws:PrincipalType': 'AssumedRole' },
          StringLike: { 'aws:userid': 'AROA*:reader-session' },
        },
      },
    ),
  },
  cshared: {
    policy: policy(STATEMENT_ROOT, {
      Sid: 'account C',
      Effect: 'Allow',
      Principal: { AWS: root(C) },
      Action: 'kms:*',
      Resource: '*',
    }),
  },
};

/**
 * Condition operator families, end to end: bob may Encrypt (or the row's action) on a key only
 * under the condition. Each row makes a key; `pass` requests must be allowed, `fail` denied.
 */
interface ConditionRow {
  label: string;
  condition: object;
  op?: Op;
  pass?: Partial<Case>[];
  fail?: Partial<Case>[];
}

const CONDITIONS: ConditionRow[] = [
  {
    label: 'StringEquals on kms:EncryptionContext:app',
    condition: { StringEquals: { 'kms:EncryptionContext:app': 'web' } },
    pass: [{ context: { app: 'web' } }, { context: { APP: 'web' }, note: 'context key names are case-insensitive' }],
    fail: [{ context: { app: 'api' } }, { context: { app: 'WEB' } }, {}],
  },
  {
    label: 'StringNotEquals',
    condition: { StringNotEquals: { 'kms:EncryptionContext:app': 'web' } },
    pass: [{ context: { app: 'api' } }, {}],
    fail: [{ context: { app: 'web' } }],
  },
  {
    label: 'StringEqualsIgnoreCase',
    condition: { StringEqualsIgnoreCase: { 'kms:EncryptionContext:app': 'WEB' } },
    pass: [{ context: { app: 'web' } }],
    fail: [{ context: { app: 'api' } }],
  },
  {
    label: 'StringLike',
    condition: { StringLike: { 'kms:EncryptionContext:app': 'web-*' } },
    pass: [{ context: { app: 'web-1' } }],
    fail: [{ context: { app: 'api-1' } }],
  },
  {
    label: 'StringNotLike',
    condition: { StringNotLike: { 'kms:EncryptionContext:app': 'web-*' } },
    pass: [{ context: { app: 'api' } }],
    fail: [{ context: { app: 'web-2' } }],
  },
  {
    label: 'StringEqualsIfExists',
    condition: { StringEqualsIfExists: { 'kms:EncryptionContext:app': 'web' } },
    pass: [{}, { context: { app: 'web' } }],
    fail: [{ context: { app: 'api' } }],
  },
  {
    label: 'ForAllValues:StringEquals on kms:EncryptionContextKeys',
    condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['app', 'env'] } },
    pass: [{ context: { app: 'x', env: 'y' } }, { context: { env: 'y' } }],
    fail: [{ context: { app: 'x', other: 'z' } }],
  },
  {
    label: 'ForAnyValue:StringEquals on kms:EncryptionContextKeys',
    condition: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'tenant' } },
    pass: [{ context: { tenant: 'a', x: 'b' } }],
    fail: [{ context: { x: 'b' } }, {}],
  },
  {
    label: 'Null',
    condition: { Null: { 'kms:EncryptionContextKeys': 'false' } },
    pass: [{ context: { a: 'b' } }],
    fail: [{}],
  },
  {
    label: 'kms:EncryptionAlgorithm',
    condition: { StringEquals: { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } },
    pass: [{}, { algorithm: 'SYMMETRIC_DEFAULT' }],
    fail: [{ algorithm: 'RSAES_OAEP_SHA_256' }],
  },
  {
    label: 'NumericGreaterThanEquals on kms:ScheduleKeyDeletionPendingWindowInDays',
    op: 'ScheduleKeyDeletion',
    condition: { NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '20' } },
    fail: [{ days: 7 }, { days: 19 }],
    pass: [{ days: 20 }],
  },
  {
    label: 'DateGreaterThan on aws:CurrentTime',
    condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    pass: [{}],
  },
  {
    label: 'DateLessThan on aws:CurrentTime',
    condition: { DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    fail: [{}],
  },
  {
    label: 'NumericGreaterThan on aws:EpochTime',
    condition: { NumericGreaterThan: { 'aws:EpochTime': '1600000000' } },
    pass: [{}],
  },
  {
    label: 'NumericLessThan on aws:EpochTime',
    condition: { NumericLessThan: { 'aws:EpochTime': '1600000000' } },
    fail: [{}],
  },
  { label: 'Bool aws:SecureTransport false', condition: { Bool: { 'aws:SecureTransport': 'false' } }, pass: [{}] },
  { label: 'Bool aws:SecureTransport true', condition: { Bool: { 'aws:SecureTransport': 'true' } }, fail: [{}] },
  { label: 'IpAddress 127.0.0.0/8', condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }, pass: [{}] },
  { label: 'IpAddress 10.0.0.0/8', condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, fail: [{}] },
  { label: 'NotIpAddress 10.0.0.0/8', condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, pass: [{}] },
  {
    label: 'ArnEquals aws:PrincipalArn',
    condition: { ArnEquals: { 'aws:PrincipalArn': user(A, 'bob') } },
    pass: [{}],
  },
  {
    label: 'ArnLike aws:PrincipalArn',
    condition: { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/b*' } },
    pass: [{}],
  },
  {
    label: 'ArnNotEquals aws:PrincipalArn',
    condition: { ArnNotEquals: { 'aws:PrincipalArn': user(A, 'bob') } },
    fail: [{}],
  },
  {
    label: 'principal keys',
    condition: {
      StringEquals: { 'aws:username': 'bob', 'aws:PrincipalType': 'User', 'aws:PrincipalAccount': A },
      StringLike: { 'aws:userid': 'AIDA*' },
    },
    pass: [{}],
  },
  { label: 'kms:CallerAccount', condition: { StringEquals: { 'kms:CallerAccount': B } }, fail: [{}] },
  {
    label: 'kms:RequestAlias',
    condition: { StringEquals: { 'kms:RequestAlias': 'ALIAS' } },
    pass: [{ key: 'alias' }],
    fail: [{}],
  },
  {
    label: 'key properties',
    condition: {
      StringEquals: {
        'kms:KeySpec': 'SYMMETRIC_DEFAULT',
        'kms:KeyOrigin': 'AWS_KMS',
        'kms:KeyUsage': 'ENCRYPT_DECRYPT',
      },
      Bool: { 'kms:MultiRegion': 'false' },
    },
    pass: [{}],
  },
  { label: 'kms:KeyUsage mismatch', condition: { StringEquals: { 'kms:KeyUsage': 'SIGN_VERIFY' } }, fail: [{}] },
  {
    label: 'policy variable aws:username',
    condition: { StringEquals: { 'kms:EncryptionContext:user': variable('aws:username') } },
    pass: [{ context: { user: 'bob' } }],
    fail: [{ context: { user: 'eve' } }],
  },
];

const CASES: Case[] = [
  // The default key policy: the account root, and IAM users whose IAM policies allow.
  ...(['admin', 'alice', 'bob'] as const).flatMap((as) =>
    (
      [
        'Encrypt',
        'Decrypt',
        'DescribeKey',
        'GenerateDataKey',
        'GetKeyPolicy',
        'ListKeyPolicies',
        'ListResourceTags',
      ] as const
    ).map((op): Case => ({ as, op, key: 'default', expect: as === 'bob' ? 'identity' : 'allow' })),
  ),
  { as: 'dave', op: 'Encrypt', key: 'default', expect: 'allow' },
  { as: 'dave', op: 'Decrypt', key: 'default', expect: 'explicit-identity' },
  { as: 'dave', op: 'DescribeKey', key: 'default', expect: 'allow' },
  { as: 'frank', op: 'Encrypt', key: 'default', expect: 'allow', note: 'policy put by the CLI' },
  { as: 'frank', op: 'DescribeKey', key: 'default', expect: 'allow' },
  { as: 'frank', op: 'Decrypt', key: 'default', expect: 'identity' },
  { as: 'frank', op: 'GetKeyPolicy', key: 'default', expect: 'identity' },
  { as: 'rootB', op: 'Encrypt', key: 'default', expect: 'resource', note: 'cross-account, not in the key policy' },
  { as: 'rootB', op: 'DescribeKey', key: 'default', expect: 'resource' },
  { as: 'xavier', op: 'Encrypt', key: 'default', expect: 'resource', note: 'IAM allows, key policy does not' },
  { as: 'yvonne', op: 'Encrypt', key: 'default', expect: 'resource' },
  // A key policy that names a user, another account, and an explicit deny.
  { as: 'bob', op: 'Encrypt', key: 'shared', expect: 'allow', note: 'named in the key policy, no IAM needed' },
  { as: 'bob', op: 'Decrypt', key: 'shared', expect: 'allow' },
  { as: 'bob', op: 'DescribeKey', key: 'shared', expect: 'allow' },
  { as: 'bob', op: 'GenerateDataKey', key: 'shared', expect: 'identity' },
  { as: 'bob', op: 'DisableKey', key: 'shared', expect: 'identity' },
  { as: 'bob', op: 'Encrypt', key: 'shared', context: { classification: 'secret' }, expect: 'explicit-resource' },
  { as: 'admin', op: 'Encrypt', key: 'shared', context: { classification: 'secret' }, expect: 'explicit-resource' },
  { as: 'admin', op: 'Encrypt', key: 'shared', context: { classification: 'public' }, expect: 'allow' },
  { as: 'alice', op: 'Encrypt', key: 'shared', context: { classification: 'secret' }, expect: 'explicit-resource' },
  { as: 'alice', op: 'GetKeyPolicy', key: 'shared', expect: 'allow' },
  { as: 'rootB', op: 'Encrypt', key: 'shared', expect: 'allow', note: 'cross-account root: key policy suffices' },
  { as: 'rootB', op: 'Decrypt', key: 'shared', expect: 'allow' },
  { as: 'rootB', op: 'DescribeKey', key: 'shared', expect: 'allow' },
  { as: 'rootB', op: 'GenerateDataKey', key: 'shared', expect: 'allow' },
  { as: 'rootB', op: 'DisableKey', key: 'shared', expect: 'resource', note: 'not a cross-account operation' },
  { as: 'rootB', op: 'GetKeyPolicy', key: 'shared', expect: 'resource' },
  { as: 'rootB', op: 'Encrypt', key: 'shared', context: { classification: 'secret' }, expect: 'explicit-resource' },
  { as: 'xavier', op: 'Encrypt', key: 'shared', expect: 'allow', note: 'key policy and IAM, both sides' },
  { as: 'xavier', op: 'Decrypt', key: 'shared', expect: 'allow' },
  { as: 'xavier', op: 'DescribeKey', key: 'shared', expect: 'allow' },
  { as: 'xavier', op: 'GenerateDataKey', key: 'shared', expect: 'allow' },
  { as: 'xavier', op: 'DisableKey', key: 'shared', expect: 'resource' },
  { as: 'yvonne', op: 'Encrypt', key: 'shared', expect: 'identity', note: 'cross-account without IAM' },
  { as: 'yvonne', op: 'DescribeKey', key: 'shared', expect: 'identity' },
  // ABAC: carol may use keys whose team tag is her own team tag.
  { as: 'carol', op: 'Encrypt', key: 'payments', expect: 'allow' },
  { as: 'carol', op: 'Decrypt', key: 'payments', expect: 'allow' },
  { as: 'carol', op: 'DescribeKey', key: 'payments', expect: 'allow' },
  { as: 'carol', op: 'GenerateDataKey', key: 'payments', expect: 'identity' },
  { as: 'carol', op: 'Encrypt', key: 'hr', expect: 'identity' },
  { as: 'carol', op: 'DescribeKey', key: 'hr', expect: 'identity' },
  { as: 'carol', op: 'Encrypt', key: 'default', expect: 'identity', note: 'an untagged key' },
  // Operations without a key resource: IAM policies only; the account root always.
  ...(['admin', 'alice', 'bob', 'rootB'] as const).flatMap((as) =>
    (['CreateKey', 'ListKeys', 'ListAliases', 'GenerateRandom'] as const).map(
      (op): Case => ({ as, op, expect: as === 'bob' ? 'identity' : 'allow' }),
    ),
  ),
  { as: 'gina', op: 'CreateKey', tags: { team: 'payments' }, expect: 'allow', note: 'aws:RequestTag and aws:TagKeys' },
  { as: 'gina', op: 'CreateKey', expect: 'identity' },
  { as: 'gina', op: 'CreateKey', tags: { team: 'hr' }, expect: 'identity' },
  { as: 'gina', op: 'CreateKey', tags: { team: 'payments', extra: 'x' }, expect: 'identity' },
  { as: 'gina', op: 'ListKeys', expect: 'identity' },
  // Role sessions (STS AssumeRole): the role's policies, principal tags from the role and the session.
  { as: 'opsPay', op: 'Encrypt', key: 'payments', expect: 'allow', note: 'session tag team=payments' },
  { as: 'opsPay', op: 'Decrypt', key: 'payments', expect: 'allow' },
  { as: 'opsPay', op: 'DescribeKey', key: 'payments', expect: 'allow' },
  { as: 'opsPay', op: 'Encrypt', key: 'hr', expect: 'identity', note: 'the session tag overrides the role tag' },
  { as: 'opsPay', op: 'GenerateDataKey', key: 'payments', expect: 'identity' },
  { as: 'opsPay', op: 'Encrypt', key: 'default', expect: 'identity' },
  { as: 'opsHr', op: 'Encrypt', key: 'hr', expect: 'allow', note: 'the role tag team=hr' },
  { as: 'opsHr', op: 'Encrypt', key: 'payments', expect: 'identity' },
  { as: 'opsHr', op: 'CreateKey', expect: 'identity' },
  { as: 'readerS', op: 'Encrypt', key: 'rolekey', expect: 'allow', note: 'the key policy names the role' },
  { as: 'readerS', op: 'DescribeKey', key: 'rolekey', expect: 'allow' },
  { as: 'readerS', op: 'GenerateDataKey', key: 'rolekey', expect: 'allow', note: 'aws:PrincipalArn is the role' },
  { as: 'readerS', op: 'Decrypt', key: 'rolekey', expect: 'identity' },
  { as: 'readerS', op: 'Encrypt', key: 'default', expect: 'identity' },
  { as: 'bob', op: 'GenerateDataKey', key: 'rolekey', expect: 'identity', note: 'a user is not the role' },
  { as: 'alice', op: 'Encrypt', key: 'rolekey', expect: 'allow' },
  // Service control policies of account C: allow Encrypt and GenerateDataKey, deny Decrypt.
  { as: 'zoe', op: 'Encrypt', key: 'cshared', expect: 'allow', note: 'SCP, key policy and IAM allow' },
  { as: 'zoe', op: 'GenerateDataKey', key: 'cshared', expect: 'allow' },
  { as: 'zoe', op: 'Decrypt', key: 'cshared', expect: 'explicit-scp' },
  { as: 'zoe', op: 'DescribeKey', key: 'cshared', expect: 'scp', note: 'IAM and key policy allow, the SCP does not' },
  { as: 'zoe', op: 'DescribeKey', key: 'default', expect: 'scp', note: 'the SCP decides before the key policy' },
  { as: 'zoe', op: 'Encrypt', key: 'default', expect: 'resource' },
  { as: 'zoe', op: 'ListKeys', expect: 'scp' },
  { as: 'croleS', op: 'Encrypt', key: 'cshared', expect: 'allow', note: 'a role session of account C' },
  { as: 'croleS', op: 'Decrypt', key: 'cshared', expect: 'explicit-scp' },
  { as: 'croleS', op: 'DescribeKey', key: 'cshared', expect: 'scp' },
  // Temporary credentials that no longer (or never did) work.
  { as: 'expiredS', op: 'Encrypt', key: 'payments', expect: 'expired' },
  { as: 'expiredS', op: 'ListKeys', expect: 'expired' },
  { as: 'bogusS', op: 'Encrypt', key: 'payments', expect: 'unrecognized' },
  // Condition operators, one family at a time.
  ...CONDITIONS.flatMap((row, i): Case[] => [
    ...(row.fail ?? []).map(
      (c): Case => ({ as: 'bob', op: row.op ?? 'Encrypt', key: `cond${i}`, ...c, expect: 'identity' }),
    ),
    ...(row.pass ?? []).map(
      (c): Case => ({ as: 'bob', op: row.op ?? 'Encrypt', key: `cond${i}`, ...c, expect: 'allow' }),
    ),
  ]),
];

const IDENTITY_POLICY = (statements: object[]) => ({ Version: '2012-10-17', Statement: statements });

function identitiesFile(): object {
  const key = (id: string) => [{ accessKeyId: id, secretAccessKey: `secret-${id}-0123456789abcdef` }];
  return {
    accounts: {
      [A]: {
        roles: {
          ops: {
            trustPolicy: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Principal: { AWS: user(A, 'bob') }, Action: ['sts:AssumeRole', 'sts:TagSession'] },
              ],
            },
            tags: { team: 'hr' },
            policies: {
              abac: IDENTITY_POLICY([
                {
                  Effect: 'Allow',
                  Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'],
                  Resource: `arn:aws:kms:*:${A}:key/*`,
                  Condition: { StringEquals: { 'aws:ResourceTag/team': variable('aws:PrincipalTag/team') } },
                },
              ]),
            },
          },
          reader: {
            trustPolicy: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Principal: { AWS: user(A, 'alice') }, Action: 'sts:AssumeRole' }],
            },
          },
        },
        users: {
          alice: {
            policies: { admin: IDENTITY_POLICY([{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }]) },
            accessKeys: key('AKIATESTALICE0000001'),
          },
          bob: { accessKeys: key('AKIATESTBOB000000001') },
          carol: {
            tags: { team: 'payments' },
            policies: {
              abac: IDENTITY_POLICY([
                {
                  Effect: 'Allow',
                  Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'],
                  Resource: `arn:aws:kms:*:${A}:key/*`,
                  Condition: { StringEquals: { 'aws:ResourceTag/team': variable('aws:PrincipalTag/team') } },
                },
              ]),
            },
            accessKeys: key('AKIATESTCAROL0000001'),
          },
          dave: {
            policies: {
              all: IDENTITY_POLICY([{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }]),
              'no-decrypt': IDENTITY_POLICY([{ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' }]),
            },
            accessKeys: key('AKIATESTDAVE00000001'),
          },
          gina: {
            policies: {
              create: IDENTITY_POLICY([
                {
                  Effect: 'Allow',
                  Action: ['kms:CreateKey', 'kms:TagResource'],
                  Resource: '*',
                  Condition: {
                    StringEquals: { 'aws:RequestTag/team': 'payments' },
                    'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] },
                  },
                },
              ]),
            },
            accessKeys: key('AKIATESTGINA00000001'),
          },
        },
      },
      [C]: {
        users: {
          zoe: {
            policies: {
              use: IDENTITY_POLICY([
                { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
                { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn(C, 'crole') },
              ]),
            },
            accessKeys: key('AKIATESTZOE000000001'),
          },
        },
      },
      [B]: {
        users: {
          xavier: {
            policies: {
              use: IDENTITY_POLICY([
                {
                  Effect: 'Allow',
                  Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey', 'kms:DisableKey'],
                  Resource: `arn:aws:kms:*:${A}:key/*`,
                },
              ]),
            },
            accessKeys: key('AKIATESTXAVIER000001'),
          },
          yvonne: { accessKeys: key('AKIATESTYVONNE000001') },
        },
      },
    },
  };
}

function denial(
  who: Who,
  action: string,
  resource: string,
  expect: Exclude<Expect, 'allow' | 'expired' | 'unrecognized'>,
): string {
  const head = `User: ${ARN[who]} is not authorized to perform: ${action} on resource: ${resource}`;
  switch (expect) {
    case 'scp':
      return `${head} because no service control policy allows the ${action} action`;
    case 'explicit-scp':
      return `${head} with an explicit deny in a service control policy`;
    case 'resource':
      return `${head} because no resource-based policy allows the ${action} action`;
    case 'identity':
      return `${head} because no identity-based policy allows the ${action} action`;
    case 'explicit-resource':
      return `${head} with an explicit deny in a resource-based policy`;
    case 'explicit-identity':
      return `${head} with an explicit deny in an identity-based policy`;
  }
}

/** Parses the profile `trent access-key create` prints. */
function profile(stdout: string): { accessKeyId: string; secretAccessKey: string } {
  const accessKeyId = /^aws_access_key_id = (\S+)$/m.exec(stdout)?.[1];
  const secretAccessKey = /^aws_secret_access_key = (\S+)$/m.exec(stdout)?.[1];
  assert.ok(accessKeyId !== undefined && secretAccessKey !== undefined, stdout);
  return { accessKeyId, secretAccessKey };
}

function cli(server: TestServer, args: string[]): string {
  const r = trent([...args, '--data-dir', server.dataDir]);
  assert.equal(r.code, 0, `trent ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('access control: the scenario table', { timeout: 300_000 }, () => {
  let server: TestServer;
  const clients = new Map<Who, KMSClient>();
  const keys = new Map<string, { arn: string; alias: string }>();
  const as = (who: Who) => clients.get(who) as KMSClient;
  let dir: string | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trent-identities-'));
    const file = join(dir, 'identities.json');
    const doc = identitiesFile() as {
      accounts: Record<string, { users: Record<string, { accessKeys: object[] }> }>;
    };
    const credentialsOf = new Map<Who, { accessKeyId: string; secretAccessKey: string }>();
    writeFileSync(file, JSON.stringify(doc, null, 2));
    server = await startServer({ args: ['--identities', file] });
    clients.set('admin', server.client());
    for (const [acct, { users }] of Object.entries(doc.accounts)) {
      for (const [name, u] of Object.entries(users)) {
        const credentials = u.accessKeys[0] as { accessKeyId: string; secretAccessKey: string };
        const who = (Object.keys(ARN) as Who[]).find((w) => ARN[w] === user(acct, name)) as Who;
        clients.set(who, server.client({ credentials }));
        credentialsOf.set(who, credentials);
      }
    }
    // frank: a user made by the CLI, with a policy from a file.
    const policyFile = join(dir, 'frank.json');
    writeFileSync(
      policyFile,
      JSON.stringify(
        IDENTITY_POLICY([
          { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:DescribeKey'], Resource: `arn:aws:kms:*:${A}:key/*` },
        ]),
      ),
    );
    cli(server, ['policy', 'put-user-policy', '--user', 'frank', '--name', 'use', '--file', policyFile]);
    clients.set(
      'frank',
      server.client({ credentials: profile(cli(server, ['access-key', 'create', '--user', 'frank'])) }),
    );
    clients.set(
      'rootB',
      server.client({ credentials: profile(cli(server, ['access-key', 'create', '--account', B])) }),
    );

    // Account C: an SCP, and a role made with the CLI.
    const scpFile = join(dir, 'boundary.json');
    writeFileSync(
      scpFile,
      JSON.stringify(
        IDENTITY_POLICY([
          { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:GenerateDataKey', 'sts:AssumeRole'], Resource: '*' },
          { Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' },
        ]),
      ),
    );
    cli(server, ['scp', 'attach', '--account', C, '--file', scpFile]);
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: root(C) }, Action: 'sts:AssumeRole' }],
    });
    cli(server, ['role', 'create', 'crole', '--account', C, '--trust-document', trust]);
    cli(server, [
      'policy',
      'put-role-policy',
      '--account',
      C,
      '--role',
      'crole',
      '--name',
      'use',
      '--document',
      JSON.stringify(IDENTITY_POLICY([{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }])),
    ]);

    // Role sessions, through STS on Trent's port.
    for (const [who, spec] of Object.entries(SESSIONS) as [Who, NonNullable<(typeof SESSIONS)[Who]>][]) {
      const sts = new STSClient({
        endpoint: server.url,
        region: REGION,
        credentials: credentialsOf.get(spec.by),
        maxAttempts: 1,
      });
      const out = await sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn(spec.account, spec.role),
          RoleSessionName: spec.name,
          Tags: Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value: String(Value) })),
        }),
      );
      sts.destroy();
      const c = out.Credentials;
      assert.equal(out.AssumedRoleUser?.Arn, ARN[who]);
      const credentials = {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: who === 'bogusS' ? `x${c?.SessionToken}` : (c?.SessionToken as string),
      };
      clients.set(who, server.client({ credentials }));
    }
    // expiredS: its expiry moved into the past in the store, before its first use.
    const db = new Database(join(server.dataDir, 'trent.db'));
    try {
      const expired = Date.now() - 1000;
      db.prepare(
        `UPDATE sts_sessions SET expires_at = ?, doc = json_set(doc, '$.expiresAt', ?)
         WHERE json_extract(doc, '$.sessionName') = 'old'`,
      ).run(expired, expired);
    } finally {
      db.close();
    }

    const admin = as('admin');
    const make = async (name: string, spec: { policy?: string; tags?: Record<string, string> }) => {
      const created = await admin.send(
        new CreateKeyCommand({
          ...(spec.policy === undefined ? {} : { Policy: spec.policy }),
          Tags: Object.entries(spec.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
        }),
      );
      const arn = created.KeyMetadata?.Arn as string;
      const alias = uniqueAlias(name.replace(/\W/g, ''));
      await admin.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: arn }));
      keys.set(name, { arn, alias });
    };
    for (const [name, spec] of Object.entries(KEYS)) await make(name, spec);
    for (const [i, row] of CONDITIONS.entries()) {
      // The alias is known only once the key exists: kms:RequestAlias rows name it afterwards.
      await make(`cond${i}`, { policy: policy(STATEMENT_ROOT, allowBob(`kms:${row.op ?? 'Encrypt'}`, row.condition)) });
      const text = JSON.stringify(row.condition);
      if (text.includes('"ALIAS"')) {
        const k = keys.get(`cond${i}`) as { arn: string; alias: string };
        const withAlias = JSON.parse(text.replace('"ALIAS"', JSON.stringify(k.alias))) as object;
        await admin.send(
          new PutKeyPolicyCommand({ KeyId: k.arn, Policy: policy(STATEMENT_ROOT, allowBob('kms:Encrypt', withAlias)) }),
        );
      }
    }
  });

  after(async () => {
    for (const c of clients.values()) c.destroy();
    await server?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(`has at least 100 cases (${CASES.length})`, () => {
    assert.ok(CASES.length >= 100, `only ${CASES.length} cases`);
  });

  for (const [n, c] of CASES.entries()) {
    const what = [c.op, c.key ?? '', c.context ? JSON.stringify(c.context) : '', c.algorithm ?? '', c.days ?? '']
      .concat(c.tags ? [JSON.stringify(c.tags)] : [])
      .filter((x) => x !== '')
      .join(' ');
    it(`#${n + 1} ${c.as}: ${what} → ${c.expect}${c.note ? ` (${c.note})` : ''}`, async () => {
      await runCase(c);
    });
  }

  it('trent policy explain prints the decision and the trace, as the server decides', () => {
    const explain = (principal: string, action: string, key: string, ...more: string[]) =>
      JSON.parse(
        cli(server, ['policy', 'explain', '--principal', principal, '--action', action, '--key', key, ...more]),
      ) as { decision: string; rule: string; message?: string; principal: string; trace: { policies: object[] } };
    const arnOf = (name: string) => (keys.get(name) as { arn: string }).arn;
    const carol = explain(ARN.carol, 'kms:Encrypt', arnOf('payments'));
    assert.deepEqual([carol.decision, carol.rule], ['Allow', 'key-policy-and-iam']);
    const bob = explain(ARN.bob, 'kms:Encrypt', arnOf('payments'));
    assert.deepEqual([bob.decision, bob.rule], ['ImplicitDeny', 'no-identity-policy-allows']);
    assert.equal(bob.message, denial('bob', 'kms:Encrypt', arnOf('payments'), 'identity'));
    const secret = explain(ARN.alice, 'Encrypt', arnOf('shared'), '--context', 'classification=secret');
    assert.deepEqual([secret.decision, secret.rule], ['ExplicitDeny', 'explicit-deny']);
    assert.match(JSON.stringify(secret.trace), /never secrets/);
    const zoe = explain(ARN.zoe, 'kms:Decrypt', arnOf('cshared'));
    assert.equal(zoe.message, denial('zoe', 'kms:Decrypt', arnOf('cshared'), 'explicit-scp'));
    assert.match(JSON.stringify(zoe.trace), /scp:777788889999\/boundary/);
    const reader = explain(roleArn(A, 'reader'), 'kms:Encrypt', (keys.get('rolekey') as { alias: string }).alias);
    assert.deepEqual(
      [reader.decision, reader.rule, reader.principal],
      ['Allow', 'key-policy', session(A, 'reader', 'explain')],
    );
    const ip = explain(
      ARN.bob,
      'kms:Encrypt',
      arnOf(`cond${CONDITIONS.findIndex((r) => r.label.startsWith('IpAddress 10'))}`),
      '--source-ip',
      '10.1.2.3',
    );
    assert.equal(ip.decision, 'Allow');
  });

  it('trent policy who-can lists the principals that may', () => {
    const out = cli(server, [
      'policy',
      'who-can',
      '--action',
      'kms:Encrypt',
      '--key',
      (keys.get('rolekey') as { arn: string }).arn,
    ]);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.deepEqual(
      lines.map((l) => l[0]),
      [root(A), ARN.alice, ARN.dave, ARN.frank, roleArn(A, 'reader')],
    );
    assert.deepEqual(lines.at(-1), [roleArn(A, 'reader'), 'key-policy']);
  });

  async function runCase(c: Case): Promise<void> {
    const condKey = c.key === 'alias' ? findAliasRowKey() : c.key;
    const key = condKey === undefined ? undefined : keys.get(condKey);
    const keyId = c.key === 'alias' ? key?.alias : key?.arn;
    const client = as(c.as);
    const admin = as('admin');
    const EncryptionContext = c.context;
    const call = async (): Promise<unknown> => {
      switch (c.op) {
        case 'Encrypt':
          return client.send(
            new EncryptCommand({
              KeyId: keyId,
              Plaintext: Buffer.from('x'),
              EncryptionContext,
              ...(c.algorithm === undefined ? {} : { EncryptionAlgorithm: c.algorithm as 'SYMMETRIC_DEFAULT' }),
            }),
          );
        case 'Decrypt': {
          const blob = await admin.send(
            new EncryptCommand({ KeyId: key?.arn, Plaintext: Buffer.from('x'), EncryptionContext }),
          );
          return client.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob, EncryptionContext }));
        }
        case 'DescribeKey':
          return client.send(new DescribeKeyCommand({ KeyId: keyId }));
        case 'GenerateDataKey':
          return client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext }));
        case 'GetKeyPolicy':
          return client.send(new GetKeyPolicyCommand({ KeyId: keyId }));
        case 'ListKeyPolicies':
          return client.send(new ListKeyPoliciesCommand({ KeyId: keyId }));
        case 'ListResourceTags':
          return client.send(new ListResourceTagsCommand({ KeyId: keyId }));
        case 'DisableKey':
          return client.send(new DisableKeyCommand({ KeyId: keyId }));
        case 'ScheduleKeyDeletion': {
          const out = await client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: c.days }));
          await admin.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
          return out;
        }
        case 'CreateKey':
          return client.send(
            new CreateKeyCommand({
              ...(c.tags === undefined
                ? {}
                : { Tags: Object.entries(c.tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })) }),
            }),
          );
        case 'ListKeys':
          return client.send(new ListKeysCommand({}));
        case 'ListAliases':
          return client.send(new ListAliasesCommand({}));
        case 'GenerateRandom':
          return client.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
      }
    };
    if (c.expect === 'allow') {
      await call();
      return;
    }
    if (c.expect === 'expired') {
      await rejectsWith(call(), 'ExpiredTokenException', 'The security token included in the request is expired');
      return;
    }
    if (c.expect === 'unrecognized') {
      await rejectsWith(
        call(),
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
      return;
    }
    const action = `kms:${c.op}`;
    const resource = key?.arn ?? '*';
    await rejectsWith(call(), 'AccessDeniedException', denial(c.as, action, resource, c.expect));
  }

  function findAliasRowKey(): string {
    const i = CONDITIONS.findIndex((r) => JSON.stringify(r.condition).includes('"ALIAS"'));
    return `cond${i}`;
  }
});

describe('access control: key policies', { timeout: 120_000 }, () => {
  let server: TestServer;
  let admin: KMSClient;
  let alice: KMSClient;
  let bob: KMSClient;
  let dataDir: string;

  before(async () => {
    server = await startServer();
    dataDir = server.dataDir;
    admin = server.client();
    const run = (args: string[]) => {
      const r = trent([...args, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    run([
      'policy',
      'put-user-policy',
      '--user',
      'alice',
      '--name',
      'kms',
      '--document',
      JSON.stringify(IDENTITY_POLICY([{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }])),
    ]);
    alice = server.client({ credentials: profile(run(['access-key', 'create', '--user', 'alice'])) });
    bob = server.client({ credentials: profile(run(['access-key', 'create', '--user', 'bob'])) });
  });

  after(async () => {
    admin?.destroy();
    alice?.destroy();
    bob?.destroy();
    await server?.destroy();
  });

  const onlyBob = policy(allowBob('kms:*'));
  const LOCKOUT = 'The new key policy will not allow you to update the key policy in the future.';

  it('returns the default policy, named default, and refuses other policy names', async () => {
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
    const got = await admin.send(new GetKeyPolicyCommand({ KeyId: KeyMetadata?.KeyId }));
    assert.equal(got.PolicyName, 'default');
    assert.match(got.Policy ?? '', /"Sid" : "Enable IAM User Permissions"/);
    assert.match(got.Policy ?? '', new RegExp(`"AWS" : "arn:aws:iam::${A}:root"`));
    const names = await admin.send(new ListKeyPoliciesCommand({ KeyId: KeyMetadata?.KeyId }));
    assert.deepEqual(names.PolicyNames, ['default']);
    assert.equal(names.Truncated, false);
    await rejectsWith(
      admin.send(new GetKeyPolicyCommand({ KeyId: KeyMetadata?.KeyId, PolicyName: 'other' })),
      'NotFoundException',
      'No such policy exists',
    );
  });

  it('runs the lockout safety check on CreateKey and PutKeyPolicy, unless bypassed', async () => {
    await rejectsWith(
      admin.send(new CreateKeyCommand({ Policy: onlyBob })),
      'MalformedPolicyDocumentException',
      LOCKOUT,
    );
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
    const KeyId = KeyMetadata?.Arn as string;
    await rejectsWith(
      admin.send(new PutKeyPolicyCommand({ KeyId, Policy: onlyBob })),
      'MalformedPolicyDocumentException',
      LOCKOUT,
    );
    // alice, through account delegation and her IAM policy, keeps PutKeyPolicy: no lockout.
    await alice.send(new PutKeyPolicyCommand({ KeyId, Policy: policy(STATEMENT_ROOT, allowBob('kms:Encrypt')) }));
    await bob.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
    // Bypassing the check locks the account out, as in AWS; bob alone holds the key now.
    await admin.send(new PutKeyPolicyCommand({ KeyId, Policy: onlyBob, BypassPolicyLockoutSafetyCheck: true }));
    await rejectsWith(
      admin.send(new DescribeKeyCommand({ KeyId })),
      'AccessDeniedException',
      denial('admin', 'kms:DescribeKey', KeyId, 'resource'),
    );
    await rejectsWith(
      alice.send(new GetKeyPolicyCommand({ KeyId })),
      'AccessDeniedException',
      denial('alice', 'kms:GetKeyPolicy', KeyId, 'resource'),
    );
    const got = await bob.send(new GetKeyPolicyCommand({ KeyId }));
    assert.equal(got.Policy, onlyBob);
    const created = await admin.send(new CreateKeyCommand({ Policy: onlyBob, BypassPolicyLockoutSafetyCheck: true }));
    assert.equal(created.KeyMetadata?.KeyState, 'Enabled');
  });

  it('refuses principals that do not exist, oversized and malformed policies', async () => {
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
    const KeyId = KeyMetadata?.Arn as string;
    const ghost = policy(STATEMENT_ROOT, { ...allowBob('kms:Encrypt'), Principal: { AWS: user(A, 'nobody') } });
    const invalid = 'Policy contains a statement with one or more invalid principals.';
    await rejectsWith(
      admin.send(new PutKeyPolicyCommand({ KeyId, Policy: ghost })),
      'MalformedPolicyDocumentException',
      invalid,
    );
    await rejectsWith(admin.send(new CreateKeyCommand({ Policy: ghost })), 'MalformedPolicyDocumentException', invalid);
    const role = policy(STATEMENT_ROOT, {
      ...allowBob('kms:Encrypt'),
      Principal: { AWS: `arn:aws:iam::${A}:role/none` },
    });
    await rejectsWith(
      admin.send(new PutKeyPolicyCommand({ KeyId, Policy: role })),
      'MalformedPolicyDocumentException',
      invalid,
    );
    const big = policy(STATEMENT_ROOT, { ...allowBob('kms:Encrypt'), Sid: 'x'.repeat(33_000) });
    await rejectsWith(
      admin.send(new PutKeyPolicyCommand({ KeyId, Policy: big })),
      'LimitExceededException',
      'Policy document exceeds the maximum size of 32768 bytes.',
    );
    await rejectsWith(
      admin.send(
        new PutKeyPolicyCommand({ KeyId, Policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}' }),
      ),
      'MalformedPolicyDocumentException',
      'Statement 1: Effect must be "Allow" or "Deny".',
    );
    // The policy is unchanged.
    const got = await admin.send(new GetKeyPolicyCommand({ KeyId }));
    assert.match(got.Policy ?? '', /key-default-1/);
  });

  it('resolves principals when the policy is saved: a user deleted and created again is not let back in', async () => {
    const run = (args: string[]) => {
      const r = trent([...args, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    run(['user', 'create', 'temp']);
    const first = server.client({ credentials: profile(run(['access-key', 'create', '--user', 'temp'])) });
    const named = policy(STATEMENT_ROOT, { ...allowBob('kms:Encrypt'), Principal: { AWS: user(A, 'temp') } });
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Policy: named }));
    const KeyId = KeyMetadata?.Arn as string;
    await first.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
    run(['user', 'delete', 'temp']);
    run(['user', 'create', 'temp']);
    const second = server.client({ credentials: profile(run(['access-key', 'create', '--user', 'temp'])) });
    await new Promise((r) => setTimeout(r, 250)); // the server checks the identity version every 100 ms
    await rejectsWith(
      second.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
      `User: ${user(A, 'temp')} is not authorized to perform: kms:Encrypt on resource: ${KeyId} because no identity-based policy allows the kms:Encrypt action`,
    );
    // Saving the policy again names the new user.
    await admin.send(new PutKeyPolicyCommand({ KeyId, Policy: named }));
    await second.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
    first.destroy();
    second.destroy();
  });

  it('takes a policy change made by the CLI while the server runs, and ABAC follows the key tags', async () => {
    const run = (args: string[]) => {
      const r = trent([...args, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'hr' }] }));
    const KeyId = KeyMetadata?.Arn as string;
    const abac = IDENTITY_POLICY([
      {
        Effect: 'Allow',
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/team': 'payments' } },
      },
    ]);
    run(['policy', 'put-user-policy', '--user', 'bob', '--name', 'abac', '--document', JSON.stringify(abac)]);
    await new Promise((r) => setTimeout(r, 250));
    const deniedMessage = denial('bob', 'kms:Encrypt', KeyId, 'identity');
    await rejectsWith(
      bob.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
      deniedMessage,
    );
    await admin.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'team', TagValue: 'payments' }] }));
    await bob.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
    run(['policy', 'delete-user-policy', '--user', 'bob', '--name', 'abac']);
    await new Promise((r) => setTimeout(r, 250));
    await rejectsWith(
      bob.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
      deniedMessage,
    );
  });

  it('records the denial trace in the server log, never in the reply', async () => {
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
    const err = await bob
      .send(new EncryptCommand({ KeyId: KeyMetadata?.Arn, Plaintext: Buffer.from('x') }))
      .catch((e: Error) => e);
    assert.ok(err instanceof Error);
    assert.doesNotMatch(err.message, /rule|statement/);
    await new Promise((r) => setTimeout(r, 100));
    assert.match(server.output(), /no-identity-policy-allows/);
  });
});

describe('access control: grants', { timeout: 120_000 }, () => {
  let server: TestServer;
  let admin: KMSClient;
  let bob: KMSClient;
  let xavier: KMSClient;
  let yvonne: KMSClient;
  let keyArn: string;

  before(async () => {
    server = await startServer();
    admin = server.client();
    const run = (args: string[]) => {
      const r = trent([...args, '--data-dir', server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    bob = server.client({ credentials: profile(run(['access-key', 'create', '--user', 'bob'])) });
    xavier = server.client({ credentials: profile(run(['access-key', 'create', '--account', B, '--user', 'xavier'])) });
    yvonne = server.client({ credentials: profile(run(['access-key', 'create', '--account', B, '--user', 'yvonne'])) });
    const created = await admin.send(new CreateKeyCommand({}));
    keyArn = created.KeyMetadata?.Arn as string;
  });

  after(async () => {
    for (const c of [admin, bob, xavier, yvonne]) c?.destroy();
    await server?.destroy();
  });

  const encrypt = (client: KMSClient, context?: Record<string, string>, GrantTokens?: string[]) =>
    client.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x'), EncryptionContext: context, GrantTokens }),
    );
  const grant = async (input: Omit<ConstructorParameters<typeof CreateGrantCommand>[0], 'KeyId'>) => {
    const out = await admin.send(new CreateGrantCommand({ KeyId: keyArn, ...input }));
    assert.match(out.GrantId ?? '', /^[0-9a-f]{64}$/);
    assert.ok((out.GrantToken ?? '').length > 0);
    return { grantId: out.GrantId as string, token: out.GrantToken as string };
  };
  const deniedBob = (action: string) => denial('bob', action, keyArn, 'identity');

  it('a grant with EncryptionContextSubset allows exactly what it says, usable at once with its token', async () => {
    await rejectsWith(encrypt(bob, { app: 'web' }), 'AccessDeniedException', deniedBob('kms:Encrypt'));
    const { token } = await grant({
      GranteePrincipal: user(A, 'bob'),
      Operations: ['Encrypt', 'Decrypt', 'RetireGrant'],
      Constraints: { EncryptionContextSubset: { app: 'web' } },
      RetiringPrincipal: user(A, 'bob'),
    });
    const table: [Record<string, string> | undefined, boolean][] = [
      [{ app: 'web' }, true],
      [{ app: 'web', extra: 'ok' }, true],
      [{ APP: 'web' }, true],
      [{ app: 'WEB' }, false],
      [{ app: 'api' }, false],
      [undefined, false],
    ];
    for (const [context, allowed] of table) {
      const call = encrypt(bob, context, [token]);
      if (allowed) await call;
      else await rejectsWith(call, 'AccessDeniedException', deniedBob('kms:Encrypt'));
    }
    const blob = await admin.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('y'), EncryptionContext: { app: 'web' } }),
    );
    await bob.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob, EncryptionContext: { app: 'web' } }));
    await rejectsWith(
      bob.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: { app: 'web' } })),
      'AccessDeniedException',
      deniedBob('kms:GenerateDataKey'),
    );
    // bob retires his own grant by token; then he is denied again.
    await bob.send(new RetireGrantCommand({ GrantToken: token }));
    await rejectsWith(encrypt(bob, { app: 'web' }), 'AccessDeniedException', deniedBob('kms:Encrypt'));
  });

  it('EncryptionContextEquals needs the exact context', async () => {
    const { grantId } = await grant({
      GranteePrincipal: user(A, 'bob'),
      Operations: ['Encrypt'],
      Constraints: { EncryptionContextEquals: { app: 'web', env: 'prod' } },
    });
    await encrypt(bob, { env: 'prod', app: 'web' });
    await encrypt(bob, { ENV: 'prod', app: 'web' });
    await rejectsWith(encrypt(bob, { app: 'web' }), 'AccessDeniedException', deniedBob('kms:Encrypt'));
    await rejectsWith(
      encrypt(bob, { app: 'web', env: 'prod', x: 'y' }),
      'AccessDeniedException',
      deniedBob('kms:Encrypt'),
    );
    await rejectsWith(
      bob.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId: grantId })),
      'AccessDeniedException',
      deniedBob('kms:RevokeGrant'),
    );
    await admin.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId: grantId }));
    await rejectsWith(encrypt(bob, { env: 'prod', app: 'web' }), 'AccessDeniedException', deniedBob('kms:Encrypt'));
    await rejectsWith(
      admin.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId: grantId })),
      'NotFoundException',
      `Grant ID ${grantId} not found`,
    );
  });

  it('refuses malformed or foreign grant tokens', async () => {
    const bad = ['nope', 'AQ', Buffer.alloc(80, 1).toString('base64url')];
    for (const t of bad) {
      await rejectsWith(encrypt(admin, undefined, [t]), 'InvalidGrantTokenException', 'The grant token is not valid.');
    }
    await rejectsWith(
      admin.send(new RetireGrantCommand({ GrantToken: 'nope' })),
      'InvalidGrantTokenException',
      'The grant token is not valid.',
    );
  });

  it('Name makes CreateGrant idempotent; ListGrants and ListRetirableGrants list grants', async () => {
    const input = {
      GranteePrincipal: user(A, 'bob'),
      Operations: ['Decrypt' as const],
      Name: 'named',
      RetiringPrincipal: root(B),
    };
    const a = await grant(input);
    const b = await grant(input);
    assert.equal(a.grantId, b.grantId);
    assert.notEqual(a.token, b.token);
    const c = await grant({ ...input, Operations: ['Encrypt'] });
    assert.notEqual(c.grantId, a.grantId);
    const listed = await admin.send(new ListGrantsCommand({ KeyId: keyArn, GrantId: a.grantId }));
    assert.deepEqual(
      listed.Grants?.map((g) => ({ ...g, CreationDate: undefined })),
      [
        {
          KeyId: keyArn,
          GrantId: a.grantId,
          Name: 'named',
          CreationDate: undefined,
          GranteePrincipal: user(A, 'bob'),
          RetiringPrincipal: root(B),
          IssuingAccount: root(A),
          Operations: ['Decrypt'],
        },
      ],
    );
    const page1 = await admin.send(new ListGrantsCommand({ KeyId: keyArn, Limit: 1 }));
    assert.equal(page1.Grants?.length, 1);
    assert.equal(page1.Truncated, true);
    const page2 = await admin.send(new ListGrantsCommand({ KeyId: keyArn, Limit: 10, Marker: page1.NextMarker }));
    assert.equal(page2.Grants?.length, 1);
    await rejectsWith(
      admin.send(new ListGrantsCommand({ KeyId: keyArn, GrantId: '0'.repeat(64) })),
      'InvalidGrantIdException',
      `Grant ID ${'0'.repeat(64)} is not valid.`,
    );
    const retirable = await admin.send(new ListRetirableGrantsCommand({ RetiringPrincipal: root(B) }));
    assert.deepEqual(retirable.Grants?.map((g) => g.GrantId).sort(), [a.grantId, c.grantId].sort());
    // The issuing account retires by key ARN + grant id.
    await admin.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: c.grantId }));
    await rejectsWith(
      admin.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: c.grantId })),
      'NotFoundException',
      `Grant ID ${c.grantId} not found`,
    );
    await admin.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId: a.grantId }));
  });

  it('grants across accounts: a named grantee needs no key policy; an account grantee needs IAM', async () => {
    const xavierDenied = `User: ${user(B, 'xavier')} is not authorized to perform: kms:Encrypt on resource: ${keyArn} because no resource-based policy allows the kms:Encrypt action`;
    await rejectsWith(encrypt(xavier), 'AccessDeniedException', xavierDenied);
    await grant({ GranteePrincipal: user(B, 'xavier'), Operations: ['Encrypt'] });
    await encrypt(xavier);
    await grant({ GranteePrincipal: root(B), Operations: ['Encrypt'] });
    await rejectsWith(
      encrypt(yvonne),
      'AccessDeniedException',
      `User: ${user(B, 'yvonne')} is not authorized to perform: kms:Encrypt on resource: ${keyArn} because no resource-based policy allows the kms:Encrypt action`,
    );
  });

  it('validates grants against the key, DryRun, and who may create them', async () => {
    await rejectsWith(
      admin.send(new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: user(A, 'bob'), Operations: ['Sign'] })),
      'ValidationException',
      `Grant operation Sign is not supported by key ${keyArn} (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT).`,
    );
    await rejectsWith(
      admin.send(
        new CreateGrantCommand({
          KeyId: keyArn,
          GranteePrincipal: user(A, 'bob'),
          Operations: ['Encrypt'],
          DryRun: true,
        }),
      ),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    );
    await rejectsWith(
      bob.send(new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: user(A, 'bob'), Operations: ['Encrypt'] })),
      'AccessDeniedException',
      deniedBob('kms:CreateGrant'),
    );
    // A grant of CreateGrant lets bob create grants.
    await grant({ GranteePrincipal: user(A, 'bob'), Operations: ['CreateGrant', 'DescribeKey'] });
    await bob.send(
      new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: user(A, 'bob'), Operations: ['DescribeKey'] }),
    );
    await bob.send(new DescribeKeyCommand({ KeyId: keyArn }));
  });
});

describe('access control: grants across a restart', { timeout: 120_000 }, () => {
  let first: TestServer | undefined;
  let second: TestServer | undefined;

  // The second server runs on the first's data directory, which the first's destroy removes.
  after(async () => {
    await second?.destroy();
    await first?.destroy();
  });

  it('a grant made before the restart is honored once the key cache is preloaded, and no other', async () => {
    first = await startServer();
    const dataDir = first.dataDir;
    const r = trent(['access-key', 'create', '--user', 'bob', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const credentials = profile(r.stdout);
    const admin = first.client();
    const granted = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    const other = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    await admin.send(
      new CreateGrantCommand({ KeyId: granted, GranteePrincipal: user(A, 'bob'), Operations: ['Encrypt'] }),
    );
    admin.destroy();
    await first.stop();

    second = await startServer({ dataDir });
    const server = second;
    // The preload caches the keys without grants as such: the key with one must not be among them.
    for (let waited = 0; !server.output().includes('key cache preloaded'); waited += 20) {
      assert.ok(waited < 10_000, `no 'key cache preloaded' line:\n${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const bob = server.client({ credentials });
    try {
      await bob.send(new EncryptCommand({ KeyId: granted, Plaintext: Buffer.from('x') }));
      await rejectsWith(
        bob.send(new EncryptCommand({ KeyId: other, Plaintext: Buffer.from('x') })),
        'AccessDeniedException',
        denial('bob', 'kms:Encrypt', other, 'identity'),
      );
    } finally {
      bob.destroy();
    }
  });
});
