import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromIni } from '@aws-sdk/credential-provider-ini';
import { REGION, startServer, type TestServer } from '../helpers/server.js';
import { lookupAll, trent } from '../helpers/trent-cli.js';
import { rejectsWith } from './sdk-assert.js';

/**
 * STS on Trent's port (AWS Query protocol, XML replies): GetCallerIdentity and AssumeRole with the
 * clients people use — @aws-sdk/client-sts, AWS CLI v1 profiles with role_arn + source_profile and
 * AWS_ENDPOINT_URL_STS, boto3 — and the errors STS answers, in its XML error shape.
 */

const A = '111122223333';
const B = '444455556666';
const ALICE = { accessKeyId: 'AKIASTSALICE00000001', secretAccessKey: 'alice-secret-0123456789abcdef' };
const BRUNO = { accessKeyId: 'AKIASTSBRUNO00000001', secretAccessKey: 'bruno-secret-0123456789abcdef' };
const doc = (statements: object[]) => ({ Version: '2012-10-17', Statement: statements });
const roleArn = (acct: string, name: string) => `arn:aws:iam::${acct}:role/${name}`;

function identities(): object {
  return {
    accounts: {
      [A]: {
        users: {
          alice: { accessKeys: [ALICE] },
          // Cross-account partner of the role `partner` in B: its own IAM policy must allow the call.
        },
        roles: {
          app: {
            trustPolicy: doc([
              { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:user/alice` }, Action: ['sts:AssumeRole'] },
            ]),
            maxSessionDuration: 7200,
            policies: { kms: doc([{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }]) },
          },
          chained: {
            trustPolicy: doc([
              { Effect: 'Allow', Principal: { AWS: roleArn(A, 'app') }, Action: ['sts:AssumeRole', 'sts:TagSession'] },
            ]),
          },
        },
      },
      [B]: {
        users: {
          bruno: {
            policies: {
              assume: doc([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn(A, 'shared') }]),
            },
            accessKeys: [BRUNO],
          },
        },
      },
    },
  };
}

describe('STS on the KMS port', { timeout: 180_000 }, () => {
  let server: TestServer;
  let files: string;
  const sts = (credentials: object) =>
    new STSClient({ endpoint: server.url, region: REGION, credentials: credentials as never, maxAttempts: 1 });

  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'trent-sts-'));
    const file = join(files, 'identities.json');
    writeFileSync(file, JSON.stringify(identities()));
    server = await startServer({ args: ['--identities', file] });
    // A role of account A that account B may assume (trust: B's account; B's IAM must allow too).
    const r = trent([
      'role',
      'create',
      'shared',
      '--data-dir',
      server.dataDir,
      '--trust-document',
      JSON.stringify(doc([{ Effect: 'Allow', Principal: { AWS: B }, Action: 'sts:AssumeRole' }])),
    ]);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await server?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  async function assume(credentials: object, input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>) {
    const client = sts(credentials);
    try {
      return await client.send(new AssumeRoleCommand({ RoleArn: roleArn(A, 'app'), RoleSessionName: 's1', ...input }));
    } finally {
      client.destroy();
    }
  }

  function sessionCredentials(out: Awaited<ReturnType<typeof assume>>) {
    const c = out.Credentials;
    return {
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
      sessionToken: c?.SessionToken as string,
    };
  }

  it('GetCallerIdentity answers for the root, a user and a role session', async () => {
    const root = sts(server.credentials);
    assert.deepEqual(
      { ...(await root.send(new GetCallerIdentityCommand({}))), $metadata: undefined },
      { $metadata: undefined, Account: A, Arn: `arn:aws:iam::${A}:root`, UserId: A },
    );
    root.destroy();
    const alice = sts(ALICE);
    const me = await alice.send(new GetCallerIdentityCommand({}));
    alice.destroy();
    assert.equal(me.Arn, `arn:aws:iam::${A}:user/alice`);
    assert.match(me.UserId ?? '', /^AIDA[A-Z2-7]{17}$/);

    const out = await assume(ALICE, { RoleSessionName: 'who-am-i', DurationSeconds: 900 });
    assert.match(out.Credentials?.AccessKeyId ?? '', /^ASIA[A-Z2-7]{16}$/);
    assert.ok((out.Credentials?.SessionToken ?? '').length > 100);
    const expires = out.Credentials?.Expiration?.getTime() ?? 0;
    assert.ok(Math.abs(expires - (Date.now() + 900_000)) < 10_000, `expiry ${out.Credentials?.Expiration}`);
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${A}:assumed-role/app/who-am-i`);
    assert.match(out.AssumedRoleUser?.AssumedRoleId ?? '', /^AROA[A-Z2-7]{17}:who-am-i$/);
    const session = sts(sessionCredentials(out));
    const seen = await session.send(new GetCallerIdentityCommand({}));
    session.destroy();
    assert.equal(seen.Arn, out.AssumedRoleUser?.Arn);
    assert.equal(seen.UserId, out.AssumedRoleUser?.AssumedRoleId);
  });

  it('a session uses KMS with the role policies, and the audit trail names the role session', async () => {
    const out = await assume(ALICE, { RoleSessionName: 'audited' });
    const kms = server.client({ credentials: sessionCredentials(out) as never }) as KMSClient;
    const key = await kms.send(new CreateKeyCommand({}));
    await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') }));
    kms.destroy();
    const record = lookupAll(server.dataDir, ['--event-name', 'Encrypt']).find(
      (r) => (r.userIdentity as { arn?: string }).arn === `arn:aws:sts::${A}:assumed-role/app/audited`,
    );
    assert.ok(record, 'no Encrypt record of the session');
    const identity = record.userIdentity as Record<string, unknown>;
    assert.equal(identity.type, 'AssumedRole');
    assert.equal(identity.accessKeyId, out.Credentials?.AccessKeyId);
    assert.equal(identity.principalId, out.AssumedRoleUser?.AssumedRoleId);
    assert.deepEqual((identity.sessionContext as { sessionIssuer: object }).sessionIssuer, {
      type: 'Role',
      principalId: out.AssumedRoleUser?.AssumedRoleId?.split(':')[0],
      arn: roleArn(A, 'app'),
      accountId: A,
      userName: 'app',
    });
  });

  it('AssumeRole refuses what STS refuses', async () => {
    const denied = (who: string, role: string) =>
      `User: ${who} is not authorized to perform: sts:AssumeRole on resource: ${roleArn(A, role)}`;
    await rejectsSts(assume(server.credentials, {}), 'AccessDenied', 'Roles may not be assumed by root accounts.', 403);
    await rejectsSts(
      assume(ALICE, { RoleArn: roleArn(A, 'nope') }),
      'AccessDenied',
      denied(`arn:aws:iam::${A}:user/alice`, 'nope'),
      403,
    );
    await rejectsSts(
      assume(ALICE, { RoleArn: roleArn(A, 'chained') }),
      'AccessDenied',
      denied(`arn:aws:iam::${A}:user/alice`, 'chained'),
      403,
    );
    await rejectsSts(
      assume(ALICE, { DurationSeconds: 899 }),
      'ValidationError',
      "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
    await rejectsSts(
      assume(ALICE, { DurationSeconds: 7201 }),
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
    await assume(ALICE, { DurationSeconds: 7200 });
    await rejectsSts(
      assume(ALICE, { RoleSessionName: 'a b' }),
      'ValidationError',
      "1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    );
    await rejectsSts(
      assume({ ...ALICE, secretAccessKey: 'wrong-secret-0123456789abcdef' }, {}),
      'SignatureDoesNotMatch',
      /signature we calculated does not match/,
      403,
    );
    await rejectsSts(
      assume({ accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: 'x'.repeat(40) }, {}),
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
      403,
    );
  });

  it('cross-account: the trust policy names the account, and its IAM policy must allow', async () => {
    const out = await assume(BRUNO, { RoleArn: roleArn(A, 'shared'), RoleSessionName: 'partner' });
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${A}:assumed-role/shared/partner`);
    const r = trent([
      'policy',
      'delete-user-policy',
      '--user',
      'bruno',
      '--name',
      'assume',
      '--account',
      B,
      '--data-dir',
      server.dataDir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await rejectsSts(
      assume(BRUNO, { RoleArn: roleArn(A, 'shared'), RoleSessionName: 'partner' }),
      'AccessDenied',
      `User: arn:aws:iam::${B}:user/bruno is not authorized to perform: sts:AssumeRole on resource: ${roleArn(A, 'shared')}`,
      403,
    );
  });

  it('role chaining passes transitive session tags and is limited to one hour', async () => {
    const first = await assume(ALICE, { RoleSessionName: 'first' });
    // alice's session may not tag: the trust policy of app does not allow sts:TagSession.
    await rejectsSts(
      assume(ALICE, { RoleSessionName: 'tagged', Tags: [{ Key: 'team', Value: 'x' }] }),
      'AccessDenied',
      `User: arn:aws:iam::${A}:user/alice is not authorized to perform: sts:TagSession on resource: ${roleArn(A, 'app')}`,
      403,
    );
    const creds = sessionCredentials(first);
    await rejectsSts(
      assume(creds, { RoleArn: roleArn(A, 'chained'), RoleSessionName: 'second', DurationSeconds: 3601 }),
      'ValidationError',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
    const second = await assume(creds, {
      RoleArn: roleArn(A, 'chained'),
      RoleSessionName: 'second',
      Tags: [{ Key: 'team', Value: 'payments' }],
      TransitiveTagKeys: ['team'],
    });
    // A third hop keeps the transitive tag and may not set it again.
    await rejectsSts(
      assume(sessionCredentials(second), {
        RoleArn: roleArn(A, 'chained'),
        RoleSessionName: 'third',
        Tags: [{ Key: 'team', Value: 'other' }],
      }),
      'InvalidParameterValue',
      'The session tag key team is a transitive tag of the calling session and cannot be set again.',
    );
  });

  it('a key policy naming a role is bound to that role: deleted and created again, it is not let back in', async () => {
    const admin = server.client();
    const policy = JSON.stringify(
      doc([
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: roleArn(A, 'chained') }, Action: 'kms:DescribeKey', Resource: '*' },
      ]),
    );
    const key = await admin.send(new CreateKeyCommand({ Policy: policy }));
    const keyArn = key.KeyMetadata?.Arn as string;
    const first = sessionCredentials(await assume(ALICE, { RoleSessionName: 'hop' }));
    const chained = server.client({
      credentials: sessionCredentials(await assume(first, { RoleArn: roleArn(A, 'chained'), RoleSessionName: 'k1' })),
    } as never) as KMSClient;
    await chained.send(new DescribeKeyCommand({ KeyId: keyArn }));
    const trust = JSON.stringify(
      doc([{ Effect: 'Allow', Principal: { AWS: roleArn(A, 'app') }, Action: 'sts:AssumeRole' }]),
    );
    for (const args of [
      ['role', 'delete', 'chained'],
      ['role', 'create', 'chained', '--trust-document', trust],
    ]) {
      const r = trent([...args, '--data-dir', server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
    }
    const again = server.client({
      credentials: sessionCredentials(await assume(first, { RoleArn: roleArn(A, 'chained'), RoleSessionName: 'k2' })),
    } as never) as KMSClient;
    await rejectsWith(
      again.send(new DescribeKeyCommand({ KeyId: keyArn })),
      'AccessDeniedException',
      `User: arn:aws:sts::${A}:assumed-role/chained/k2 is not authorized to perform: kms:DescribeKey on resource: ${keyArn} because no identity-based policy allows the kms:DescribeKey action`,
    );
    chained.destroy();
    again.destroy();
    admin.destroy();
  });

  it('answers in STS XML, unsigned requests and unknown actions included', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    assert.equal(res.status, 403);
    const body = await res.text();
    assert.match(
      body,
      /^<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code><Message>Missing Authentication Token<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
    );
    assert.equal(res.headers.get('content-type'), 'text/xml');
    assert.ok(res.headers.get('x-amzn-requestid'));
  });

  it('the AWS CLI assumes a role from a profile (role_arn + source_profile, AWS_ENDPOINT_URL_STS)', async () => {
    const env = cliEnv();
    const caller = JSON.parse(await run('aws', ['sts', 'get-caller-identity', '--profile', 'app'], env)) as {
      Arn: string;
    };
    assert.equal(caller.Arn, `arn:aws:sts::${A}:assumed-role/app/cli-session`);
    const key = JSON.parse(await run('aws', ['kms', 'create-key', '--profile', 'app'], env)) as {
      KeyMetadata: { Arn: string };
    };
    assert.match(key.KeyMetadata.Arn, /^arn:aws:kms:us-east-1:111122223333:key\//);
    // --endpoint-url works too, for a one-off call.
    const out = JSON.parse(
      await run(
        'aws',
        [
          'sts',
          'assume-role',
          '--profile',
          'alice',
          '--role-arn',
          roleArn(A, 'app'),
          '--role-session-name',
          'one-off',
          '--endpoint-url',
          server.url,
        ],
        { ...env, AWS_ENDPOINT_URL_STS: '' },
      ),
    ) as { AssumedRoleUser: { Arn: string } };
    assert.equal(out.AssumedRoleUser.Arn, `arn:aws:sts::${A}:assumed-role/app/one-off`);
  });

  it('boto3 assumes a role from a profile, and with client("sts", endpoint_url=...)', async () => {
    const script = `
import boto3, json, sys
url = sys.argv[1]
s = boto3.Session(profile_name="app")
who = s.client("sts").get_caller_identity()["Arn"]
kms = s.client("kms")
key = kms.create_key()["KeyMetadata"]["KeyId"]
blob = kms.encrypt(KeyId=key, Plaintext=b"hi")["CiphertextBlob"]
plain = kms.decrypt(CiphertextBlob=blob)["Plaintext"].decode()
direct = boto3.Session(profile_name="alice").client("sts", endpoint_url=url).assume_role(
    RoleArn="arn:aws:iam::111122223333:role/app", RoleSessionName="boto", DurationSeconds=900)
print(json.dumps({"who": who, "plain": plain, "direct": direct["AssumedRoleUser"]["Arn"],
                  "key": direct["Credentials"]["AccessKeyId"]}))
`;
    const out = JSON.parse(await run('python3', ['-c', script, server.url], cliEnv())) as Record<string, string>;
    assert.deepEqual(
      { ...out, key: out.key?.slice(0, 4) },
      {
        who: `arn:aws:sts::${A}:assumed-role/app/cli-session`,
        plain: 'hi',
        direct: `arn:aws:sts::${A}:assumed-role/app/boto`,
        key: 'ASIA',
      },
    );
  });

  it('the JS SDK assumes a role from a profile (fromIni, AWS_ENDPOINT_URL_STS)', async () => {
    const env = cliEnv();
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_CONFIG_FILE: env.AWS_CONFIG_FILE,
      AWS_SHARED_CREDENTIALS_FILE: env.AWS_SHARED_CREDENTIALS_FILE,
      AWS_ENDPOINT_URL_STS: server.url,
      AWS_REGION: REGION,
    });
    try {
      const credentials = fromIni({ profile: 'app' });
      const client = new STSClient({ endpoint: server.url, region: REGION, credentials, maxAttempts: 1 });
      const me = await client.send(new GetCallerIdentityCommand({}));
      client.destroy();
      assert.equal(me.Arn, `arn:aws:sts::${A}:assumed-role/app/cli-session`);
    } finally {
      for (const k of ['AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_ENDPOINT_URL_STS', 'AWS_REGION']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  function cliEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
    const config = join(files, 'config');
    const credentials = join(files, 'credentials');
    writeFileSync(
      config,
      [
        '[profile alice]',
        `region = ${REGION}`,
        '[profile app]',
        `region = ${REGION}`,
        `role_arn = ${roleArn(A, 'app')}`,
        'source_profile = alice',
        'role_session_name = cli-session',
        '',
      ].join('\n'),
    );
    writeFileSync(
      credentials,
      `[alice]\naws_access_key_id = ${ALICE.accessKeyId}\naws_secret_access_key = ${ALICE.secretAccessKey}\n`,
    );
    return {
      ...env,
      // The AWS CLI caches assumed-role credentials under ~/.aws/cli/cache: keep each run's own.
      HOME: files,
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_ENDPOINT_URL_STS: server.url,
      AWS_ENDPOINT_URL_KMS: server.url,
    };
  }
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function rejectsSts(call: Promise<unknown>, name: string, message: string | RegExp, status = 400): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
    assert.equal(e.name, name, `expected ${name}, got ${String(e.name)}: ${String(e.message)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(String(e.message), message);
    assert.equal(e.$metadata?.httpStatusCode, status);
    return true;
  });
}
