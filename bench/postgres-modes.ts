import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { setUp } from './cases.js';
import { DEFAULT_PREWARM_SECONDS, measure, warmUp } from './load.js';
import { startTrent, type Target } from './servers.js';
import { Signer } from './signer.js';

/**
 * `npm run bench -- --postgres`: Encrypt (on a cached key) and CreateKey rates for one Trent node
 * on SQLite, one node on PostgreSQL, and two nodes on one PostgreSQL database with the load spread
 * evenly over both, in one run, reported as rates and as ratios to the SQLite node.
 *
 *   --duration N      seconds per measurement (default 5), after a warm-up
 *   --warmup N        seconds of warm-up (default 1)
 *   --prewarm N       seconds of Encrypt per node before a mode's first measurement (default 10;
 *                     see load.ts)
 *   --concurrency N   request loops in all (default 32; two nodes get N/2 each)
 *
 * The database: TRENT_BENCH_POSTGRES_URL, else TRENT_TEST_POSTGRES_URL, else
 * postgres://postgres@127.0.0.1:5432/test; each run uses a fresh schema and drops it after.
 */
const POSTGRES_URL =
  process.env.TRENT_BENCH_POSTGRES_URL ||
  process.env.TRENT_TEST_POSTGRES_URL ||
  'postgres://postgres@127.0.0.1:5432/test';

interface Mode {
  name: string;
  nodes: Target[];
}

interface Figures {
  encrypt: number;
  createKey: number;
  errors: number;
}

export async function runPostgresModes(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--postgres'),
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      prewarm: { type: 'string', default: String(DEFAULT_PREWARM_SECONDS) },
      concurrency: { type: 'string', default: '32' },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const concurrency = Number(values.concurrency);
  if (!(durationMs > 0) || !(warmupMs >= 0) || !Number.isInteger(concurrency) || concurrency < 2) {
    throw new Error('--duration and --warmup are seconds; --concurrency an integer of 2 or more');
  }

  // Every node of every mode shares one root key (the two PostgreSQL nodes must).
  process.env.TRENT_ROOT_KEY = randomBytes(32).toString('base64');
  const schema = `trent_bench_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE SCHEMA ${schema}`);
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('max', '20');
  const previousArgs = process.env.TRENT_BENCH_SERVER_ARGS ?? '';
  const results = new Map<string, Figures>();
  try {
    const modes: Array<() => Promise<Mode>> = [
      async () => ({ name: 'SQLite, 1 node', nodes: [await startTrent()] }),
      async () => ({ name: 'PostgreSQL, 1 node', nodes: [await withStore(url.toString(), startTrent)] }),
      async () => {
        const first = await withStore(url.toString(), startTrent);
        const second = await withStore(url.toString(), startTrent);
        return { name: 'PostgreSQL, 2 nodes', nodes: [first, second] };
      },
    ];
    for (const start of modes) {
      const mode = await start();
      try {
        const figures = await measureMode(mode, concurrency, warmupMs, durationMs, Number(values.prewarm) * 1000);
        results.set(mode.name, figures);
        console.log(
          `${mode.name.padEnd(22)} Encrypt ${figures.encrypt.toFixed(0).padStart(7)}/s   CreateKey ${figures.createKey
            .toFixed(0)
            .padStart(7)}/s${figures.errors > 0 ? `   ${figures.errors} ERRORS` : ''}`,
        );
      } finally {
        await Promise.all(mode.nodes.map((n) => n.stop()));
      }
    }
  } finally {
    process.env.TRENT_BENCH_SERVER_ARGS = previousArgs;
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  }

  const base = results.get('SQLite, 1 node');
  console.log(
    `\nmachine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}; ` +
      `concurrency ${concurrency}, ${durationMs / 1000} s per figure`,
  );
  console.log('ratios to one node on SQLite:');
  for (const [name, f] of results) {
    const ratio = (x: number, y: number | undefined) => (y ? (x / y).toFixed(2) : 'n/a');
    console.log(
      `  ${name.padEnd(22)} Encrypt ×${ratio(f.encrypt, base?.encrypt)}   CreateKey ×${ratio(f.createKey, base?.createKey)}`,
    );
  }
  const failed = [...results.values()].some((f) => f.errors > 0);
  if (failed) console.error('\nREQUESTS FAILED: the figures above are not valid.');
  return failed ? 1 : 0;
}

async function withStore(store: string, start: () => Promise<Target>): Promise<Target> {
  const previous = process.env.TRENT_BENCH_SERVER_ARGS;
  process.env.TRENT_BENCH_SERVER_ARGS = `${previous ?? ''} --store ${store}`.trim();
  try {
    return await start();
  } finally {
    process.env.TRENT_BENCH_SERVER_ARGS = previous ?? '';
  }
}

/** Encrypt and CreateKey, each with the loops spread evenly over the mode's nodes, rates summed. */
async function measureMode(
  mode: Mode,
  concurrency: number,
  warmupMs: number,
  durationMs: number,
  prewarmMs: number,
): Promise<Figures> {
  const setups = await Promise.all(mode.nodes.map((n) => setUp(n)));
  // Both nodes encrypt under one key (made on the first), as clients behind a load balancer would.
  const keyId = setups[0]?.keyId ?? '';
  const plaintext = setups[0]?.plaintext1k ?? '';
  const per = Math.max(1, Math.floor(concurrency / mode.nodes.length));
  const run = async (operation: string, body: string) => {
    const results = await Promise.all(
      mode.nodes.map((target) =>
        measure({ target, signer: new Signer(target), operation, body, concurrency: per, warmupMs, durationMs }),
      ),
    );
    return {
      rate: results.reduce((sum, r) => sum + r.requestsPerSecond, 0),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
    };
  };
  const encryptBody = JSON.stringify({ KeyId: keyId, Plaintext: plaintext });
  await Promise.all(
    mode.nodes.map((target) =>
      warmUp(target, [{ signer: new Signer(target), operation: 'Encrypt', body: encryptBody }], prewarmMs),
    ),
  );
  const encrypt = await run('Encrypt', encryptBody);
  const createKey = await run('CreateKey', JSON.stringify({ Description: 'bench' }));
  return { encrypt: encrypt.rate, createKey: createKey.rate, errors: encrypt.errors + createKey.errors };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
