import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startServer, type TestServer } from '../helpers/server.js';
import { rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * kms:ResourceAliases: the names (`alias/…`) of the aliases pointing at the key, multivalued, read
 * from the store only when a policy names the key (AWS's attribute-based access control by alias).
 */

const A = '111122223333';
const ALICE_ARN = `arn:aws:iam::${A}:user/alice`;
const ALICE = { accessKeyId: 'AKIARALIASALICE00001', secretAccessKey: 'alice-secret-0123456789abcdef' };

describe('kms:ResourceAliases', { timeout: 60_000 }, () => {
  let files: string;
  let server: TestServer;
  let admin: KMSClient;
  let keyArn: string;
  const alias = uniqueAlias('payments');

  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'trent-ralias-'));
    const file = join(files, 'identities.json');
    writeFileSync(file, JSON.stringify({ accounts: { [A]: { users: { alice: { accessKeys: [ALICE] } } } } }));
    server = await startServer({ args: ['--identities', file] });
    admin = server.client();
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
              Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias } },
            },
          ],
        }),
      }),
    );
    keyArn = key.KeyMetadata?.Arn as string;
  });

  after(async () => {
    admin?.destroy();
    await server?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  async function encrypt(): Promise<void> {
    const kms = server.client({ credentials: ALICE });
    try {
      await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
    } finally {
      kms.destroy();
    }
  }
  const DENIED = () =>
    `User: ${ALICE_ARN} is not authorized to perform: kms:Encrypt on resource: ${keyArn} because no identity-based policy allows the kms:Encrypt action`;

  it('allows only while the key has the alias the policy names', async () => {
    await rejectsWith(encrypt(), 'AccessDeniedException', DENIED());
    await admin.send(new CreateAliasCommand({ AliasName: uniqueAlias('other'), TargetKeyId: keyArn }));
    await rejectsWith(encrypt(), 'AccessDeniedException', DENIED());
    await admin.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn }));
    await encrypt();
    await admin.send(new DeleteAliasCommand({ AliasName: alias }));
    await rejectsWith(encrypt(), 'AccessDeniedException', DENIED());
  });
});
