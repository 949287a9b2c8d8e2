import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  KMSClient,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
import { defaultWorkers } from '../../src/server/settings.js';
import { REGION, type StartOptions, startServer, type TestServer } from '../helpers/server.js';
import { createAccessKey, lookupAll, trent } from '../helpers/trent-cli.js';

/**
 * Several processes on one SQLite store (docs/multi-process.md): the plain start (one worker per
 * core), `--workers 1`, `--workers 2`, and two servers started on one data directory. A change made through one process reaches the others' caches
 * (the change feed polls every 100 ms), the audit chain stays one chain, SIGTERM stops cleanly.
 */

/** A client on a connection of its own: the cluster hands each new connection to the next worker. */
function freshClient(server: TestServer): KMSClient {
  return new KMSClient({ endpoint: server.url, region: REGION, credentials: server.credentials, maxAttempts: 1 });
}

async function encryptOn(client: KMSClient, keyId: string): Promise<string> {
  try {
    await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    return 'ok';
  } catch (err) {
    return (err as Error).name;
  } finally {
    client.destroy();
  }
}

/** Encrypts on `n` fresh connections (half of them hit each worker) until all are refused. */
async function refusedEverywhereWithin(server: TestServer, keyId: string, ms: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const results = await Promise.all(Array.from({ length: 8 }, () => encryptOn(freshClient(server), keyId)));
    if (results.every((r) => r === 'DisabledException')) return Date.now() - start;
    assert.ok(Date.now() - start < ms, `still served ${results.join(',')} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function workerPids(server: TestServer): number[] {
  const m = /"pids":\[([\d,]+)\][^\n]*workers listening/.exec(server.output());
  return (m?.[1] ?? '').split(',').filter(Boolean).map(Number);
}

/** The server's child processes, from /proc: its cluster workers, or none for one process. */
function childPids(server: TestServer): number[] {
  const parent = server.process.pid;
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parent) children.push(Number(entry));
  }
  return children.sort((a, b) => a - b);
}

describe('several processes on one store', () => {
  it('--workers 2: a key disabled through one worker is refused by every worker within a second', async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    try {
      assert.equal(workerPids(server).length, 2, server.output());
      const key = await server.client().send(new CreateKeyCommand({}));
      const keyId = key.KeyMetadata?.KeyId ?? '';
      // Both workers cache the key: many requests, each on its own connection.
      const warm = await Promise.all(Array.from({ length: 16 }, () => encryptOn(freshClient(server), keyId)));
      assert.deepEqual(new Set(warm), new Set(['ok']));
      const admin = freshClient(server);
      await admin.send(new DisableKeyCommand({ KeyId: keyId }));
      admin.destroy();
      const took = await refusedEverywhereWithin(server, keyId, 1000);
      assert.ok(took < 1000);
    } finally {
      await server.destroy();
    }
  });

  it('the plain start runs the default worker count: one per core on more than two cores, else one process', async () => {
    const server = await startServer({ workers: 'default' });
    try {
      const expected = defaultWorkers(availableParallelism());
      const pids = workerPids(server);
      if (expected > 1) {
        assert.equal(pids.length, expected, server.output());
        assert.deepEqual(
          childPids(server),
          [...pids].sort((a, b) => a - b),
        );
      } else {
        assert.deepEqual(pids, [], 'no cluster');
        assert.deepEqual(childPids(server), []);
      }
      const key = await server.client().send(new CreateKeyCommand({}));
      assert.equal(await encryptOn(freshClient(server), key.KeyMetadata?.KeyId ?? ''), 'ok');
    } finally {
      await server.destroy();
    }
  });

  const single: [string, StartOptions][] = [
    ['--workers 1', { workers: 'default', args: ['--workers', '1'] }],
    ['TRENT_WORKERS=1', { workers: 1 }],
  ];
  for (const [how, options] of single) {
    it(`${how} stays one process: no cluster, no worker`, async () => {
      const server = await startServer(options);
      try {
        assert.deepEqual(workerPids(server), [], server.output());
        assert.deepEqual(childPids(server), []);
        const key = await server.client().send(new CreateKeyCommand({}));
        assert.equal(await encryptOn(freshClient(server), key.KeyMetadata?.KeyId ?? ''), 'ok');
      } finally {
        await server.destroy();
      }
    });
  }

  it('--allow-time-travel: the plain start runs one process quietly; an explicit --workers 2 is warned about', async () => {
    const quiet = await startServer({ workers: 'default', args: ['--allow-time-travel'] });
    try {
      assert.deepEqual(childPids(quiet), [], quiet.output());
      assert.doesNotMatch(quiet.output(), /ignored/);
    } finally {
      await quiet.destroy();
    }
    const warned = await startServer({ args: ['--allow-time-travel', '--workers', '2'] });
    try {
      assert.deepEqual(childPids(warned), [], warned.output());
      assert.match(warned.output(), /--allow-time-travel runs one process: --workers 2 ignored/);
    } finally {
      await warned.destroy();
    }
  });

  it('--workers auto: one worker per core', async () => {
    const server = await startServer({ args: ['--workers', 'auto'] });
    try {
      const expected = availableParallelism();
      if (expected > 1) assert.equal(workerPids(server).length, expected, server.output());
      const key = await server.client().send(new CreateKeyCommand({}));
      assert.equal(await encryptOn(freshClient(server), key.KeyMetadata?.KeyId ?? ''), 'ok');
    } finally {
      await server.destroy();
    }
  });

  it('two servers on one data directory: a key disabled through one is refused by the other within a second', async () => {
    const a = await startServer();
    const b = await startServer({ dataDir: a.dataDir });
    try {
      const key = await a.client().send(new CreateKeyCommand({}));
      const keyId = key.KeyMetadata?.KeyId ?? '';
      const kmsB = b.client();
      await kmsB.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })); // cached in b
      await a.client().send(new DisableKeyCommand({ KeyId: keyId }));
      const start = Date.now();
      for (;;) {
        const result = await encryptOn(b.client(), keyId);
        if (result === 'DisabledException') break;
        assert.equal(result, 'ok');
        assert.ok(Date.now() - start < 1000, 'b still serves the disabled key after 1 s');
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await b.destroy();
      await a.destroy();
    }
  });

  it('two servers on one data directory: a grant made or retired through one holds on the other within a second', async () => {
    const a = await startServer();
    const b = await startServer({ dataDir: a.dataDir });
    try {
      const credentials = createAccessKey(a.dataDir, 'bob');
      const key = await a.client().send(new CreateKeyCommand({}));
      const keyArn = key.KeyMetadata?.Arn ?? '';
      const bobOnB = () => encryptOn(b.client({ credentials }), keyArn);
      /** Asks b as Bob until it answers `wanted`; how long that took. */
      const bWithin = async (wanted: string, ms: number) => {
        const start = Date.now();
        for (;;) {
          const result = await bobOnB();
          if (result === wanted) return Date.now() - start;
          assert.ok(Date.now() - start < ms, `b still answers ${result} after ${ms} ms`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      assert.equal(await bobOnB(), 'AccessDeniedException'); // b caches that the key has no grants
      const grant = await a.client().send(
        new CreateGrantCommand({
          KeyId: keyArn,
          GranteePrincipal: `arn:aws:iam::${key.KeyMetadata?.AWSAccountId}:user/bob`,
          Operations: ['Encrypt'],
        }),
      );
      assert.ok((await bWithin('ok', 1000)) < 1000);
      await a.client().send(new RetireGrantCommand({ KeyId: keyArn, GrantId: grant.GrantId }));
      assert.ok((await bWithin('AccessDeniedException', 1000)) < 1000);
    } finally {
      await b.destroy();
      await a.destroy();
    }
  });

  it('--workers 2: concurrent load leaves one verifiable audit chain, and SIGTERM exits 0 with the workers', async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    try {
      const pids = workerPids(server);
      const key = await server.client().send(new CreateKeyCommand({}));
      const keyId = key.KeyMetadata?.KeyId ?? '';
      const clients = Array.from({ length: 8 }, () => freshClient(server));
      const outs = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          clients[i % clients.length]?.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`${i}`) })),
        ),
      );
      for (const c of clients) c.destroy();
      // SIGTERM while requests are in flight: they finish, then every process exits.
      const inFlight = Promise.all(Array.from({ length: 20 }, () => encryptOn(freshClient(server), keyId)));
      await new Promise((r) => setTimeout(r, 5));
      const code = await server.stop();
      assert.equal(code, 0, server.output());
      const late = await inFlight;
      assert.ok(late.filter((r) => r === 'ok').length > 0, late.join(','));
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
      const records = lookupAll(server.dataDir, ['--event-name', 'Encrypt']);
      const ids = new Set(records.map((r) => r.requestID));
      for (const o of outs) assert.ok(ids.has(o?.$metadata.requestId ?? ''));
      assert.equal(records.length, 200 + late.filter((r) => r === 'ok').length);
      const verify = trent(['audit', 'verify', '--data-dir', server.dataDir]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    } finally {
      await server.destroy();
    }
  });
});
