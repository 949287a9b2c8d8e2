import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  type KMSClient,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { REGION, startServer, type TestServer } from '../helpers/server.js';
import { bytes, rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * Manual rotation with an alias (docs/manual-rotation.md), step by step, through
 * @aws-sdk/client-kms and through the AWS CLI: the alias moves to a new key, new data goes to the
 * new key, old ciphertexts still decrypt under the old key their blob names, ReEncrypt moves
 * them, and the old key can be retired.
 */
const INCORRECT_KEY = 'The key ID in the request does not identify a CMK that can perform this operation.';
const CONTEXT = { table: 'customers' };

describe('manual rotation with an alias', { timeout: 120_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;

  before(async () => {
    server = await startServer();
    kms = server.client();
  });
  after(async () => {
    await server?.destroy();
  });

  it('through @aws-sdk/client-kms', async () => {
    const alias = uniqueAlias('app-data');
    const record = randomBytes(40);
    // 1. The application encrypts under the alias.
    const old = (await kms.send(new CreateKeyCommand({ Description: 'app data, 2025' }))).KeyMetadata?.Arn as string;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: old }));
    const before = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: record, EncryptionContext: CONTEXT }));
    assert.equal(before.KeyId, old);

    // 2. A new key with the old one's policy.
    const fresh = (await kms.send(new CreateKeyCommand({ Description: 'app data, 2026' }))).KeyMetadata?.Arn as string;
    assert.notEqual(fresh, old);
    const { Policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: old }));
    await kms.send(new PutKeyPolicyCommand({ KeyId: fresh, Policy }));

    // 3. The alias moves; new data goes to the new key.
    await kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: fresh }));
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.Arn, fresh);
    const after = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: record, EncryptionContext: CONTEXT }));
    assert.equal(after.KeyId, fresh);

    // 4. The old ciphertext names its key: it decrypts without a KeyId, not with the moved alias.
    const opened = await kms.send(
      new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: CONTEXT }),
    );
    assert.equal(opened.KeyId, old);
    assert.deepEqual(bytes(opened.Plaintext), record);
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, KeyId: alias, EncryptionContext: CONTEXT })),
      'IncorrectKeyException',
      INCORRECT_KEY,
    );

    // 5. ReEncrypt moves it to the key behind the alias.
    const moved = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: before.CiphertextBlob,
        SourceEncryptionContext: CONTEXT,
        DestinationKeyId: alias,
        DestinationEncryptionContext: CONTEXT,
      }),
    );
    assert.equal(moved.SourceKeyId, old);
    assert.equal(moved.KeyId, fresh);
    const reopened = await kms.send(
      new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, KeyId: alias, EncryptionContext: CONTEXT }),
    );
    assert.equal(reopened.KeyId, fresh);
    assert.deepEqual(bytes(reopened.Plaintext), record);

    // 6. Retiring the old key strands only what was not moved.
    await kms.send(new DisableKeyCommand({ KeyId: old }));
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: CONTEXT })),
      'DisabledException',
      `${old} is disabled.`,
    );
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: old, PendingWindowInDays: 30 }));
    assert.equal(scheduled.KeyState, 'PendingDeletion');
    const still = await kms.send(
      new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, EncryptionContext: CONTEXT }),
    );
    assert.deepEqual(bytes(still.Plaintext), record);
  });

  describe('through the AWS CLI', () => {
    let files: string;
    let env: NodeJS.ProcessEnv;

    before(() => {
      files = mkdtempSync(join(tmpdir(), 'trent-manual-rotation-'));
      env = { ...process.env };
      // Only Trent's credentials file: nothing from the machine's own AWS setup.
      for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
      env.AWS_SHARED_CREDENTIALS_FILE = join(server.dataDir, 'credentials');
      env.AWS_CONFIG_FILE = join(files, 'no-config');
      env.AWS_DEFAULT_REGION = REGION;
    });
    after(() => {
      if (files !== undefined) rmSync(files, { recursive: true, force: true });
    });

    function aws(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      const argv = ['kms', ...args, '--endpoint-url', server.url, '--output', 'json'];
      return new Promise((resolve, reject) => {
        execFile('aws', argv, { env, timeout: 30_000 }, (err, stdout, stderr) => {
          if (err !== null && typeof err.code !== 'number') {
            reject(new Error(`aws ${argv.join(' ')} did not run: ${err.message}\n${stderr}`));
            return;
          }
          resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
        });
      });
    }

    async function ok(args: string[]): Promise<Record<string, unknown>> {
      const result = await aws(args);
      assert.equal(result.code, 0, `aws kms ${args.join(' ')} failed:\n${result.stderr}`);
      return result.stdout.trim() === '' ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
    }

    /** CLI v1 takes blob arguments literally: binary input goes through a fileb:// file. */
    function file(name: string, content: Buffer | string): string {
      const path = join(files, name);
      writeFileSync(path, content);
      return path;
    }

    const arnOf = (output: Record<string, unknown>) => (output.KeyMetadata as { Arn: string }).Arn;
    const blob = (output: Record<string, unknown>) => Buffer.from(String(output.CiphertextBlob), 'base64');
    const plaintext = (output: Record<string, unknown>) => Buffer.from(String(output.Plaintext), 'base64');

    it('create-key, update-alias, decrypt the old ciphertext, re-encrypt, retire the old key', async () => {
      const alias = uniqueAlias('app-data-cli');
      const record = randomBytes(40);
      const recordFile = `fileb://${file('record.bin', record)}`;
      const context = ['--encryption-context', 'table=customers'];

      const old = arnOf(await ok(['create-key', '--description', 'app data, 2025']));
      await ok(['create-alias', '--alias-name', alias, '--target-key-id', old]);
      const before = await ok(['encrypt', '--key-id', alias, '--plaintext', recordFile, ...context]);
      assert.equal(before.KeyId, old);
      const oldBlob = `fileb://${file('old.bin', blob(before))}`;

      const fresh = arnOf(await ok(['create-key', '--description', 'app data, 2026']));
      const policy = await ok(['get-key-policy', '--key-id', old, '--policy-name', 'default']);
      const policyFile = `file://${file('policy.json', String(policy.Policy))}`;
      await ok(['put-key-policy', '--key-id', fresh, '--policy-name', 'default', '--policy', policyFile]);

      await ok(['update-alias', '--alias-name', alias, '--target-key-id', fresh]);
      assert.equal(arnOf(await ok(['describe-key', '--key-id', alias])), fresh);

      const opened = await ok(['decrypt', '--ciphertext-blob', oldBlob, ...context]);
      assert.equal(opened.KeyId, old);
      assert.deepEqual(plaintext(opened), record);
      const wrongKey = await aws(['decrypt', '--ciphertext-blob', oldBlob, '--key-id', alias, ...context]);
      assert.notEqual(wrongKey.code, 0);
      assert.match(wrongKey.stderr, /IncorrectKeyException/);

      const moved = await ok([
        're-encrypt',
        '--ciphertext-blob',
        oldBlob,
        '--source-encryption-context',
        'table=customers',
        '--destination-key-id',
        alias,
        '--destination-encryption-context',
        'table=customers',
      ]);
      assert.equal(moved.SourceKeyId, old);
      assert.equal(moved.KeyId, fresh);
      const newBlob = `fileb://${file('new.bin', blob(moved))}`;
      const reopened = await ok(['decrypt', '--ciphertext-blob', newBlob, ...context]);
      assert.equal(reopened.KeyId, fresh);
      assert.deepEqual(plaintext(reopened), record);

      await ok(['disable-key', '--key-id', old]);
      const stranded = await aws(['decrypt', '--ciphertext-blob', oldBlob, ...context]);
      assert.notEqual(stranded.code, 0);
      assert.match(stranded.stderr, /DisabledException.*is disabled\./);
      const scheduled = await ok(['schedule-key-deletion', '--key-id', old, '--pending-window-in-days', '30']);
      assert.equal(scheduled.KeyState, 'PendingDeletion');
      assert.deepEqual(plaintext(await ok(['decrypt', '--ciphertext-blob', newBlob, ...context])), record);
    });
  });
});
