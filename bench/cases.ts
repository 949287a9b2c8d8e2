import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from './load.js';
import type { Credentials, Target } from './servers.js';

/**
 * What is measured: each case is one operation with one request body, built per target from that
 * target's key and ciphertext. The body is the same for every request of a measurement, which is
 * what lets the load generator sign it once (a fresh IV makes every Encrypt reply differ anyway).
 */
export interface Case {
  label: string;
  operation: string;
  /** undefined: the target cannot do it (moto without signing keys), so it is not measured there. */
  body(setup: Setup): string | undefined;
  /** The concurrencies it runs at (of those asked for); all when absent. Keeps `npm run bench` short. */
  concurrencies?: readonly number[];
  /** false: the bare limit (bare-server.ts) does not answer it. */
  bare?: boolean;
  /**
   * false: left out of the warm-up before the first measurement (run.ts), because it changes what
   * the other cases read — CreateKey's keys would fill ListKeys' first page.
   */
  warmUp?: boolean;
  /** Who signs: the target's administrator unless this gives another caller. */
  credentials?(setup: Setup): Credentials | undefined;
}

export interface Setup {
  keyId: string;
  plaintext1k: string;
  plaintext4k: string;
  /** A ciphertext of plaintext1k, made once. */
  ciphertext: string;
  /** A second symmetric key, the destination of ReEncrypt. */
  otherKeyId: string | undefined;
  /** Signing keys; undefined where the target could not create one or sign with it. */
  eccKeyId: string | undefined;
  rsaKeyId: string | undefined;
  /** 32 random bytes, base64: the message signed. */
  digest: string;
  /** Trent only: an IAM user allowed to use `policyKeyId` by a realistic key policy and IAM policy. */
  policyCaller: { credentials: Credentials; keyId: string } | undefined;
}

const ONLY_16 = [16] as const;

export const CASES: Case[] = [
  {
    label: 'Encrypt 1 KiB',
    operation: 'Encrypt',
    body: (s) => JSON.stringify({ KeyId: s.keyId, Plaintext: s.plaintext1k }),
  },
  {
    // The same request as above, by an IAM user under a production-like key policy and IAM policy
    // (see realisticPolicy): what policy evaluation costs over the default policy and the root.
    label: 'Encrypt (policy)',
    operation: 'Encrypt',
    body: (s) => s.policyCaller && JSON.stringify({ KeyId: s.policyCaller.keyId, Plaintext: s.plaintext1k }),
    credentials: (s) => s.policyCaller?.credentials,
    concurrencies: ONLY_16,
    bare: false,
  },
  {
    label: 'Encrypt 4 KiB',
    operation: 'Encrypt',
    body: (s) => JSON.stringify({ KeyId: s.keyId, Plaintext: s.plaintext4k }),
  },
  {
    label: 'Decrypt 1 KiB',
    operation: 'Decrypt',
    body: (s) => JSON.stringify({ CiphertextBlob: s.ciphertext }),
  },
  {
    label: 'GenerateDataKey',
    operation: 'GenerateDataKey',
    body: (s) => JSON.stringify({ KeyId: s.keyId, NumberOfBytes: 32 }),
  },
  {
    label: 'ReEncrypt',
    operation: 'ReEncrypt',
    body: (s) => s.otherKeyId && JSON.stringify({ CiphertextBlob: s.ciphertext, DestinationKeyId: s.otherKeyId }),
    bare: false,
  },
  {
    label: 'Sign P-256',
    operation: 'Sign',
    body: (s) => s.eccKeyId && signBody(s.eccKeyId, s.digest, 'ECDSA_SHA_256'),
    bare: false,
  },
  {
    label: 'Sign RSA-2048',
    operation: 'Sign',
    body: (s) => s.rsaKeyId && signBody(s.rsaKeyId, s.digest, 'RSASSA_PSS_SHA_256'),
    bare: false,
  },
  {
    label: 'DescribeKey',
    operation: 'DescribeKey',
    body: (s) => JSON.stringify({ KeyId: s.keyId }),
    bare: false,
  },
  {
    label: 'ListKeys',
    operation: 'ListKeys',
    body: () => JSON.stringify({ Limit: 100 }),
    bare: false,
  },
  {
    // Every request creates a key: up to ~20,000 a round at c1, c16 and c64 on a fast VM, so the
    // bench's servers get room beyond the default quota of 100,000 (servers.ts, BENCH_KEY_QUOTA).
    label: 'CreateKey',
    operation: 'CreateKey',
    body: () => JSON.stringify({ Description: 'trent bench load' }),
    bare: false,
    warmUp: false,
  },
];

