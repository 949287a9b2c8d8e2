import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startServer, type TestServer } from '../helpers/server.js';
import { lookupAll } from '../helpers/trent-cli.js';
import { rejectsWith } from './sdk-assert.js';

/**
 * VPC endpoints behind a trusted proxy (docs/identities.md, "VPC endpoints"): a peer inside
 * --trusted-proxies names the endpoint in X-Trent-Source-Vpce (and the VPC in X-Trent-Source-Vpc),
 * which sets aws:SourceVpce / aws:SourceVpc; the endpoint's policy from the identities file must
 * then allow, and its denies win. The same headers from any other peer are ignored.
 */

const A = '111122223333';
const ALICE_ARN = `arn:aws:iam::${A}:user/alice`;
const ALICE = { accessKeyId: 'AKIAVPCEALICE0000001', secretAccessKey: 'alice-secret-0123456789abcdef' };
const ANYONE = { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' };

function identities(openPolicy: object): string {
  return JSON.stringify({
    accounts: { [A]: { users: { alice: { accessKeys: [ALICE] } } } },
    vpcEndpoints: {
      'vpce-0abc': { vpc: 'vpc-1234', policy: { Version: '2012-10-17', Statement: [openPolicy] } },
      'vpce-0dec': {
        vpc: 'vpc-1234',
        policy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*' }],
        },
      },
      'vpce-0deny': {
        policy: {
          Version: '2012-10-17',
          Statement: [ANYONE, { Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*' }],
        },
      },
    },
  });
}

describe('VPC endpoint policies behind a trusted proxy', { timeout: 120_000 }, () => {
  let files: string;
  let file: string;
  let trusting: TestServer;
  let untrusting: TestServer;
  let keyArn: string;

  /** A client whose requests carry the proxy's headers, added after signing as a proxy would. */
  function client(server: TestServer, headers: Record<string, string> = {}): KMSClient {
    const kms = server.client({ credentials: ALICE });
    kms.middlewareStack.add(
      ((next: (args: { request: unknown }) => Promise<unknown>) => async (args: { request: unknown }) => {
        Object.assign((args.request as { headers: Record<string, string> }).headers, headers);
        return next(args);
      }) as never,
      { step: 'deserialize', name: 'frontProxy' },
    );
    return kms;
  }

  async function send<T>(kms: KMSClient, command: unknown): Promise<T> {
    try {
      return (await kms.send(command as never)) as T;
    } finally {
      kms.destroy();
    }
  }
  const encrypt = (kms: KMSClient) =>
    send<{ CiphertextBlob?: Uint8Array }>(kms, new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
  const describeKey = (kms: KMSClient) => send(kms, new DescribeKeyCommand({ KeyId: keyArn }));
  const denied = (action: string, reason: string) =>
    `User: ${ALICE_ARN} is not authorized to perform: ${action} on resource: ${keyArn} ${reason}`;

  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'trent-vpce-'));
    file = join(files, 'identities.json');
    writeFileSync(file, identities(ANYONE));
    trusting = await startServer({ args: ['--trusted-proxies', '10.0.0.0/8,127.0.0.1/32', '--identities', file] });
    // Same data, a proxy range that leaves out 127.0.0.1: the headers of the tests' client are a client's own.
    untrusting = await startServer({
      args: ['--trusted-proxies', '10.0.0.0/8', '--identities', file],
    });
    const admin = trusting.client();
    const key = await admin.send(
      new CreateKeyCommand({
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
            {
              Sid: 'alice through the endpoints only',
              Effect: 'Allow',
              Principal: { AWS: ALICE_ARN },
              Action: ['kms:Encrypt', 'kms:Decrypt'],
              Resource: '*',
              Condition: { StringEquals: { 'aws:SourceVpce': ['vpce-0abc', 'vpce-0dec', 'vpce-0deny'] } },
            },
            {
              Sid: 'alice from the VPC',
              Effect: 'Allow',
              Principal: { AWS: ALICE_ARN },
              Action: 'kms:DescribeKey',
              Resource: '*',
              Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1234' } },
            },
          ],
        }),
      }),
    );
    admin.destroy();
    keyArn = key.KeyMetadata?.Arn as string;
  });

  after(async () => {
    await trusting?.destroy();
    await untrusting?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  it('a key policy conditioned on aws:SourceVpce allows through the endpoint and denies without it', async () => {
    const sealed = await encrypt(client(trusting, { 'x-trent-source-vpce': 'vpce-0abc' }));
    assert.ok(sealed.CiphertextBlob);
    await rejectsWith(
      encrypt(client(trusting)),
      'AccessDeniedException',
      denied('kms:Encrypt', 'because no identity-based policy allows the kms:Encrypt action'),
    );
    // An endpoint the key policy does not name.
    await rejectsWith(
      encrypt(client(trusting, { 'x-trent-source-vpce': 'vpce-0999' })),
      'AccessDeniedException',
      denied('kms:Encrypt', 'because no identity-based policy allows the kms:Encrypt action'),
    );
  });

  it('sets aws:SourceVpc from the declared endpoint, or from the proxy for an undeclared one', async () => {
    await describeKey(client(trusting, { 'x-trent-source-vpce': 'vpce-0abc' }));
    // Undeclared endpoint: the keys are set, and no endpoint policy applies (AWS's default allows all).
    await describeKey(client(trusting, { 'x-trent-source-vpce': 'vpce-0999', 'x-trent-source-vpc': 'vpc-1234' }));
    await rejectsWith(
      describeKey(client(trusting, { 'x-trent-source-vpce': 'vpce-0999', 'x-trent-source-vpc': 'vpc-9999' })),
      'AccessDeniedException',
      denied('kms:DescribeKey', 'because no identity-based policy allows the kms:DescribeKey action'),
    );
  });

  it("an endpoint policy must allow the action, and its denies win, in AWS's words", async () => {
    const sealed = await encrypt(client(trusting, { 'x-trent-source-vpce': 'vpce-0abc' }));
    const opened = await send<{ Plaintext?: Uint8Array }>(
      client(trusting, { 'x-trent-source-vpce': 'vpce-0dec' }),
      new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }),
    );
    assert.equal(Buffer.from(opened.Plaintext ?? []).toString(), 'x');
    await rejectsWith(
      encrypt(client(trusting, { 'x-trent-source-vpce': 'vpce-0dec' })),
      'AccessDeniedException',
      denied('kms:Encrypt', 'because no VPC endpoint policy allows the kms:Encrypt action'),
    );
    await rejectsWith(
      encrypt(client(trusting, { 'x-trent-source-vpce': 'vpce-0deny' })),
      'AccessDeniedException',
      denied('kms:Encrypt', 'with an explicit deny in a VPC endpoint policy'),
    );
  });

  it('audits vpcEndpointId and, from a trusted proxy, the X-Forwarded-For address', async () => {
    await encrypt(client(trusting, { 'x-trent-source-vpce': 'vpce-0abc', 'x-forwarded-for': '203.0.113.7, 10.1.2.3' }));
    const records = lookupAll(trusting.dataDir, ['--event-name', 'Encrypt']);
    const through = records.find((r) => r.sourceIPAddress === '203.0.113.7');
    assert.ok(through, 'no Encrypt record from 203.0.113.7');
    assert.equal(through.vpcEndpointId, 'vpce-0abc');
    assert.equal(through.errorCode, undefined);
    const direct = records.find((r) => r.errorCode === 'AccessDenied' && r.vpcEndpointId === undefined);
    assert.ok(direct, 'a call without the header has no vpcEndpointId');
  });

  it('ignores the headers from a peer that is not a trusted proxy', async () => {
    const admin = untrusting.client();
    const key = await admin.send(
      new CreateKeyCommand({
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
            {
              Effect: 'Allow',
              Principal: { AWS: ALICE_ARN },
              Action: 'kms:Encrypt',
              Resource: '*',
              Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-0abc' } },
            },
          ],
        }),
      }),
    );
    admin.destroy();
    const arn = key.KeyMetadata?.Arn as string;
    await rejectsWith(
      send(
        client(untrusting, { 'x-trent-source-vpce': 'vpce-0abc', 'x-forwarded-for': '203.0.113.7' }),
        new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }),
      ),
      'AccessDeniedException',
      `User: ${ALICE_ARN} is not authorized to perform: kms:Encrypt on resource: ${arn} because no identity-based policy allows the kms:Encrypt action`,
    );
    const records = lookupAll(untrusting.dataDir, ['--event-name', 'Encrypt']);
    assert.ok(records.length > 0);
    for (const r of records) {
      assert.equal(r.vpcEndpointId, undefined);
      assert.equal(r.sourceIPAddress, '127.0.0.1');
    }
  });

  it('refreshes the endpoint policies when the identities file changes', async () => {
    writeFileSync(file, identities({ Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*' }));
    const through = () => encrypt(client(trusting, { 'x-trent-source-vpce': 'vpce-0abc' }));
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await through();
      } catch (err) {
        assert.equal((err as Error).name, 'AccessDeniedException');
        break;
      }
      assert.ok(Date.now() < deadline, 'the new endpoint policy was not applied');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await rejectsWith(
      through(),
      'AccessDeniedException',
      denied('kms:Encrypt', 'with an explicit deny in a VPC endpoint policy'),
    );
  });
});
