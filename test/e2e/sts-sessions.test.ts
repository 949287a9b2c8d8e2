import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { REGION, readCredentials, startServer, type TestServer } from '../helpers/server.js';
import { lookupAll, trent } from '../helpers/trent-cli.js';
import { rejectsWith } from './sdk-assert.js';

/**
 * STS sessions beyond the basics (docs/identities.md, "Roles and STS"): session policies that only
 * limit, trust policies bound to the unique ids of the principals they name, and the audit
 * records of STS calls — through @aws-sdk/client-sts and @aws-sdk/client-kms.
 */

const A = '111122223333';
const ALICE = { accessKeyId: 'AKIASESSALICE0000001', secretAccessKey: 'alice-secret-0123456789abcdef' };
const BOB = { accessKeyId: 'AKIASESSBOB000000001', secretAccessKey: 'bob-secret-0123456789abcdefgh' };
const ALICE_ARN = `arn:aws:iam::${A}:user/alice`;
const BOB_ARN = `arn:aws:iam::${A}:user/bob`;
const doc = (statements: object[]) => ({ Version: '2012-10-17', Statement: statements });
const roleArn = (name: string) => `arn:aws:iam::${A}:role/${name}`;
const sessionArn = (role: string, session: string) => `arn:aws:sts::${A}:assumed-role/${role}/${session}`;
const allow = (action: string | string[]) => JSON.stringify(doc([{ Effect: 'Allow', Action: action, Resource: '*' }]));
const BOUND_TRUST = doc([{ Effect: 'Allow', Principal: { AWS: BOB_ARN }, Action: 'sts:AssumeRole' }]);
/** A session policy that allows every action but Encrypt, which it denies (when `condition` holds). */
const allowAllButEncrypt = (condition?: object) =>
  JSON.stringify(
    doc([
      { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 'kms:Encrypt',
        Resource: '*',
        ...(condition === undefined ? {} : { Condition: condition }),
      },
    ]),
  );

