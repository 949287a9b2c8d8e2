import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  type KMSClient,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { advanceClock } from '../../src/cli/clock-commands.js';
import { adminQuery, createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { trent } from '../helpers/trent-cli.js';
import { bytes } from './sdk-assert.js';

/**
 * Two Trent server processes on one PostgreSQL schema, driven through @aws-sdk/client-kms: keys made
 * on either are used on the other; a key disabled and a grant revoked through A are refused by B
 * within a second; both nodes racing the deletion scheduler delete each key once; SIGKILL of one
 * node under load loses no acknowledged write (key, ciphertext, audit record) while the other keeps
 * serving; `trent audit verify --store postgres://…` checks the one chain both nodes wrote.
 */

const DAY = 86_400;

function profile(stdout: string): { accessKeyId: string; secretAccessKey: string } {
  const accessKeyId = /^aws_access_key_id = (\S+)$/m.exec(stdout)?.[1];
  const secretAccessKey = /^aws_secret_access_key = (\S+)$/m.exec(stdout)?.[1];
  assert.ok(accessKeyId !== undefined && secretAccessKey !== undefined, stdout);
  return { accessKeyId, secretAccessKey };
}

/** Retries `attempt` until it throws, for at most `ms`; returns the error's name, or undefined. */
async function refusedWithin(ms: number, attempt: () => Promise<unknown>): Promise<string | undefined> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    try {
      await attempt();
    } catch (err) {
      return (err as { name?: string }).name ?? 'Error';
    }
    await sleep(20);
  }
  return undefined;
}

