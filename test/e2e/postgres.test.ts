import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  ListKeysCommand,
} from '@aws-sdk/client-kms';
import { adminQuery, createTestSchema, POSTGRES_URL, type TestSchema } from '../helpers/postgres.js';
import { PROJECT_ROOT, startServer, type TestServer } from '../helpers/server.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { bytes, uniqueAlias } from './sdk-assert.js';

/**
 * Trent on PostgreSQL, end to end: `trent server --store postgres://…` through the AWS SDK; a
 * restart keeps everything; a second node sharing the root key serves the first node's keys (and
 * refuses one disabled through the first within a second), and one without it refuses to start; the database going away fails requests with retryable 5xx
 * errors and the node serves again when it returns; an unreachable database at start is one line.
 */

describe('Trent on PostgreSQL', { timeout: 120_000 }, () => {
  let schema: TestSchema;
  const servers: TestServer[] = [];
  const dirs: string[] = [];

  before(async () => {
    schema = await createTestSchema();
  });

  after(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await schema?.drop();
  });

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'trent-pg-'));
    dirs.push(dir);
    return dir;
  }

  async function node(dir: string, store: string, env: NodeJS.ProcessEnv = {}): Promise<TestServer> {
    const server = await startServer({ dataDir: dir, args: ['--store', store], env });
    servers.push(server);
    return server;
  }

  const plaintext = Buffer.from('attack at dawn, on PostgreSQL');
  const context = { purpose: 'postgres-e2e' };
  let dirA: string;
  let keyId: string;
  let alias: string;
  let ciphertext: Uint8Array;
  let nodeB: TestServer | undefined;

  it('creates, encrypts and decrypts on a postgres:// store', async () => {
    dirA = dataDir();
    const a = await node(dirA, schema.url);
    assert.match(a.output(), new RegExp(`"store":"postgres://[^"]*${schema.name}`));
    const kms = a.client();
    const created = await kms.send(new CreateKeyCommand({ Description: 'on postgres' }));
    keyId = created.KeyMetadata?.KeyId ?? '';
    alias = uniqueAlias('pg');
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    const enc = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: plaintext, EncryptionContext: context }));
    ciphertext = enc.CiphertextBlob ?? new Uint8Array();
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context }));
    assert.ok(bytes(dec.Plaintext).equals(plaintext));
    const rows = await adminQuery<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${schema.name}.keys`);
    assert.equal(rows[0]?.n, 1, 'the key lives in the PostgreSQL schema');
  });

  it('keeps every key, alias and ciphertext across a restart', async () => {
    const first = servers.pop();
    assert.equal(await first?.stop(), 0);
    const a = await node(dirA, schema.url);
    const kms = a.client();
    const described = await kms.send(new DescribeKeyCommand({ KeyId: alias }));
    assert.equal(described.KeyMetadata?.KeyId, keyId);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context }));
    assert.ok(bytes(dec.Plaintext).equals(plaintext));
  });

  it('refuses to start a second node without the deployment root key', async () => {
    await assert.rejects(node(dataDir(), schema.url), /root key .* is missing, but this store holds keys/);
  });

  it('lets a second node with the shared root key serve the same keys, both ways', async () => {
    const b = await node(dataDir(), schema.url, { TRENT_ROOT_KEY_FILE: join(dirA, 'root.key') });
    nodeB = b;
    const onB = b.client();
    const dec = await onB.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context }));
    assert.ok(bytes(dec.Plaintext).equals(plaintext));
    assert.equal(dec.KeyId?.endsWith(keyId), true);

    const madeOnB = await onB.send(new CreateKeyCommand({ Description: 'made on B' }));
    const enc = await onB.send(new EncryptCommand({ KeyId: madeOnB.KeyMetadata?.Arn, Plaintext: plaintext }));
    const a = servers[0];
    assert.ok(a !== undefined);
    const back = await a.client().send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    assert.ok(bytes(back.Plaintext).equals(plaintext));
    const listed = await a.client().send(new ListKeysCommand({}));
    assert.equal(listed.Keys?.length, 2);
  });

  it('refuses on node B, within a second, a key disabled through node A', async () => {
    const a = servers[0];
    assert.ok(a !== undefined && nodeB !== undefined);
    const onB = nodeB.client();
    // B has the key in its cache from using it.
    await onB.send(new EncryptCommand({ KeyId: alias, Plaintext: plaintext, EncryptionContext: context }));
    await a.client().send(new DisableKeyCommand({ KeyId: keyId }));
    const disabledAt = Date.now();
    let refusedAfter: number | undefined;
    while (Date.now() - disabledAt < 1000) {
      try {
        await onB.send(new EncryptCommand({ KeyId: alias, Plaintext: plaintext, EncryptionContext: context }));
      } catch (err) {
        assert.equal((err as { name?: string }).name, 'DisabledException');
        refusedAfter = Date.now() - disabledAt;
        break;
      }
      await sleep(20);
    }
    assert.ok(refusedAfter !== undefined, 'node B still encrypts with the key a second after A disabled it');
    await a.client().send(new EnableKeyCommand({ KeyId: keyId }));
  });

  it('answers 5xx while the database is gone and serves again when it returns', async () => {
    const upstream = new URL(POSTGRES_URL);
    const proxy = await TcpProxy.start(upstream.hostname, Number(upstream.port || 5432));
    try {
      const viaProxy = new URL(schema.url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      viaProxy.searchParams.set('connect_timeout', '2');
      const c = await node(dataDir(), viaProxy.toString(), { TRENT_ROOT_KEY_FILE: join(dirA, 'root.key') });
      const kms = c.client();
      await kms.send(new CreateKeyCommand({ Description: 'before the outage' }));

      await proxy.cut();
      await assert.rejects(kms.send(new CreateKeyCommand({ Description: 'during the outage' })), (err: unknown) => {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
        assert.ok(
          e.name === 'DependencyTimeoutException' || e.name === 'KMSInternalException',
          `got ${String(e.name)}`,
        );
        assert.ok((e.$metadata?.httpStatusCode ?? 0) >= 500, `HTTP ${e.$metadata?.httpStatusCode}`);
        assert.equal(e.$fault, 'server');
        return true;
      });
      assert.equal(c.process.exitCode, null, 'the node keeps running');

      await proxy.resume();
      const again = await kms.send(new CreateKeyCommand({ Description: 'after the outage' }));
      assert.ok(again.KeyMetadata?.KeyId);
      assert.doesNotMatch(c.output(), /"level":50.*uncaught|Unhandled/i);
    } finally {
      await proxy.cut();
    }
  });

  it('refuses to start when the database is unreachable, in one line naming it and no password', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const result = spawnSync(
      process.execPath,
      [
        join(PROJECT_ROOT, 'bin/trent'),
        'server',
        '--workers',
        '1',
        '--port',
        '0',
        '--data-dir',
        dataDir(),
        '--store',
        `postgres://trent:not-this-pw@127.0.0.1:${port}/kms`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.equal(
      result.stderr.trim(),
      `Cannot open the PostgreSQL store at 127.0.0.1:${port}, database 'kms' as user 'trent': ` +
        `connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    assert.doesNotMatch(result.stdout + result.stderr, /not-this-pw/);
  });
});
