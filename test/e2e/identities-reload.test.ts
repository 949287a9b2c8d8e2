import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * `trent server --identities FILE` re-applies the file when it changes (docs/identities.md): the
 * next call sees the change; a broken file is logged and the identities applied last stay.
 */

const A = '111122223333';
const ALICE = { accessKeyId: 'AKIARELOADALICE00001', secretAccessKey: 'alice-secret-0123456789abcdef' };

function identities(effect: 'Allow' | 'Deny'): string {
  return JSON.stringify({
    accounts: {
      [A]: {
        users: {
          alice: {
            policies: {
              list: { Version: '2012-10-17', Statement: [{ Effect: effect, Action: 'kms:ListKeys', Resource: '*' }] },
            },
            accessKeys: [ALICE],
          },
        },
      },
    },
  });
}

describe('identities file reloaded on change', { timeout: 120_000 }, () => {
  let server: TestServer;
  let files: string;
  let file: string;

  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'trent-reload-'));
    file = join(files, 'identities.json');
    writeFileSync(file, identities('Allow'));
    server = await startServer({ args: ['--identities', file] });
  });

  after(async () => {
    await server?.destroy();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  /** Whether alice may list keys now. */
  async function aliceMayList(): Promise<boolean> {
    const kms = server.client({ credentials: ALICE });
    try {
      await kms.send(new ListKeysCommand({}));
      return true;
    } catch (err) {
      assert.equal((err as Error).name, 'AccessDeniedException');
      return false;
    } finally {
      kms.destroy();
    }
  }

  /** Polls until `check` holds, for at most 15 seconds. */
  async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}\n${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('a changed policy decides the next call; a broken file leaves the last identities in force', async () => {
    assert.equal(await aliceMayList(), true);

    writeFileSync(file, identities('Deny'));
    await eventually('the Deny is in force', async () => !(await aliceMayList()));
    assert.match(server.output(), /identities file reloaded/);

    writeFileSync(file, `${identities('Allow').slice(0, 40)} oops`);
    await eventually('the broken file is reported', () => server.output().includes('identities file not reloaded'));
    assert.equal(await aliceMayList(), false, 'still the identities applied last');
    assert.ok(!server.output().includes(ALICE.secretAccessKey), 'no secret in the log');

    // An invalid policy in an otherwise well-formed file changes nothing either.
    const invalid = JSON.parse(identities('Allow')) as { accounts: Record<string, { users: object }> };
    (invalid.accounts[A] as { users: object }).users = {
      alice: { policies: { list: { Version: '2012-10-17', Statement: [{ Effect: 'Maybe' }] } }, accessKeys: [ALICE] },
    };
    const before = server.output().split('identities file not reloaded').length;
    writeFileSync(file, JSON.stringify(invalid));
    await eventually(
      'the invalid policy is reported',
      () => server.output().split('identities file not reloaded').length > before,
    );
    assert.equal(await aliceMayList(), false);

    // An editor that writes a new file and renames it over the old one.
    const next = join(files, 'identities.json.tmp');
    writeFileSync(next, identities('Allow'));
    renameSync(next, file);
    await eventually('the replaced file is in force', aliceMayList);
  });
});
