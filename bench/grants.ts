import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openAccessStore } from '../src/storage/open-access-store.js';
import { call, type LoadSpec, measure, warmUp } from './load.js';
import { writeResults } from './report.js';
import { startTrent } from './servers.js';
import { Signer } from './signer.js';

/**
 * `npm run bench -- --grants`: a key holding many grants (default 10,000; AWS allows 50,000 a key)
 * beside a key holding none, in one server (on PostgreSQL with `TRENT_BENCH_SERVER_ARGS='--store
 * postgres://…'`, TRENT_ROOT_KEY set). The grants are seeded through the access store, the server
 * stopped, each to a grantee of its own and every 100th to one grantee. Then, at concurrency
 * 16 (CreateGrant makes a grant with every request, so the many-grant key grows while measured):
 *
 *   - one Encrypt alone on the many-grant key, its first use in the server (its grants are read),
 *     after 2 s of Encrypt on the other key, beside one more Encrypt alone on that one;
 *   - CreateGrant on the key without grants and on the one with many: a grant made must not cost
 *     more because the key holds others; then CreateGrant with a Name, the same each time (a
 *     retried call: after the first, each returns the grant the first made);
 *   - Encrypt on the many-grant key, by its owner, while nothing changes its grants;
 *   - ListGrants (Limit 100), first page, of all the key's grants and of the one grantee's.
 *
 *   --grant-count N  grants to seed on the key (default 10000)
 *   --duration N     seconds per measurement (default 4), after --warmup N (default 1)
 */
export async function runGrants(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      grants: { type: 'boolean' },
      'grant-count': { type: 'string', default: '10000' },
      duration: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
    },
  });
  const grantCount = Number(values['grant-count']);
  if (!Number.isInteger(grantCount) || grantCount < 1) {
    throw new Error(`--grant-count takes a count, not '${values['grant-count']}'`);
  }
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const startedAt = new Date();
  const dataDir = mkdtempSync(join(tmpdir(), 'trent-grants-'));
  try {
    let trent = await startTrent([], 1, dataDir);
    const created = async () => ((await call(trent, 'CreateKey', {})) as { KeyMetadata: { Arn: string } }).KeyMetadata;
    const bare = await created();
    const many = await created();
    await trent.stop();

    const account = many.Arn.split(':')[4];
    const grantee = (i: number) => `arn:aws:iam::${account}:role/${i % 100 === 0 ? 'frequent' : `grantee-${i}`}`;
    // Beside the server's store: its SQLite file, or the PostgreSQL database that TRENT_BENCH_SERVER_ARGS names.
    const access = await openAccessStore(trent.store, dataDir);
    const seedStarted = performance.now();
    for (let i = 0; i < grantCount; i++) {
      await access.insertGrant(
        {
          keyArn: many.Arn,
          grantId: randomBytes(32).toString('hex'),
          granteePrincipal: grantee(i),
          issuingAccount: `arn:aws:iam::${account}:root`,
          operations: ['Decrypt'],
          creationDate: Date.now(),
        },
        grantCount,
      );
    }
    await access.close();
    // What autovacuum does within a minute or so of this many inserts; until then PostgreSQL plans
    // a page of the key's grants as if it held a few hundred, and reads all 40,000 (31 ms, not 0.4).
    if (trent.store?.startsWith('postgres') === true) {
      const client = new pg.Client({ connectionString: trent.store });
      await client.connect();
      await client.query('ANALYZE grants');
      await client.end();
    }
    console.error(`seeded ${grantCount} grants in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

    trent = await startTrent([], 1, dataDir);
    // The many-grant key's first use in this server, whose grants are read then, after 2 s of
    // Encrypt on the other key (a fresh server's first requests measure V8's compiler), beside one
    // more Encrypt on that key.
    const plaintext = randomBytes(1024).toString('base64');
    const encryptBody = (keyArn: string) => JSON.stringify({ KeyId: keyArn, Plaintext: plaintext });
    const signer = new Signer(trent);
    await warmUp(trent, [{ signer, operation: 'Encrypt', body: encryptBody(bare.Arn) }], 2000);
    const timedEncrypt = async (keyArn: string) => {
      const started = performance.now();
      await call(trent, 'Encrypt', { KeyId: keyArn, Plaintext: plaintext });
      return performance.now() - started;
    };
    const warmNoneMs = await timedEncrypt(bare.Arn);
    const firstUseMs = await timedEncrypt(many.Arn);
    console.error(
      `  Encrypt alone: ${warmNoneMs.toFixed(1)} ms on the key without grants, then ` +
        `${firstUseMs.toFixed(1)} ms on the key with ${grantCount}, its first use`,
    );
    const run = async (label: string, operation: string, body: string) => {
      const spec: LoadSpec = { target: trent, signer, operation, body, concurrency: 16, warmupMs, durationMs };
      const result = await measure(spec);
      if (result.errors > 0) throw new Error(`${label}: ${result.errors} requests failed: ${result.errorSamples[0]}`);
      console.error(
        `  ${label.padEnd(36)} ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, ` +
          `p99 ${result.p99Ms.toFixed(2)} ms`,
      );
      return result;
    };
    const createGrant = (keyArn: string) =>
      JSON.stringify({ KeyId: keyArn, GranteePrincipal: grantee(1), Operations: ['Decrypt'] });
    const results = {
      createGrantNone: await run('CreateGrant, key without grants', 'CreateGrant', createGrant(bare.Arn)),
      createGrantMany: await run(`CreateGrant, key with ${grantCount}`, 'CreateGrant', createGrant(many.Arn)),
      createGrantNamed: await run(
        `CreateGrant, a Name again, key with ${grantCount}`,
        'CreateGrant',
        JSON.stringify({ ...JSON.parse(createGrant(many.Arn)), Name: 'retried' }),
      ),
      encryptMany: await run(`Encrypt 1 KiB, key with ${grantCount}`, 'Encrypt', encryptBody(many.Arn)),
      listAll: await run('ListGrants, first page', 'ListGrants', JSON.stringify({ KeyId: many.Arn, Limit: 100 })),
      listGrantee: await run(
        "ListGrants, one grantee's first page",
        'ListGrants',
        JSON.stringify({ KeyId: many.Arn, Limit: 100, GranteePrincipal: grantee(0) }),
      ),
    };
    await trent.stop();
    const ratio = results.createGrantMany.requestsPerSecond / results.createGrantNone.requestsPerSecond;
    console.log(`
grants on the key              ${grantCount}
Encrypt alone, first use       ${firstUseMs.toFixed(1)} ms (key without grants, used: ${warmNoneMs.toFixed(1)} ms)
CreateGrant c16, no grants     ${Math.round(results.createGrantNone.requestsPerSecond)} req/s
CreateGrant c16, many grants   ${Math.round(results.createGrantMany.requestsPerSecond)} req/s: ${(ratio * 100).toFixed(0)}% of it
  with a Name, again           ${Math.round(results.createGrantNamed.requestsPerSecond)} req/s
Encrypt 1 KiB c16, many grants ${Math.round(results.encryptMany.requestsPerSecond)} req/s
ListGrants p50, all / grantee  ${results.listAll.p50Ms.toFixed(2)} / ${results.listGrantee.p50Ms.toFixed(2)} ms`);
    const path = writeResults(join(process.cwd(), 'bench', 'results'), startedAt, {
      kind: 'grants',
      startedAt: startedAt.toISOString(),
      grants: grantCount,
      warmNoneMs,
      firstUseMs,
      createGrantManyOverNone: ratio,
      ...results,
    });
    console.log(`results: ${path}`);
    return 0;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
