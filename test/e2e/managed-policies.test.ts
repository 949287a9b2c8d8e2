import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { REGION, startServer, type TestServer } from '../helpers/server.js';
import { trent } from '../helpers/trent-cli.js';
import { rejectsWith } from './sdk-assert.js';

/**
 * Customer managed policies end to end: made and attached with `trent policy create-policy |
 * attach-user-policy | attach-role-policy` (or `managedPolicies` / `attachedPolicies` in the
 * identities file), evaluated as identity policies of the users and role sessions they are
 * attached to, through @aws-sdk/client-kms, against a key whose default key policy delegates to IAM.
 */

const A = '111122223333';
const BOB = { accessKeyId: 'AKIAMANAGEDBOB000001', secretAccessKey: 'bob-secret-0123456789abcdef' };
const ALICE = { accessKeyId: 'AKIAMANAGEDALICE0001', secretAccessKey: 'alice-secret-0123456789abcdef' };
const FIONA = { accessKeyId: 'AKIAMANAGEDFIONA0001', secretAccessKey: 'fiona-secret-0123456789abcdef' };
const doc = (statements: object[]) => ({ Version: '2012-10-17', Statement: statements });
const ENCRYPT_ONLY = doc([{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }]);

function identities(): object {
  return {
    accounts: {
      [A]: {
        managedPolicies: { 'file-encrypt': ENCRYPT_ONLY },
        users: {
          // No inline policy: only what is attached to them.
          bob: { accessKeys: [BOB] },
          fiona: { attachedPolicies: ['file-encrypt'], accessKeys: [FIONA] },
          alice: { accessKeys: [ALICE] },
        },
        roles: {
          app: {
            trustPolicy: doc([
              { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:user/alice` }, Action: 'sts:AssumeRole' },
            ]),
            policies: { kms: doc([{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }]) },
          },
        },
      },
    },
  };
}

describe('customer managed policies', { timeout: 180_000 }, () => {
  let server: TestServer;
  let files: string;
  let admin: KMSClient;
  let keyArn: string;

  /** Runs `trent policy …` against the server's store and waits out the server's identity poll. */
  async function policy(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const r = trent(['policy', ...args, '--data-dir', server.dataDir]);
    await sleep(250);
    return r;
  }

  async function encryptAs(credentials: object): Promise<unknown> {
    const client = server.client({ credentials: credentials as never });
    try {
      return await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('managed') }));
    } finally {
      client.destroy();
    }
  }

  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'trent-managed-'));
    const file = join(files, 'identities.json');
    writeFileSync(file, JSON.stringify(identities()));
    server = await startServer({ args: ['--identities', file] });
    admin = server.client();
    keyArn = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
  });

  after(async () => {
    admin?.destroy();
    await server?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  it('lets a user in through an attached managed policy, and not once it is detached', async () => {
    const denied = `User: arn:aws:iam::${A}:user/bob is not authorized to perform: kms:Encrypt on resource: ${keyArn} because no identity-based policy allows the kms:Encrypt action`;
    await rejectsWith(encryptAs(BOB), 'AccessDeniedException', denied);

    const created = await policy('create-policy', '--name', 'encrypt', '--document', JSON.stringify(ENCRYPT_ONLY));
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`^created\\tarn:aws:iam::${A}:policy/encrypt\\tANPA[A-Z2-7]{17}\\n$`));
    await rejectsWith(encryptAs(BOB), 'AccessDeniedException', denied);

    const attached = await policy('attach-user-policy', '--user', 'bob', '--policy-name', 'encrypt');
    assert.equal(attached.code, 0, attached.stderr);
    const out = (await encryptAs(BOB)) as { KeyId?: string };
    assert.equal(out.KeyId, keyArn);

    const detached = await policy('detach-user-policy', '--user', 'bob', '--policy-name', 'encrypt');
    assert.equal(detached.code, 0, detached.stderr);
    await rejectsWith(encryptAs(BOB), 'AccessDeniedException', denied);

    const again = await policy('detach-user-policy', '--user', 'bob', '--policy-name', 'encrypt');
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /Policy encrypt is not attached to user bob\./);
  });

  async function assumeApp(input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]> = {}) {
    const sts = new STSClient({ endpoint: server.url, region: REGION, credentials: ALICE, maxAttempts: 1 });
    try {
      const assumed = await sts.send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${A}:role/app`, RoleSessionName: 's1', ...input }),
      );
      const c = assumed.Credentials;
      return {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: c?.SessionToken as string,
      };
    } finally {
      sts.destroy();
    }
  }

  async function describeAs(credentials: object): Promise<unknown> {
    const client = server.client({ credentials: credentials as never });
    try {
      return await client.send(new DescribeKeyCommand({ KeyId: keyArn }));
    } finally {
      client.destroy();
    }
  }

  it('denies role sessions what a managed policy attached to the role explicitly denies', async () => {
    const session = await assumeApp();
    await encryptAs(session);

    const deny = doc([{ Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' }]);
    const created = await policy('create-policy', '--name', 'no-encrypt', '--document', JSON.stringify(deny));
    assert.equal(created.code, 0, created.stderr);
    const attached = await policy('attach-role-policy', '--role', 'app', '--policy-name', 'no-encrypt');
    assert.equal(attached.code, 0, attached.stderr);
    await rejectsWith(
      encryptAs(session),
      'AccessDeniedException',
      `User: arn:aws:sts::${A}:assumed-role/app/s1 is not authorized to perform: kms:Encrypt on resource: ${keyArn} with an explicit deny in an identity-based policy`,
    );

    const refused = await policy('delete-policy', '--name', 'no-encrypt');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Cannot delete a policy attached to entities\./);
    const listed = await policy('list-policies', '--account', A);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^arn:aws:iam::${A}:policy/no-encrypt\\tANPA\\w+\\trole/app$`, 'm'));

    assert.equal((await policy('detach-role-policy', '--role', 'app', '--policy-name', 'no-encrypt')).code, 0);
    await encryptAs(session);
    const deleted = await policy('delete-policy', '--name', 'no-encrypt');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.doesNotMatch((await policy('list-policies')).stdout, /policy\/no-encrypt/);
    const missing = await policy('attach-role-policy', '--role', 'app', '--policy-name', 'no-encrypt');
    assert.notEqual(missing.code, 0);
    assert.match(
      missing.stderr,
      new RegExp(`Policy arn:aws:iam::${A}:policy/no-encrypt does not exist or is not attachable\\.`),
    );
  });

  it('limits a role session to the managed policies AssumeRole names in PolicyArns, with Policy', async () => {
    const fileEncrypt = `arn:aws:iam::${A}:policy/file-encrypt`;
    const limited = await assumeApp({ PolicyArns: [{ arn: fileEncrypt }] });
    await encryptAs(limited);
    await rejectsWith(
      describeAs(limited),
      'AccessDeniedException',
      `User: arn:aws:sts::${A}:assumed-role/app/s1 is not authorized to perform: kms:DescribeKey on resource: ${keyArn} because no session policy allows the kms:DescribeKey action`,
    );
    // Session policies together: what any of them allows (and the role allows).
    const both = await assumeApp({
      PolicyArns: [{ arn: fileEncrypt }],
      Policy: JSON.stringify(doc([{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*' }])),
    });
    await encryptAs(both);
    await describeAs(both);
    // A deny in a managed session policy wins over the inline one's allow.
    const deny = doc([{ Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' }]);
    assert.equal((await policy('create-policy', '--name', 'session-deny', '--document', JSON.stringify(deny))).code, 0);
    const denied = await assumeApp({
      PolicyArns: [{ arn: `arn:aws:iam::${A}:policy/session-deny` }],
      Policy: JSON.stringify(doc([{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }])),
    });
    await describeAs(denied);
    await rejectsWith(
      encryptAs(denied),
      'AccessDeniedException',
      `User: arn:aws:sts::${A}:assumed-role/app/s1 is not authorized to perform: kms:Encrypt on resource: ${keyArn} with an explicit deny in a session policy`,
    );
    // A policy of another account is not attachable here.
    const sts = new STSClient({ endpoint: server.url, region: REGION, credentials: ALICE, maxAttempts: 1 });
    await assert.rejects(
      sts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${A}:role/app`,
          RoleSessionName: 's2',
          PolicyArns: [{ arn: 'arn:aws:iam::444455556666:policy/file-encrypt' }],
        }),
      ),
      (err: Error) => {
        assert.equal(err.name, 'MalformedPolicyDocumentException');
        assert.equal(
          err.message,
          'Policy arn:aws:iam::444455556666:policy/file-encrypt does not exist or is not attachable.',
        );
        return true;
      },
    );
    sts.destroy();
  });

  it('creates and attaches managed policies named in the identities file', async () => {
    const out = (await encryptAs(FIONA)) as { KeyId?: string };
    assert.equal(out.KeyId, keyArn);
    const listed = await policy('list-policies');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^arn:aws:iam::${A}:policy/file-encrypt\\tANPA\\w+\\tuser/fiona$`, 'm'));
  });

  it('refuses a document the policy parser refuses, and a name taken', async () => {
    const bad = await policy('create-policy', '--name', 'bad', '--document', '{"Statement": 5}');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Policy bad: /);
    const taken = await policy('create-policy', '--name', 'file-encrypt', '--document', JSON.stringify(ENCRYPT_ONLY));
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /A policy called file-encrypt already exists\. Duplicate names are not allowed\./);
  });
});