describe('Two Trent nodes on one PostgreSQL database', { timeout: 240_000 }, () => {
  let schema: TestSchema;
  let dirA: string;
  let dirB: string;
  let a: TestServer;
  let b: TestServer;
  let kmsA: KMSClient;
  let kmsB: KMSClient;

  before(async () => {
    schema = await createTestSchema();
    dirA = mkdtempSync(join(tmpdir(), 'trent-pg2-a-'));
    dirB = mkdtempSync(join(tmpdir(), 'trent-pg2-b-'));
    const args = ['--store', schema.url, '--allow-time-travel'];
    a = await startServer({ dataDir: dirA, args });
    b = await startServer({ dataDir: dirB, args, env: { TRENT_ROOT_KEY_FILE: join(dirA, 'root.key') } });
    kmsA = a.client();
    // B serves the same deployment: the administrator's credentials are the deployment's.
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

  it('uses keys made on one node on the other', async () => {
    const text = Buffer.from('two nodes');
    const onA = await kmsA.send(new CreateKeyCommand({ Description: 'made on A' }));
    const onB = await kmsB.send(new CreateKeyCommand({ Description: 'made on B' }));
    const encA = await kmsA.send(new EncryptCommand({ KeyId: onB.KeyMetadata?.Arn, Plaintext: text }));
    const encB = await kmsB.send(new EncryptCommand({ KeyId: onA.KeyMetadata?.Arn, Plaintext: text }));
    const decOnB = await kmsB.send(new DecryptCommand({ CiphertextBlob: encA.CiphertextBlob }));
    const decOnA = await kmsA.send(new DecryptCommand({ CiphertextBlob: encB.CiphertextBlob }));
    assert.ok(bytes(decOnB.Plaintext).equals(text));
    assert.ok(bytes(decOnA.Plaintext).equals(text));
  });

  it('runs the schedulers on one node only', () => {
    const holders = [a, b].filter((n) => n.output().includes('this node runs the schedulers'));
    assert.equal(holders.length, 1);
  });

  it('refuses on B, within a second, a key disabled through A', async () => {
    const { KeyMetadata } = await kmsA.send(new CreateKeyCommand({}));
    const arn = KeyMetadata?.Arn;
    await kmsB.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })); // cached on B
    await kmsA.send(new DisableKeyCommand({ KeyId: arn }));
    const refused = await refusedWithin(1000, () =>
      kmsB.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })),
    );
    assert.equal(refused, 'DisabledException');
  });

  it('refuses on B, within a second, a grant revoked through A', async () => {
    const run = (args: string[]) => {
      const r = trent([...args, '--data-dir', dirA, '--store', schema.url]);
      assert.equal(r.code, 0, `trent ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const bob = b.client({ credentials: profile(run(['access-key', 'create', '--user', 'grantee'])) });
    try {
      const { KeyMetadata } = await kmsA.send(new CreateKeyCommand({}));
      const arn = KeyMetadata?.Arn ?? '';
      const account = arn.split(':')[4];
      const grant = await kmsA.send(
        new CreateGrantCommand({
          KeyId: arn,
          GranteePrincipal: `arn:aws:iam::${account}:user/grantee`,
          Operations: ['Encrypt'],
        }),
      );
      // The grant made on A works on B (B has not cached this key's grants yet, or forgot them).
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        try {
          await bob.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
          ok = true;
        } catch {
          await sleep(20);
        }
      }
      assert.ok(ok, 'the grantee could not use the grant on B');
      await kmsA.send(new RevokeGrantCommand({ KeyId: arn, GrantId: grant.GrantId }));
      const refused = await refusedWithin(1000, () =>
        bob.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })),
      );
      assert.equal(refused, 'AccessDeniedException');
    } finally {
      bob.destroy();
    }
  });

  it('deletes each due key exactly once when both nodes run the deletion scheduler at once', async () => {
    const arns: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { KeyMetadata } = await (i % 2 ? kmsA : kmsB).send(new CreateKeyCommand({}));
      arns.push(KeyMetadata?.Arn ?? '');
      await kmsA.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata?.Arn, PendingWindowInDays: 7 }));
    }
    // Both lifecycle clocks move past the window together; each node then runs its schedulers.
    await Promise.all([advanceClock(a.url, a.credentials, 8 * DAY), advanceClock(b.url, a.credentials, 8 * DAY)]);
    for (const arn of arns) {
      await assert.rejects(kmsB.send(new DescribeKeyCommand({ KeyId: arn })), { name: 'NotFoundException' });
    }
    const rows = await adminQuery<{ key_arns: string; n: number }>(
      `SELECT key_arns, COUNT(*)::int AS n FROM ${schema.name}.audit_events
       WHERE event_name = 'DeleteKey' GROUP BY key_arns`,
    );
    const deletions = new Map(rows.map((r) => [r.key_arns, r.n]));
    for (const arn of arns) assert.equal(deletions.get(arn), 1, `DeleteKey records for ${arn}`);
  });

  it('loses no acknowledged write when one node is killed under load, and the other keeps serving', async () => {
    const text = Buffer.from('acknowledged');
    const { KeyMetadata } = await kmsA.send(new CreateKeyCommand({}));
    const shared = KeyMetadata?.Arn ?? '';
    const acked = {
      keys: [] as string[],
      ciphertexts: [] as Uint8Array[],
      requestIds: [] as string[],
    };
    let stop = false;
    const worker = async (kms: KMSClient) => {
      while (!stop) {
        try {
          const created = await kms.send(new CreateKeyCommand({}));
          acked.keys.push(created.KeyMetadata?.Arn ?? '');
          if (created.$metadata.requestId) acked.requestIds.push(created.$metadata.requestId);
          const enc = await kms.send(new EncryptCommand({ KeyId: shared, Plaintext: text }));
          acked.ciphertexts.push(enc.CiphertextBlob ?? new Uint8Array());
          if (enc.$metadata.requestId) acked.requestIds.push(enc.$metadata.requestId);
        } catch {
          // Unacknowledged: the node died under it. Nothing is claimed.
          if (kms === kmsB) return;
        }
      }
    };
    const workers = [worker(kmsA), worker(kmsA), worker(kmsB), worker(kmsB)];
    await sleep(1500);
    await b.kill();
    const killedAt = acked.keys.length;
    await sleep(1000);
    stop = true;
    await Promise.all(workers);
    assert.ok(acked.keys.length > killedAt, 'node A kept serving after B was killed');
    for (const arn of acked.keys) {
      const d = await kmsA.send(new DescribeKeyCommand({ KeyId: arn }));
      assert.equal(d.KeyMetadata?.Arn, arn);
    }
    for (const blob of acked.ciphertexts) {
      const dec = await kmsA.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.ok(bytes(dec.Plaintext).equals(text));
    }
    const audited = new Set(
      (
        await adminQuery<{ request_id: string }>(
          `SELECT request_id FROM ${schema.name}.audit_events WHERE request_id = ANY($1)`,
          [acked.requestIds],
        )
      ).map((r) => r.request_id),
    );
    const missing = acked.requestIds.filter((id) => !audited.has(id));
    assert.deepEqual(missing, [], 'acknowledged calls without an audit record');
    assert.ok(acked.requestIds.length > 20, `${acked.requestIds.length} acknowledged calls`);
  });

  it('verifies the one audit chain both nodes wrote', () => {
    const r = trent(['audit', 'verify', '--json', '--store', schema.url, '--data-dir', dirA]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout) as { ok: boolean; checked: number };
    assert.equal(result.ok, true, r.stdout);
    // A record from each node (the load test alone made dozens).
    assert.ok(result.checked > 20, r.stdout);
  });
});