describe('STS sessions: session policies, bound trust policies, audit', { timeout: 180_000 }, () => {
  let server: TestServer;
  let files: string;
  let keyArn: string;

  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'trent-sess-'));
    const file = join(files, 'identities.json');
    const trustAlice = doc([{ Effect: 'Allow', Principal: { AWS: ALICE_ARN }, Action: 'sts:AssumeRole' }]);
    writeFileSync(
      file,
      JSON.stringify({
        accounts: {
          [A]: {
            users: { alice: { accessKeys: [ALICE] }, bob: { accessKeys: [BOB] } },
            roles: {
              app: {
                trustPolicy: trustAlice,
                policies: { kms: doc([{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }]) },
              },
              narrow: {
                trustPolicy: trustAlice,
                policies: { kms: doc([{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*' }]) },
              },
              bound: { trustPolicy: BOUND_TRUST },
              // Every session issued before 2999 revoked, as IAM's "revoke active sessions" does.
              revoked: {
                trustPolicy: trustAlice,
                policies: {
                  kms: doc([
                    { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
                    {
                      Effect: 'Deny',
                      Action: '*',
                      Resource: '*',
                      Condition: { DateLessThan: { 'aws:TokenIssueTime': '2999-01-01T00:00:00Z' } },
                    },
                  ]),
                },
              },
              // Assumed only through us-east-1.
              eastern: {
                trustPolicy: doc([
                  {
                    Effect: 'Allow',
                    Principal: { AWS: ALICE_ARN },
                    Action: 'sts:AssumeRole',
                    Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } },
                  },
                ]),
              },
            },
          },
        },
      }),
    );
    server = await startServer({ args: ['--identities', file] });
    const admin = server.client();
    keyArn = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    admin.destroy();
  });

  after(async () => {
    await server?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  async function assume(
    credentials: object,
    input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>,
    region = REGION,
  ) {
    const sts = new STSClient({
      endpoint: server.url,
      region,
      credentials: credentials as never,
      maxAttempts: 1,
    });
    try {
      return await sts.send(new AssumeRoleCommand({ RoleArn: roleArn('app'), RoleSessionName: 'session', ...input }));
    } finally {
      sts.destroy();
    }
  }

  async function kmsAs(input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>): Promise<KMSClient> {
    const c = (await assume(ALICE, input)).Credentials;
    return server.client({
      credentials: {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: c?.SessionToken as string,
      } as never,
    });
  }

  const encrypt = (kms: KMSClient, key = keyArn) =>
    kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') }));
  const denied = (who: string, action: string, key: string, why: string) =>
    `User: ${who} is not authorized to perform: ${action} on resource: ${key} ${why}`;
  /** Encrypt by the session `role`/`session` is refused with AWS's message, `why` ending it. */
  const encryptRefused = (kms: KMSClient, [role, session]: [string, string], why: string, key = keyArn) =>
    rejectsWith(encrypt(kms, key), 'AccessDeniedException', denied(sessionArn(role, session), 'kms:Encrypt', key, why));

  it('a session policy limits the role policies and grants nothing they do not', async () => {
    const limited = await kmsAs({ RoleSessionName: 'limited', Policy: allow('kms:DescribeKey') });
    await limited.send(new DescribeKeyCommand({ KeyId: keyArn }));
    await encryptRefused(limited, ['app', 'limited'], 'because no session policy allows the kms:Encrypt action');
    limited.destroy();

    const wide = await kmsAs({ RoleArn: roleArn('narrow'), RoleSessionName: 'wide', Policy: allow('kms:*') });
    await wide.send(new DescribeKeyCommand({ KeyId: keyArn }));
    await encryptRefused(wide, ['narrow', 'wide'], 'because no identity-based policy allows the kms:Encrypt action');
    wide.destroy();

    const denying = await kmsAs({
      RoleSessionName: 'denying',
      Policy: allowAllButEncrypt(),
    });
    await denying.send(new DescribeKeyCommand({ KeyId: keyArn }));
    await encryptRefused(denying, ['app', 'denying'], 'with an explicit deny in a session policy');
    denying.destroy();

    const plain = await kmsAs({ RoleSessionName: 'plain' });
    await encrypt(plain);
    plain.destroy();
  });

  it('a session policy that reads the clock gets it, though no other policy reads it', async () => {
    const since2000 = { DateGreaterThan: { 'aws:CurrentTime': '2000-01-01T00:00:00Z' } };
    const allowing = await kmsAs({
      RoleSessionName: 'since-2000',
      Policy: JSON.stringify(doc([{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*', Condition: since2000 }])),
    });
    await encrypt(allowing);
    allowing.destroy();

    const denying = await kmsAs({
      RoleSessionName: 'not-since-2000',
      Policy: allowAllButEncrypt(since2000),
    });
    await encryptRefused(denying, ['app', 'not-since-2000'], 'with an explicit deny in a session policy');
    denying.destroy();
  });

  it('aws:TokenIssueTime: a role policy that revokes the sessions issued before a moment', async () => {
    const revoked = await kmsAs({ RoleArn: roleArn('revoked'), RoleSessionName: 'old' });
    await encryptRefused(revoked, ['revoked', 'old'], 'with an explicit deny in an identity-based policy');
    revoked.destroy();
  });

  it('a trust policy on aws:RequestedRegion: the region AssumeRole was signed for', async () => {
    const input = { RoleArn: roleArn('eastern'), RoleSessionName: 'east' };
    const out = await assume(ALICE, input, 'us-east-1');
    assert.equal(out.AssumedRoleUser?.Arn, sessionArn('eastern', 'east'));
    await rejectsSts(
      assume(ALICE, input, 'eu-west-1'),
      'AccessDenied',
      `User: ${ALICE_ARN} is not authorized to perform: sts:AssumeRole on resource: ${roleArn('eastern')}`,
      403,
    );
  });

  it('a key policy naming the role is limited by the session policy; one naming the session is not', async () => {
    const admin = server.client();
    const create = async (principal: string) =>
      (
        await admin.send(
          new CreateKeyCommand({
            Policy: JSON.stringify(
              doc([
                { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
                { Effect: 'Allow', Principal: { AWS: principal }, Action: 'kms:Encrypt', Resource: '*' },
              ]),
            ),
          }),
        )
      ).KeyMetadata?.Arn as string;
    const namesRole = await create(roleArn('narrow'));
    const namesSession = await create(sessionArn('narrow', 'named'));
    admin.destroy();

    const unlimited = await kmsAs({ RoleArn: roleArn('narrow'), RoleSessionName: 'named' });
    await encrypt(unlimited, namesRole);
    unlimited.destroy();
    const limited = await kmsAs({
      RoleArn: roleArn('narrow'),
      RoleSessionName: 'named',
      Policy: allow('kms:DescribeKey'),
    });
    await encryptRefused(
      limited,
      ['narrow', 'named'],
      'because no session policy allows the kms:Encrypt action',
      namesRole,
    );
    await encrypt(limited, namesSession);
    limited.destroy();
  });

  // The SDK names STS's modelled errors (wire codes MalformedPolicyDocument, PackedPolicyTooLarge) …Exception.
  it('refuses session policies as STS does', async () => {
    const out = await assume(ALICE, { RoleSessionName: 'packed', Policy: allow('kms:DescribeKey') });
    assert.ok((out.PackedPolicySize ?? 0) > 0 && (out.PackedPolicySize ?? 101) <= 100, `${out.PackedPolicySize}`);
    await rejectsSts(
      assume(ALICE, { Policy: '{"Version": "2012-10-17", "Statement": [' }),
      'MalformedPolicyDocumentException',
      'The policy is not in the valid JSON format.',
    );
    await rejectsSts(
      assume(ALICE, {
        Policy: JSON.stringify(
          doc([{ Effect: 'Allow', Principal: { AWS: ALICE_ARN }, Action: 'kms:Encrypt', Resource: '*' }]),
        ),
      }),
      'MalformedPolicyDocumentException',
      /Principal/,
    );
    await rejectsSts(
      assume(ALICE, { Policy: allow(Array.from({ length: 200 }, (_, i) => `kms:Action${i}`)) }),
      'ValidationError',
      "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048",
    );
    // Under 2,048 characters, but little of it repeats: too large once packed.
    const resources = Array.from({ length: 22 }, () => `arn:aws:kms:*:*:key/${randomBytes(48).toString('base64url')}`);
    const incompressible = JSON.stringify(doc([{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: resources }]));
    assert.ok(incompressible.length <= 2048, `${incompressible.length}`);
    await rejectsSts(
      assume(ALICE, { Policy: incompressible }),
      'PackedPolicyTooLargeException',
      /^Packed policy consumes \d{3}% of allotted space, please use smaller policy\.$/,
    );
    await rejectsSts(
      assume(ALICE, { PolicyArns: [{ arn: `arn:aws:iam::${A}:policy/read-only` }] }),
      'MalformedPolicyDocumentException',
      `Policy arn:aws:iam::${A}:policy/read-only does not exist or is not attachable.`,
    );
  });

  it('a trust policy is bound to the user it names: deleted and created again, bob is not let in', async () => {
    await assume(BOB, { RoleArn: roleArn('bound'), RoleSessionName: 'first' });
    const run = (args: string[]) => {
      const r = trent([...args, '--data-dir', server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    run(['user', 'delete', 'bob']);
    run(['user', 'create', 'bob']);
    const path = join(files, 'bob-credentials');
    writeFileSync(path, run(['access-key', 'create', '--user', 'bob']));
    const newBob = readCredentials(path);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await rejectsSts(
      assume(newBob, { RoleArn: roleArn('bound'), RoleSessionName: 'second' }),
      'AccessDenied',
      `User: ${BOB_ARN} is not authorized to perform: sts:AssumeRole on resource: ${roleArn('bound')}`,
      403,
    );
    // Saving the trust policy again binds it to the bob that exists now.
    run(['role', 'create', 'bound', '--trust-document', JSON.stringify(BOUND_TRUST)]);
    const out = await assume(newBob, { RoleArn: roleArn('bound'), RoleSessionName: 'third' });
    assert.equal(out.AssumedRoleUser?.Arn, sessionArn('bound', 'third'));
    // A trust policy naming no user that exists is refused when saved, as IAM refuses it.
    const r = trent([
      'role',
      'create',
      'ghostly',
      '--trust-document',
      JSON.stringify(
        doc([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:user/ghost` }, Action: 'sts:AssumeRole' }]),
      ),
      '--data-dir',
      server.dataDir,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user\/ghost"/);
  });

  it('audits GetCallerIdentity and AssumeRole without secrets or session tokens', async () => {
    const policy = allow('kms:DescribeKey');
    const out = await assume(ALICE, { RoleSessionName: 'audited', DurationSeconds: 900, Policy: policy });
    const sts = new STSClient({ endpoint: server.url, region: REGION, credentials: ALICE, maxAttempts: 1 });
    await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    await assert.rejects(assume(ALICE, { RoleArn: roleArn('bound'), RoleSessionName: 'refused' }));

    const assumed = lookupAll(server.dataDir, ['--event-name', 'AssumeRole']);
    const record = assumed.find(
      (r) => (r.requestParameters as { roleSessionName?: string } | null)?.roleSessionName === 'audited',
    );
    assert.ok(record, 'no AssumeRole record');
    assert.equal(record.eventSource, 'sts.amazonaws.com');
    assert.equal(record.eventName, 'AssumeRole');
    assert.equal((record.userIdentity as { arn?: string }).arn, ALICE_ARN);
    assert.deepEqual(record.requestParameters, {
      roleArn: roleArn('app'),
      roleSessionName: 'audited',
      durationSeconds: 900,
      policy,
    });
    const response = record.responseElements as {
      credentials: Record<string, unknown>;
      assumedRoleUser: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(response.credentials).sort(), ['accessKeyId', 'expiration']);
    assert.equal(response.credentials.accessKeyId, out.Credentials?.AccessKeyId);
    assert.deepEqual(response.assumedRoleUser, {
      assumedRoleId: out.AssumedRoleUser?.AssumedRoleId,
      arn: sessionArn('app', 'audited'),
    });
    const text = JSON.stringify(assumed);
    assert.ok(!text.includes(out.Credentials?.SecretAccessKey as string), 'secret in the audit trail');
    assert.ok(!text.includes(out.Credentials?.SessionToken as string), 'session token in the audit trail');

    const refused = assumed.find(
      (r) => (r.requestParameters as { roleSessionName?: string } | null)?.roleSessionName === 'refused',
    );
    assert.equal(refused?.errorCode, 'AccessDenied');
    assert.equal(refused?.responseElements, null);

    const who = lookupAll(server.dataDir, ['--event-name', 'GetCallerIdentity']).find(
      (r) => (r.userIdentity as { arn?: string }).arn === ALICE_ARN,
    );
    assert.ok(who, 'no GetCallerIdentity record');
    assert.equal(who.eventSource, 'sts.amazonaws.com');
    assert.equal(who.readOnly, true);
    assert.equal(who.requestParameters, null);
  });
});

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
