import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyLastUsageCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { adminQuery, createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { trent } from '../helpers/trent-cli.js';
import { bytes, uniqueAlias } from './sdk-assert.js';

/**
 * `trent store copy --from sqlite:PATH --to postgres://…`: a deployment made on SQLite, copied,
 * serves from PostgreSQL with every key, version, alias, tag, grant, identity and audit record, and
 * `trent audit verify` passes on the copy.
 */
describe('trent store copy: SQLite to PostgreSQL', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const servers: TestServer[] = [];
  let schema: TestSchema | undefined;

  after(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await schema?.drop();
  });

  it('copies a whole deployment, and a server on the copy serves it', async () => {
    const dirA = mkdtempSync(join(tmpdir(), 'trent-copy-a-'));
    const dirB = mkdtempSync(join(tmpdir(), 'trent-copy-b-'));
    dirs.push(dirA, dirB);
    const a = await startServer({ dataDir: dirA });
    servers.push(a);
    const kms = a.client();
    const text = Buffer.from('moved to postgres');
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ Description: 'to copy', Tags: [{ TagKey: 'team', TagValue: 'blue' }] }),
    );
    const arn = KeyMetadata?.Arn ?? '';
    const account = arn.split(':')[4];
    const alias = uniqueAlias('copy');
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: arn }));
    const grant = await kms.send(
      new CreateGrantCommand({
        KeyId: arn,
        GranteePrincipal: `arn:aws:iam::${account}:user/someone`,
        Operations: ['Decrypt'],
      }),
    );
    const user = trent(['user', 'create', 'carol', '--data-dir', dirA]);
    assert.equal(user.code, 0, user.stderr);
    const enc = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: text }));
    await kms.send(new DescribeKeyCommand({ KeyId: arn }));
    const lastUse = await kms.send(new GetKeyLastUsageCommand({ KeyId: arn }));
    assert.equal(lastUse.KeyLastUsage?.Operation, 'Encrypt');
    assert.equal(await a.stop(), 0);
    servers.pop();

    schema = await createTestSchema();
    const copied = trent(['store', 'copy', '--from', `sqlite:${join(dirA, 'trent.db')}`, '--to', schema.url]);
    assert.equal(copied.code, 0, copied.stderr);
    const summary = JSON.parse(copied.stdout) as { copied: Record<string, number> };
    assert.equal(summary.copied.keys, 1);
    // The copy's key count, which CreateKey's quota check reads, counts the copied key.
    const [counted] = await adminQuery<{ n: number }>(
      `SELECT SUM(n)::int AS n FROM ${schema.name}.key_counts WHERE account_id = $1`,
      [account],
    );
    assert.equal(counted?.n, 1);
    assert.ok((summary.copied.audit_events ?? 0) >= 4, copied.stdout);
    // The records that name the key: CreateKey, CreateAlias, CreateGrant, Encrypt, DescribeKey, GetKeyLastUsage.
    assert.equal(summary.copied.audit_event_keys, 6, copied.stdout);
    assert.equal(summary.copied.audit_key_usage, 1, copied.stdout);

    // Copying again onto the now non-empty target is refused.
    const again = trent(['store', 'copy', '--from', `sqlite:${join(dirA, 'trent.db')}`, '--to', schema.url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds a deployment/);

    const b = await startServer({
      dataDir: dirB,
      args: ['--store', schema.url],
      env: { TRENT_ROOT_KEY_FILE: join(dirA, 'root.key') },
    });
    servers.push(b);
    const onB = b.client({ credentials: a.credentials });
    const copiedUse = await onB.send(new GetKeyLastUsageCommand({ KeyId: arn }));
    assert.deepEqual(copiedUse.KeyLastUsage, lastUse.KeyLastUsage);
    const described = await onB.send(new DescribeKeyCommand({ KeyId: alias }));
    assert.equal(described.KeyMetadata?.Arn, arn);
    assert.equal(described.KeyMetadata?.Description, 'to copy');
    const dec = await onB.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    assert.ok(bytes(dec.Plaintext).equals(text));
    const tags = await onB.send(new ListResourceTagsCommand({ KeyId: arn }));
    assert.deepEqual(tags.Tags, [{ TagKey: 'team', TagValue: 'blue' }]);
    const grants = await onB.send(new ListGrantsCommand({ KeyId: arn }));
    assert.deepEqual(
      grants.Grants?.map((g) => g.GrantId),
      [grant.GrantId],
    );
    const users = await adminQuery<{ user_name: string }>(`SELECT user_name FROM ${schema.name}.iam_users`);
    assert.deepEqual(
      users.map((u) => u.user_name),
      ['carol'],
    );
    const verify = trent(['audit', 'verify', '--json', '--store', schema.url, '--data-dir', dirB]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const result = JSON.parse(verify.stdout) as { ok: boolean; checked: number };
    assert.equal(result.ok, true);
    assert.ok(result.checked >= (summary.copied.audit_events ?? 0), verify.stdout);
  });
});
