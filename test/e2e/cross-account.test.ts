import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { PROJECT_ROOT, REGION, startServer, type TestServer } from '../helpers/server.js';
import { bytes, rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * Two accounts on one Trent: an access key made with `trent access-key create --account` for a
 * second account, and what it can do with the first account's keys — nothing, with AWS's
 * AccessDeniedException wording — and what it sees of them — nothing either.
 */

const FIRST = '111122223333';
const SECOND = '444455556666';

interface Profile {
  accessKeyId: string;
  secretAccessKey: string;
  principal: string;
}

describe('a second account', { timeout: 120_000 }, () => {
  let server: TestServer;
  let first: KMSClient;
  let second: KMSClient;
  let alice: KMSClient;
  let secondProfile: Profile;
  let aliceProfile: Profile;
  let key: KeyMetadata;
  let alias: string;
  let blob: Buffer;

  before(async () => {
    server = await startServer();
    first = server.client();
    // Made by the admin command while the server runs, as an operator would.
    secondProfile = await createAccessKey(server.dataDir, ['--account', SECOND]);
    aliceProfile = await createAccessKey(server.dataDir, ['--account', SECOND, '--user', 'alice']);
    second = server.client({ credentials: secondProfile });
    alice = server.client({ credentials: aliceProfile });

    const created = await first.send(
      new CreateKeyCommand({ Description: 'first account', Tags: [{ TagKey: 'owner', TagValue: 'first' }] }),
    );
    assert.ok(created.KeyMetadata !== undefined);
    key = created.KeyMetadata;
    alias = uniqueAlias('first');
    await first.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
    const out = await first.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('first only') }));
    blob = bytes(out.CiphertextBlob);
  });

  after(async () => {
    first?.destroy();
    second?.destroy();
    alice?.destroy();
    await server?.destroy();
  });

  const denied = (principal: string, action: string, resource: string) =>
    `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} ` +
    `because no resource-based policy allows the ${action} action`;

  it('gets an access key of its own from `trent access-key create --account`', () => {
    assert.match(secondProfile.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.notEqual(secondProfile.accessKeyId, server.credentials.accessKeyId);
    assert.equal(secondProfile.principal, `arn:aws:iam::${SECOND}:root`);
    assert.equal(aliceProfile.principal, `arn:aws:iam::${SECOND}:user/alice`);
  });

  it('lists no keys and no aliases of the first account', async () => {
    const keys = await second.send(new ListKeysCommand({}));
    assert.deepEqual(keys.Keys, []);
    assert.equal(keys.Truncated, false);
    const aliases = await second.send(new ListAliasesCommand({}));
    assert.deepEqual(aliases.Aliases, []);
  });

  it('is denied every use of the first account’s key by key ARN, with AWS’s message', async () => {
    const arn = key.Arn ?? '';
    const root = `arn:aws:iam::${SECOND}:root`;
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['kms:DescribeKey', () => second.send(new DescribeKeyCommand({ KeyId: arn }))],
      ['kms:Encrypt', () => second.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }))],
      ['kms:Decrypt', () => second.send(new DecryptCommand({ CiphertextBlob: blob }))],
      ['kms:Decrypt', () => second.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: arn }))],
      ['kms:GenerateDataKey', () => second.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' }))],
      ['kms:DisableKey', () => second.send(new DisableKeyCommand({ KeyId: arn }))],
      ['kms:ScheduleKeyDeletion', () => second.send(new ScheduleKeyDeletionCommand({ KeyId: arn }))],
      ['kms:ListResourceTags', () => second.send(new ListResourceTagsCommand({ KeyId: arn }))],
      [
        'kms:TagResource',
        () => second.send(new TagResourceCommand({ KeyId: arn, Tags: [{ TagKey: 'owner', TagValue: 'me' }] })),
      ],
    ];
    for (const [action, call] of calls) {
      await rejectsWith(call(), 'AccessDeniedException', denied(root, action, arn)).catch((err: Error) => {
        throw new Error(`${action}: ${err.message}`);
      });
    }

    // The first account's key is as it was.
    const { KeyMetadata } = await first.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    assert.equal(KeyMetadata?.KeyState, 'Enabled');
    const { Tags } = await first.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    assert.deepEqual(Tags, [{ TagKey: 'owner', TagValue: 'first' }]);
    const dec = await first.send(new DecryptCommand({ CiphertextBlob: blob }));
    assert.deepEqual(bytes(dec.Plaintext), Buffer.from('first only'));
  });

  it('is denied through the alias ARN too, and ReEncrypt in either direction', async () => {
    const arn = key.Arn ?? '';
    const root = `arn:aws:iam::${SECOND}:root`;
    await rejectsWith(
      second.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:${REGION}:${FIRST}:${alias}` })),
      'AccessDeniedException',
      denied(root, 'kms:DescribeKey', arn),
    );

    const own = await second.send(new CreateKeyCommand({}));
    const ownId = own.KeyMetadata?.KeyId;
    await rejectsWith(
      second.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: ownId })),
      'AccessDeniedException',
      denied(root, 'kms:ReEncryptFrom', arn),
    );
    const mine = await second.send(new EncryptCommand({ KeyId: ownId, Plaintext: Buffer.from('second') }));
    await rejectsWith(
      second.send(new ReEncryptCommand({ CiphertextBlob: mine.CiphertextBlob, DestinationKeyId: arn })),
      'AccessDeniedException',
      denied(root, 'kms:ReEncryptTo', arn),
    );
  });

  it('names its IAM user in the denial', async () => {
    const arn = key.Arn ?? '';
    await rejectsWith(
      alice.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
      denied(`arn:aws:iam::${SECOND}:user/alice`, 'kms:Encrypt', arn),
    );
  });

  it('resolves a bare key id or alias name in its own account, where they do not exist', async () => {
    await rejectsWith(
      second.send(new DescribeKeyCommand({ KeyId: key.KeyId })),
      'NotFoundException',
      `Key 'arn:aws:kms:${REGION}:${SECOND}:key/${key.KeyId}' does not exist`,
    );
    await rejectsWith(
      second.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from('x') })),
      'NotFoundException',
      `Alias arn:aws:kms:${REGION}:${SECOND}:${alias} is not found.`,
    );

    // The same alias name is free in the second account, for its own key.
    const own = await second.send(new CreateKeyCommand({}));
    await second.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: own.KeyMetadata?.KeyId }));
    const mine = await second.send(new DescribeKeyCommand({ KeyId: alias }));
    assert.equal(mine.KeyMetadata?.AWSAccountId, SECOND);
    assert.equal(mine.KeyMetadata?.Arn, `arn:aws:kms:${REGION}:${SECOND}:key/${own.KeyMetadata?.KeyId}`);
    const theirs = await first.send(new DescribeKeyCommand({ KeyId: alias }));
    assert.equal(theirs.KeyMetadata?.KeyId, key.KeyId);
  });

  it('keeps its own keys out of the first account’s sight', async () => {
    const own = await second.send(new CreateKeyCommand({ Description: 'second account' }));
    const ownArn = own.KeyMetadata?.Arn ?? '';
    assert.equal(own.KeyMetadata?.AWSAccountId, SECOND);

    const secondKeys = (await second.send(new ListKeysCommand({}))).Keys ?? [];
    assert.ok(secondKeys.some((k) => k.KeyArn === ownArn));
    assert.ok(secondKeys.every((k) => k.KeyArn?.includes(`:${SECOND}:`)));
    const firstKeys = (await first.send(new ListKeysCommand({}))).Keys ?? [];
    assert.ok(!firstKeys.some((k) => k.KeyArn === ownArn));
    assert.deepEqual(
      firstKeys.map((k) => k.KeyId),
      [key.KeyId],
    );

    await rejectsWith(
      first.send(new DescribeKeyCommand({ KeyId: ownArn })),
      'AccessDeniedException',
      denied(`arn:aws:iam::${FIRST}:root`, 'kms:DescribeKey', ownArn),
    );
  });
});

/** Runs `trent access-key create` on the data directory and parses the profile it prints. */
function createAccessKey(dataDir: string, args: string[]): Promise<Profile> {
  const argv = [join(PROJECT_ROOT, 'bin/trent'), 'access-key', 'create', '--data-dir', dataDir, ...args];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`trent access-key create failed: ${err.message}\n${stderr}`));
        return;
      }
      const accessKeyId = /^aws_access_key_id = (\S+)$/m.exec(stdout)?.[1];
      const secretAccessKey = /^aws_secret_access_key = (\S+)$/m.exec(stdout)?.[1];
      const principal = /^# principal (\S+)$/m.exec(stdout)?.[1];
      if (accessKeyId === undefined || secretAccessKey === undefined || principal === undefined) {
        reject(new Error(`no profile in the output of trent access-key create:\n${stdout}`));
        return;
      }
      resolve({ accessKeyId, secretAccessKey, principal });
    });
  });
}