/** `destination` if the target re-encrypts to it; undefined (not measured) otherwise. */
async function reEncrypts(target: Target, ciphertext: string, destination: string): Promise<string | undefined> {
  if (target.name === 'bare') return undefined;
  try {
    await call(target, 'ReEncrypt', { CiphertextBlob: ciphertext, DestinationKeyId: destination });
    return destination;
  } catch (err) {
    console.error(`${target.name}: no ReEncrypt (${err instanceof Error ? err.message : err}); not measured`);
    return undefined;
  }
}

function signBody(keyId: string, message: string, algorithm: string): string {
  return JSON.stringify({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: algorithm });
}

/** A signing key of `keySpec` that signs once; undefined if the target cannot. */
async function signingKey(target: Target, keySpec: string, algorithm: string, digest: string) {
  if (target.name === 'bare') return undefined;
  try {
    const created = (await call(target, 'CreateKey', { KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' })) as {
      KeyMetadata: { KeyId: string };
    };
    const keyId = created.KeyMetadata.KeyId;
    await call(target, 'Sign', JSON.parse(signBody(keyId, digest, algorithm)) as object);
    return keyId;
  } catch (err) {
    console.error(`${target.name}: no ${keySpec} signing (${err instanceof Error ? err.message : err}); not measured`);
    return undefined;
  }
}

/**
 * Creates the symmetric key and checks once that each operation answers what it should: the
 * load generator only looks at status codes, so a 200 with a wrong body must be caught here.
 */
export async function setUp(target: Target): Promise<Setup> {
  const created = (await call(target, 'CreateKey', { Description: 'trent bench' })) as {
    KeyMetadata: { KeyId: string };
  };
  const keyId = created.KeyMetadata.KeyId;
  const plaintext1k = randomBytes(1024).toString('base64');
  const plaintext4k = randomBytes(4096).toString('base64');
  const ciphertext = await encrypt(target, keyId, plaintext1k);
  const decrypted = (await call(target, 'Decrypt', { CiphertextBlob: ciphertext })) as {
    Plaintext: string;
  };
  if (decrypted.Plaintext !== plaintext1k) {
    throw new Error(`${target.name}: Decrypt did not give back the plaintext`);
  }
  const dataKey = (await call(target, 'GenerateDataKey', { KeyId: keyId, NumberOfBytes: 32 })) as {
    Plaintext: string;
  };
  if (Buffer.from(dataKey.Plaintext, 'base64').length !== 32) {
    throw new Error(`${target.name}: GenerateDataKey returned a key of the wrong size`);
  }
  const other = (await call(target, 'CreateKey', { Description: 'trent bench 2' })) as {
    KeyMetadata: { KeyId: string };
  };
  const digest = randomBytes(32).toString('base64');
  return {
    keyId,
    plaintext1k,
    plaintext4k,
    ciphertext,
    otherKeyId: await reEncrypts(target, ciphertext, other.KeyMetadata.KeyId),
    eccKeyId: await signingKey(target, 'ECC_NIST_P256', 'ECDSA_SHA_256', digest),
    rsaKeyId: await signingKey(target, 'RSA_2048', 'RSASSA_PSS_SHA_256', digest),
    digest,
    policyCaller: target.dataDir === undefined ? undefined : await policyCaller(target, plaintext1k),
  };
}

const TRENT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'trent');

function trent(target: Target, args: string[]): string {
  const where = [
    '--data-dir',
    target.dataDir as string,
    ...(target.store === undefined ? [] : ['--store', target.store]),
  ];
  const r = spawnSync(process.execPath, [TRENT, ...args, ...where], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`trent ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A key whose policy reads like one written for production — administrators, users with
 * conditions, grants only for AWS resources, an explicit deny outside the local networks — used by
 * an IAM user that also has an identity policy with conditions, all evaluated on each request.
 */
export async function policyCaller(target: Target, plaintext: string): Promise<Setup['policyCaller']> {
  const created = (await call(target, 'CreateKey', { Description: 'trent bench policy' })) as {
    KeyMetadata: { KeyId: string; Arn: string };
  };
  const { KeyId: keyId, Arn: keyArn } = created.KeyMetadata;
  const account = keyArn.split(':')[4] as string;
  const iamPolicy = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'UseTeamKeys',
        Effect: 'Allow',
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: `arn:aws:kms:*:${account}:key/*`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template.
        Condition: { StringEquals: { 'aws:ResourceTag/team': '${aws:PrincipalTag/team}' } },
      },
      { Sid: 'NoDeletion', Effect: 'Deny', Action: ['kms:ScheduleKeyDeletion', 'kms:DisableKey'], Resource: '*' },
    ],
  };
  trent(target, ['user', 'create', 'bench-admin']);
  trent(target, ['user', 'create', 'bench-app', '--tag', 'team=payments']);
  trent(target, [
    'policy',
    'put-user-policy',
    '--user',
    'bench-app',
    '--name',
    'kms',
    '--document',
    JSON.stringify(iamPolicy),
  ]);
  const profile = trent(target, ['access-key', 'create', '--user', 'bench-app']);
  const credentials = {
    accessKeyId: /aws_access_key_id = (\S+)/.exec(profile)?.[1] ?? '',
    secretAccessKey: /aws_secret_access_key = (\S+)/.exec(profile)?.[1] ?? '',
  };
  const user = (name: string) => `arn:aws:iam::${account}:user/${name}`;
  const keyPolicy = {
    Version: '2012-10-17',
    Id: 'key-consolepolicy-3',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'Allow access for Key Administrators',
        Effect: 'Allow',
        Principal: { AWS: user('bench-admin') },
        Action: [
          'kms:Create*',
          'kms:Describe*',
          'kms:Enable*',
          'kms:List*',
          'kms:Put*',
          'kms:Update*',
          'kms:Revoke*',
          'kms:Disable*',
          'kms:Get*',
          'kms:Delete*',
          'kms:TagResource',
          'kms:UntagResource',
          'kms:ScheduleKeyDeletion',
          'kms:CancelKeyDeletion',
        ],
        Resource: '*',
      },
      {
        Sid: 'Allow use of the key',
        Effect: 'Allow',
        Principal: { AWS: user('bench-app') },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': account, 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } },
      },
      {
        Sid: 'Allow attachment of persistent resources',
        Effect: 'Allow',
        Principal: { AWS: user('bench-app') },
        Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
      {
        Sid: 'Deny use outside the private networks',
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:*',
        Resource: '*',
        Condition: { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '10.0.0.0/8', '192.168.0.0/16'] } },
      },
    ],
  };
  await call(target, 'PutKeyPolicy', { KeyId: keyId, PolicyName: 'default', Policy: JSON.stringify(keyPolicy) });
  await call(target, 'TagResource', { KeyId: keyId, Tags: [{ TagKey: 'team', TagValue: 'payments' }] });
  // The server picks up identities written by the admin commands within about 0.1 s.
  for (let attempt = 0; ; attempt++) {
    try {
      await call(target, 'Encrypt', { KeyId: keyId, Plaintext: plaintext }, credentials);
      return { credentials, keyId };
    } catch (err) {
      if (attempt === 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function encrypt(target: Target, keyId: string, plaintext: string): Promise<string> {
  const encrypted = (await call(target, 'Encrypt', { KeyId: keyId, Plaintext: plaintext })) as {
    CiphertextBlob: string;
  };
  if (encrypted.CiphertextBlob === plaintext) {
    throw new Error(`${target.name}: Encrypt returned the plaintext`);
  }
  return encrypted.CiphertextBlob;
}
