import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT, REGION, startServer, type TestServer } from '../helpers/server.js';

/**
 * boto3 against a real Trent: test/python/boto3_walkthrough.py does the walk-through and checks
 * every answer itself; it prints one "ok <step>" line per step and "OK" last, or "FAIL: …" and
 * exits 1.
 */
const SCRIPT = join(PROJECT_ROOT, 'test', 'python', 'boto3_walkthrough.py');
const STEPS = [
  'create_key',
  'encrypt and decrypt',
  'encryption context mismatch',
  'alias',
  'generate_data_key',
  'disabled key',
  'schedule and cancel deletion',
  'list_keys pagination',
  'wrong credentials refused',
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function python(args: string[]): Promise<Run> {
  const env = { ...process.env };
  // Only the credentials the script is given: no AWS_* from the machine.
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_')) delete env[name];
  }
  return new Promise((resolve, reject) => {
    execFile('python3', args, { env, timeout: 90_000 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`python3 did not run: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

describe('boto3 walk-through', { timeout: 120_000 }, () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.destroy();
  });

  it('runs every step and ends with OK', async () => {
    const credentials = join(server.dataDir, 'credentials');
    const run = await python([SCRIPT, '--endpoint-url', server.url, '--credentials', credentials, '--region', REGION]);
    const report = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    assert.equal(run.code, 0, report);
    const lines = run.stdout.trim().split('\n');
    assert.deepEqual(lines, [...STEPS.map((s) => `ok ${s}`), 'OK'], report);
  });

  it('the script fails loudly when the server does not answer as it expects', async () => {
    // The same script against a server with another account's credentials file must not pass:
    // proves the script's checks can fail and that its failure reaches this test.
    const other = await startServer();
    try {
      const run = await python([
        SCRIPT,
        '--endpoint-url',
        server.url,
        '--credentials',
        join(other.dataDir, 'credentials'),
        '--region',
        REGION,
      ]);
      assert.equal(run.code, 1, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stderr, /^FAIL: unexpected .*UnrecognizedClientException/m);
      assert.doesNotMatch(run.stdout, /^OK$/m);
    } finally {
      await other.destroy();
    }
  });
});
