import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { REGION, readCredentials, startServer, type TestServer } from '../helpers/server.js';
import { lookupAll, trent } from '../helpers/trent-cli.js';
import { rejectsWith } from './sdk-assert.js';

/**
 * kms:ViaService (docs/identities.md, "Calls through a service"): a service identity signs a
 * request with `X-Trent-On-Behalf-Of: <principal ARN>` among the signed headers; the request is
 * authorized as that principal with kms:ViaService `<service>.<region>.amazonaws.com`, and audited
 * as that principal with `invokedBy` the service. Anyone else sending the header is refused.
 */

const A = '111122223333';
const ALICE_ARN = `arn:aws:iam::${A}:user/alice`;
const ALICE = { accessKeyId: 'AKIAVIAALICE00000001', secretAccessKey: 'alice-secret-0123456789abcdef' };
const S3 = { accessKeyId: 'AKIAVIASERVICES30001', secretAccessKey: 's3-service-secret-0123456789' };
const HEADER = 'x-trent-on-behalf-of';
const NOT_A_SERVICE = 'Only a service identity may make a request on behalf of another principal.';
const UNKNOWN_PRINCIPAL = 'The principal named in X-Trent-On-Behalf-Of cannot be acted for.';

describe('calls through a service identity (kms:ViaService)', { timeout: 120_000 }, () => {
  let server: TestServer;
  let files: string;
  let keyArn: string;
  let ebs: { accessKeyId: string; secretAccessKey: string };

  /** A KMS client that adds the header before signing (build step), or after it (deserialize step). */
  function client(credentials: object, onBehalfOf?: string, signed = true): KMSClient {
    const kms = server.client({ credentials: credentials as never });
    if (onBehalfOf === undefined) return kms;
    const addHeader =
      (next: (args: { request: unknown }) => Promise<unknown>) => async (args: { request: unknown }) => {
        (args.request as { headers: Record<string, string> }).headers[HEADER] = onBehalfOf;
        return next(args);
      };
    if (signed) kms.middlewareStack.add(addHeader as never, { step: 'build', name: 'onBehalfOf' });
    // The deserialize step runs after signing: the header goes out unsigned.
    else kms.middlewareStack.add(addHeader as never, { step: 'deserialize', name: 'onBehalfOf' });
    return kms;
  }

  async function encrypt(kms: KMSClient): Promise<void> {
    try {
      await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('object data key') }));
    } finally {
      kms.destroy();
    }
  }

  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'trent-via-'));
    const file = join(files, 'identities.json');
    writeFileSync(
      file,
      JSON.stringify({
        accounts: { [A]: { users: { alice: { accessKeys: [ALICE] } }, services: { s3: { accessKeys: [S3] } } } },
      }),
    );
    server = await startServer({ args: ['--identities', file] });
    const r = trent(['service', 'create', 'ebs', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const path = join(files, 'ebs-credentials');
    writeFileSync(path, r.stdout);
    ebs = readCredentials(path);
    assert.match(r.stdout, /# principal ebs\.amazonaws\.com \(account 111122223333\)/);

    const admin = server.client();
    const key = await admin.send(
      new CreateKeyCommand({
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
            {
              Sid: 'alice through S3 only',
              Effect: 'Allow',
              Principal: { AWS: ALICE_ARN },
              Action: ['kms:Encrypt', 'kms:DescribeKey'],
              Resource: '*',
              Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
            },
            {
              Sid: 'grants for the resources a service protects',
              Effect: 'Allow',
              Principal: { AWS: ALICE_ARN },
              Action: 'kms:CreateGrant',
              Resource: '*',
              Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
            },
          ],
        }),
      }),
    );
    admin.destroy();
    keyArn = key.KeyMetadata?.Arn as string;
  });

  after(async () => {
    await server?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  const denied = (action: string, reason: string) =>
    `User: ${ALICE_ARN} is not authorized to perform: ${action} on resource: ${keyArn} ${reason}`;

  it('allows the call through S3 and denies it directly or through another service', async () => {
    await encrypt(client(S3, ALICE_ARN));
    await rejectsWith(
      encrypt(client(ALICE)),
      'AccessDeniedException',
      denied('kms:Encrypt', 'because no identity-based policy allows the kms:Encrypt action'),
    );
    await rejectsWith(
      encrypt(client(ebs, ALICE_ARN)),
      'AccessDeniedException',
      denied('kms:Encrypt', 'because no identity-based policy allows the kms:Encrypt action'),
    );
    // The service acting for nobody is a service principal, which this key policy does not name.
    await rejectsWith(
      encrypt(client(S3)),
      'AccessDeniedException',
      `User: s3.amazonaws.com is not authorized to perform: kms:Encrypt on resource: ${keyArn} because no resource-based policy allows the kms:Encrypt action`,
    );
  });

  it('sets kms:GrantIsForAWSResource true only for a grant made through a service', async () => {
    const grant = (kms: KMSClient) =>
      kms
        .send(new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: ALICE_ARN, Operations: ['Decrypt'] }))
        .finally(() => kms.destroy());
    const made = await grant(client(S3, ALICE_ARN));
    assert.match(made.GrantId ?? '', /^[0-9a-f]{64}$/);
    await rejectsWith(
      grant(client(ALICE)),
      'AccessDeniedException',
      denied('kms:CreateGrant', 'because no identity-based policy allows the kms:CreateGrant action'),
    );
  });

  it('audits the call as the principal, invoked by the service', async () => {
    const kms = client(S3, ALICE_ARN);
    await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    kms.destroy();
    const record = lookupAll(server.dataDir, ['--event-name', 'DescribeKey']).find(
      (r) => (r.userIdentity as { arn?: string }).arn === ALICE_ARN,
    );
    assert.ok(record, 'no DescribeKey record of alice');
    const identity = record.userIdentity as Record<string, unknown>;
    assert.equal(identity.type, 'IAMUser');
    assert.equal(identity.userName, 'alice');
    assert.equal(identity.invokedBy, 's3.amazonaws.com');
    assert.equal(identity.accessKeyId, S3.accessKeyId);
    assert.equal(record.errorCode, undefined);
  });

  it('refuses the header from a caller that is not a service identity, unsigned, or naming no principal', async () => {
    await rejectsWith(encrypt(client(ALICE, ALICE_ARN)), 'AccessDeniedException', NOT_A_SERVICE);
    await rejectsWith(encrypt(client(server.credentials, ALICE_ARN)), 'AccessDeniedException', NOT_A_SERVICE);
    await rejectsWith(encrypt(client(S3, ALICE_ARN, false)), 'AccessDeniedException', UNKNOWN_PRINCIPAL);
    for (const arn of [`arn:aws:iam::${A}:user/nobody`, 'arn:aws:iam::444455556666:root', 'alice', '']) {
      await rejectsWith(encrypt(client(S3, arn)), 'AccessDeniedException', UNKNOWN_PRINCIPAL);
    }
    const records = lookupAll(server.dataDir, ['--event-name', 'Encrypt']);
    const refused = records.find((r) =>
      (r.trentDetail as { detail?: string } | undefined)?.detail?.includes('user/nobody'),
    );
    assert.ok(refused, 'the refusal is audited with its reason');
    assert.equal(refused.errorCode, 'AccessDenied');
    assert.ok(!JSON.stringify(records).includes(S3.secretAccessKey));
  });

  it('`trent service list` and `delete` manage service identities', async () => {
    const listed = trent(['service', 'list', '--data-dir', server.dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^s3\\.amazonaws\\.com\\t${A}\\t${S3.accessKeyId}$`, 'm'));
    assert.match(listed.stdout, new RegExp(`^ebs\\.amazonaws\\.com\\t${A}\\t${ebs.accessKeyId}$`, 'm'));
    assert.equal(trent(['service', 'delete', 'ebs', '--data-dir', server.dataDir]).code, 0);
    assert.equal(trent(['service', 'delete', 'ebs', '--data-dir', server.dataDir]).code, 1);
    assert.equal(trent(['service', 'create', 'Not_A_Service', '--data-dir', server.dataDir]).code, 1);
  });
});
