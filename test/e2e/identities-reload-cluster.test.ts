import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * `trent server --workers 2 --identities FILE` (docs/multi-process.md): the cluster primary
 * re-applies the file when it changes, as a single process does (identities-reload.test.ts), and
 * every worker sees the change through the store's identity version. Each call below goes out on
 * a connection of its own, so the cluster spreads them over both workers.
 */

const A = '111122223333';
const ALICE = { accessKeyId: 'AKIACLUSTERALICE0001', secretAccessKey: 'alice-secret-0123456789abcdef' };
const BOB = { accessKeyId: 'AKIACLUSTERBOB000001', secretAccessKey: 'bob-secret-0123456789abcdef00' };

type Credentials = typeof ALICE;

function listPolicy(effect: 'Allow' | 'Deny') {
  return { list: { Version: '2012-10-17', Statement: [{ Effect: effect, Action: 'kms:ListKeys', Resource: '*' }] } };
}

function identities(alice: 'Allow' | 'Deny', withBob: boolean): string {
  const users: Record<string, object> = { alice: { policies: listPolicy(alice), accessKeys: [ALICE] } };
  if (withBob) users.bob = { policies: listPolicy('Allow'), accessKeys: [BOB] };
  return JSON.stringify({ accounts: { [A]: { users } } });
}

describe('identities file reloaded on change, with --workers 2', { timeout: 120_000 }, () => {
  let server: TestServer;
  let files: string;
  let file: string;

  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'trent-reload-cluster-'));
    file = join(files, 'identities.json');
    writeFileSync(file, identities('Allow', false));
    server = await startServer({ args: ['--workers', '2', '--identities', file] });
  });

  after(async () => {
    await server?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  /** What ListKeys answers for these credentials: 'ok' or the error's name. */
  async function listKeys(credentials: Credentials): Promise<string> {
    const kms = server.client({ credentials });
    try {
      await kms.send(new ListKeysCommand({}));
      return 'ok';
    } catch (err) {
      return (err as Error).name;
    } finally {
      kms.destroy();
    }
  }

  /** Eight calls, each on a fresh connection (both workers answer some): whether all gave `want`. */
  async function everywhere(credentials: Credentials, want: string): Promise<boolean> {
    const results = await Promise.all(Array.from({ length: 8 }, () => listKeys(credentials)));
    return results.every((r) => r === want);
  }

  /** Polls until `check` holds, for at most 15 seconds. */
  async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}\n${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('a Deny takes effect and a new user works on every worker; the primary reloads, then exits cleanly', async () => {
    assert.ok(/workers listening/.test(server.output()), server.output());
    assert.equal(await everywhere(ALICE, 'ok'), true);
    assert.notEqual(await listKeys(BOB), 'ok', 'bob is not in the file yet');

    writeFileSync(file, identities('Deny', true));
    await eventually('the Deny is in force on every worker', () => everywhere(ALICE, 'AccessDeniedException'));
    await eventually("bob's access key works on every worker", () => everywhere(BOB, 'ok'));

    // Applied once, by the primary: the workers only read the store.
    const reloads = server
      .output()
      .split('\n')
      .filter((line) => line.includes('identities file reloaded'));
    assert.equal(reloads.length, 1, server.output());
    assert.match(reloads[0] ?? '', new RegExp(`"pid":${server.process.pid}\\b`));
    assert.ok(!server.output().includes(BOB.secretAccessKey), 'no secret in the log');

    // The primary stops watching and closes its store with the workers: a clean exit.
    assert.equal(await server.stop(), 0, server.output());
  });
});
