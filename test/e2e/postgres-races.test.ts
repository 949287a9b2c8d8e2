import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  type KMSClient,
  ListGrantsCommand,
} from '@aws-sdk/client-kms';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Two Trent server processes on one PostgreSQL schema, racing conditional and idempotent writes
 * through @aws-sdk/client-kms (issue 7): concurrent CreateAlias of one name has exactly one winner and
 * AWS's AlreadyExistsException for the rest; concurrent CreateGrant with one Name and identical
 * parameters returns one GrantId everywhere and leaves one grant.
 */

const ROUNDS = 10;
const CONCURRENT = 8;

describe('Two Trent nodes racing conditional writes on one PostgreSQL database', { timeout: 240_000 }, () => {
  let schema: TestSchema;
  let dirA: string;
  let dirB: string;
  let a: TestServer;
  let b: TestServer;
  let kmsA: KMSClient;
  let kmsB: KMSClient;

  before(async () => {
    schema = await createTestSchema();
    dirA = mkdtempSync(join(tmpdir(), 'trent-pgrace-a-'));
    dirB = mkdtempSync(join(tmpdir(), 'trent-pgrace-b-'));
    const args = ['--store', schema.url];
    a = await startServer({ dataDir: dirA, args });
    b = await startServer({ dataDir: dirB, args, env: { TRENT_ROOT_KEY_FILE: join(dirA, 'root.key') } });
    kmsA = a.client();
    kmsB = b.client({ credentials: a.credentials });
  });

  after(async () => {
    kmsA?.destroy();
    kmsB?.destroy();
    await a?.stop();
    await b?.stop();
    if (dirA) rmSync(dirA, { recursive: true, force: true });
    if (dirB) rmSync(dirB, { recursive: true, force: true });
    await schema?.drop();
  });

  it('gives concurrent CreateAlias of one name on both nodes exactly one winner', async () => {
    const keys: string[] = [];
    for (let i = 0; i < CONCURRENT; i++) {
      const { KeyMetadata } = await (i % 2 ? kmsB : kmsA).send(new CreateKeyCommand({}));
      keys.push(KeyMetadata?.KeyId ?? '');
    }
    for (let round = 0; round < ROUNDS; round++) {
      const aliasName = `alias/race-${round}`;
      // Each request names a different key, so the alias shows which request won.
      const results = await Promise.allSettled(
        keys.map((keyId, i) =>
          (i % 2 ? kmsB : kmsA).send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId })),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [keys[i]] : []));
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        const err = r.reason as { name?: string; message?: string };
        assert.equal(err.name, 'AlreadyExistsException', `round ${round}: ${err.name}: ${err.message}`);
        assert.match(
          err.message ?? '',
          new RegExp(`^An alias with the name arn:aws:kms:[a-z0-9-]+:\\d{12}:${aliasName} already exists$`),
        );
      }
      for (const kms of [kmsA, kmsB]) {
        const d = await kms.send(new DescribeKeyCommand({ KeyId: aliasName }));
        assert.equal(d.KeyMetadata?.KeyId, winners[0], `round ${round}: alias points at the winner's key`);
      }
    }
  });

  it('gives concurrent CreateGrant with one Name and identical parameters on both nodes one GrantId', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { KeyMetadata } = await kmsA.send(new CreateKeyCommand({}));
      const arn = KeyMetadata?.Arn ?? '';
      const account = arn.split(':')[4];
      const name = `race-grant-${round}`;
      const results = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) =>
          (i % 2 ? kmsB : kmsA).send(
            new CreateGrantCommand({
              KeyId: arn,
              GranteePrincipal: `arn:aws:iam::${account}:role/race-grantee`,
              Operations: ['Encrypt', 'Decrypt'],
              Name: name,
            }),
          ),
        ),
      );
      const ids = new Set(results.map((r) => r.GrantId));
      assert.equal(ids.size, 1, `round ${round}: GrantIds ${[...ids].join(', ')}`);
      const tokens = results.map((r) => r.GrantToken);
      assert.ok(
        tokens.every((t) => typeof t === 'string' && t.length > 0),
        `round ${round}: grant tokens`,
      );
      for (const kms of [kmsA, kmsB]) {
        const { Grants } = await kms.send(new ListGrantsCommand({ KeyId: arn }));
        const named = (Grants ?? []).filter((g) => g.Name === name);
        assert.equal(named.length, 1, `round ${round}: ${named.length} grants named ${name}`);
        assert.equal(named[0]?.GrantId, [...ids][0]);
      }
    }
  });
});
