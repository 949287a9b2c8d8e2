import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { startServer } from '../helpers/server.js';
import { lookupAll, trent } from '../helpers/trent-cli.js';

/**
 * Group commit under load, end to end: many concurrent calls — to one server, and to two servers
 * sharing one data directory (two processes appending to one SQLite file) — leave exactly one
 * record each, in one chain that `trent audit verify` accepts.
 */
async function encryptMany(server: Awaited<ReturnType<typeof startServer>>, keyId: string, n: number) {
  const kms = server.client();
  const outs = await Promise.all(
    Array.from({ length: n }, (_, i) => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`${i}`) }))),
  );
  return outs.map((o) => o.$metadata.requestId ?? '');
}

describe('audit under concurrent load', () => {
  it('records every one of many concurrent calls in one verifiable chain, from two processes on one file', async () => {
    const a = await startServer();
    const b = await startServer({ dataDir: a.dataDir });
    try {
      const key = await a.client().send(new CreateKeyCommand({}));
      const keyId = key.KeyMetadata?.KeyId ?? '';
      const [fromA, fromB] = await Promise.all([encryptMany(a, keyId, 200), encryptMany(b, keyId, 200)]);
      await Promise.all([a.stop(), b.stop()]);
      const records = lookupAll(a.dataDir, ['--event-name', 'Encrypt']);
      assert.equal(records.length, 400);
      assert.deepEqual(new Set(records.map((r) => r.requestID)), new Set([...fromA, ...fromB]));
      const verify = trent(['audit', 'verify', '--data-dir', a.dataDir]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    } finally {
      await b.destroy();
      await a.destroy();
    }
  });
});
