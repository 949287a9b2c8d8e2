import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REGION, startServer, type TestServer } from '../helpers/server.js';

/**
 * A walk-through with the real AWS CLI (v1), as a user would run it against Trent: the shared
 * credentials file Trent writes on first start, `--endpoint-url`, JSON output. CLI v1 takes blob
 * arguments literally, so every blob goes through a `fileb://` file.
 */

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const CLI_TIMEOUT_MS = 30_000;

describe('AWS CLI walk-through', { timeout: 120_000 }, () => {
  let server: TestServer;
  let files: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await startServer();
    files = mkdtempSync(join(tmpdir(), 'trent-cli-'));
    env = { ...process.env };
    // Nothing from the machine's own AWS setup may leak in: only Trent's credentials file.
    for (const name of Object.keys(env)) {
      if (name.startsWith('AWS_')) delete env[name];
    }
    env.AWS_SHARED_CREDENTIALS_FILE = join(server.dataDir, 'credentials');
    env.AWS_CONFIG_FILE = join(files, 'no-config');
    env.AWS_DEFAULT_REGION = REGION;
  });

  after(async () => {
    await server?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  function aws(args: string[]): Promise<CliResult> {
    const argv = ['kms', ...args, '--endpoint-url', server.url, '--output', 'json'];
    return new Promise((resolve, reject) => {
      execFile('aws', argv, { env, timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(new Error(`aws ${argv.join(' ')} did not run: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
      });
    });
  }

  /** Runs a command that must succeed and returns its JSON output ({} for no output). */
  async function ok(args: string[]): Promise<Record<string, unknown>> {
    const result = await aws(args);
    assert.equal(result.code, 0, `aws kms ${args.join(' ')} failed:\n${result.stderr}`);
    return result.stdout.trim() === '' ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
  }

  function blobFile(name: string, bytes: Buffer): string {
    const path = join(files, name);
    writeFileSync(path, bytes);
    return `fileb://${path}`;
  }

  function metadata(output: Record<string, unknown>): Record<string, unknown> {
    const meta = output.KeyMetadata;
    assert.ok(meta !== null && typeof meta === 'object', `no KeyMetadata in ${JSON.stringify(output)}`);
    return meta as Record<string, unknown>;
  }

  // Every byte value, so a blob that is mangled anywhere on the way shows.
  const plaintext = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(64)]);
  let keyId = '';
  let keyArn = '';
  let ciphertext: Buffer;
  const aliasName = 'alias/cli-walkthrough';

  it('create-key with a description and tags', async () => {
    const meta = metadata(
      await ok([
        'create-key',
        '--description',
        'made by the AWS CLI',
        '--tags',
        'TagKey=team,TagValue=platform',
        'TagKey=env,TagValue=test',
      ]),
    );
    assert.equal(meta.Description, 'made by the AWS CLI');
    assert.equal(meta.KeyState, 'Enabled');
    assert.equal(meta.Enabled, true);
    assert.equal(meta.KeySpec, 'SYMMETRIC_DEFAULT');
    assert.equal(meta.KeyUsage, 'ENCRYPT_DECRYPT');
    assert.match(String(meta.KeyId), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    keyId = String(meta.KeyId);
    keyArn = String(meta.Arn);
    assert.equal(keyArn, `arn:aws:kms:${REGION}:${meta.AWSAccountId}:key/${keyId}`);

    const tags = await ok(['list-resource-tags', '--key-id', keyId]);
    const sorted = [...(tags.Tags as { TagKey: string; TagValue: string }[])].sort((a, b) =>
      a.TagKey.localeCompare(b.TagKey),
    );
    assert.deepEqual(sorted, [
      { TagKey: 'env', TagValue: 'test' },
      { TagKey: 'team', TagValue: 'platform' },
    ]);
  });

  it('encrypt with an encryption context, decrypt without a key id', async () => {
    const enc = await ok([
      'encrypt',
      '--key-id',
      keyId,
      '--plaintext',
      blobFile('plaintext.bin', plaintext),
      '--encryption-context',
      'purpose=walkthrough,tool=aws-cli',
    ]);
    assert.equal(enc.KeyId, keyArn);
    assert.equal(enc.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    ciphertext = Buffer.from(String(enc.CiphertextBlob), 'base64');
    assert.ok(ciphertext.length > plaintext.length);

    const dec = await ok([
      'decrypt',
      '--ciphertext-blob',
      blobFile('ciphertext.bin', ciphertext),
      '--encryption-context',
      'purpose=walkthrough,tool=aws-cli',
    ]);
    assert.equal(dec.KeyId, keyArn);
    assert.deepEqual(Buffer.from(String(dec.Plaintext), 'base64'), plaintext);
  });

  it('decrypt with another encryption context fails with InvalidCiphertextException', async () => {
    const result = await aws([
      'decrypt',
      '--ciphertext-blob',
      blobFile('ciphertext.bin', ciphertext),
      '--encryption-context',
      'purpose=something-else',
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /\(InvalidCiphertextException\) when calling the Decrypt operation/);
    assert.equal(result.stdout, '');
  });

  it('create-alias, encrypt through the alias, list-aliases and list-keys show it', async () => {
    assert.deepEqual(await ok(['create-alias', '--alias-name', aliasName, '--target-key-id', keyId]), {});

    const enc = await ok(['encrypt', '--key-id', aliasName, '--plaintext', blobFile('p2.bin', plaintext)]);
    assert.equal(enc.KeyId, keyArn);
    const dec = await ok([
      'decrypt',
      '--ciphertext-blob',
      blobFile('c2.bin', Buffer.from(String(enc.CiphertextBlob), 'base64')),
    ]);
    assert.deepEqual(Buffer.from(String(dec.Plaintext), 'base64'), plaintext);

    const aliases = (await ok(['list-aliases'])).Aliases as Record<string, unknown>[];
    const alias = aliases.find((a) => a.AliasName === aliasName);
    assert.ok(alias !== undefined, `${aliasName} not in ${JSON.stringify(aliases)}`);
    assert.equal(alias.TargetKeyId, keyId);
    assert.equal(alias.AliasArn, keyArn.replace(/:key\/.*$/, `:${aliasName}`));

    const keys = (await ok(['list-keys'])).Keys as Record<string, unknown>[];
    assert.deepEqual(keys, [{ KeyId: keyId, KeyArn: keyArn }]);
  });

  it('generate-data-key returns a key that decrypts back to itself', async () => {
    const gen = await ok(['generate-data-key', '--key-id', aliasName, '--key-spec', 'AES_256']);
    assert.equal(gen.KeyId, keyArn);
    const dataKey = Buffer.from(String(gen.Plaintext), 'base64');
    assert.equal(dataKey.length, 32);
    const dec = await ok([
      'decrypt',
      '--ciphertext-blob',
      blobFile('datakey.bin', Buffer.from(String(gen.CiphertextBlob), 'base64')),
    ]);
    assert.deepEqual(Buffer.from(String(dec.Plaintext), 'base64'), dataKey);
  });

  it('a disabled key refuses to encrypt (DisabledException), and works once enabled', async () => {
    assert.deepEqual(await ok(['disable-key', '--key-id', keyId]), {});

    const refused = await aws(['encrypt', '--key-id', keyId, '--plaintext', blobFile('p3.bin', plaintext)]);
    assert.notEqual(refused.code, 0);
    assert.equal(refused.stdout, '');
    const prefix = 'An error occurred (DisabledException) when calling the Encrypt operation: ';
    assert.equal(refused.stderr.trim(), `${prefix}${keyArn} is disabled.`);

    assert.deepEqual(await ok(['enable-key', '--key-id', keyId]), {});
    assert.equal(metadata(await ok(['describe-key', '--key-id', keyId])).KeyState, 'Enabled');
  });

  it('schedule-key-deletion, then cancel-key-deletion leaves the key Disabled', async () => {
    const scheduledAt = Date.now() / 1000;
    const scheduled = await ok(['schedule-key-deletion', '--key-id', keyId, '--pending-window-in-days', '7']);
    assert.equal(scheduled.KeyId, keyArn);
    assert.equal(scheduled.KeyState, 'PendingDeletion');
    assert.equal(scheduled.PendingWindowInDays, 7);

    const meta = metadata(await ok(['describe-key', '--key-id', keyId]));
    assert.equal(meta.KeyState, 'PendingDeletion');
    assert.equal(meta.Enabled, false);
    assert.equal(typeof meta.DeletionDate, 'number');
    const sevenDays = 7 * 86_400;
    const deletionDate = meta.DeletionDate as number;
    assert.equal(deletionDate, scheduled.DeletionDate);
    assert.ok(
      deletionDate >= scheduledAt + sevenDays - 5 && deletionDate <= Date.now() / 1000 + sevenDays + 5,
      `DeletionDate ${deletionDate} is not 7 days from now`,
    );

    const cancelled = await ok(['cancel-key-deletion', '--key-id', keyId]);
    assert.equal(cancelled.KeyId, keyArn);
    const cancelledMeta = metadata(await ok(['describe-key', '--key-id', keyId]));
    assert.equal(cancelledMeta.KeyState, 'Disabled');
    assert.equal(cancelledMeta.Enabled, false);
    assert.equal(cancelledMeta.DeletionDate, undefined);
  });
});
