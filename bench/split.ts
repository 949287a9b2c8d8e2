import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { call, DEFAULT_PREWARM_SECONDS, type LoadResult, measure, warmUp } from './load.js';
import { median, writeResults } from './report.js';
import { startTrent, type Target } from './servers.js';
import { Signer } from './signer.js';

/**
 * `npm run bench -- --split`: how much more than one process any multi-process Trent could serve on
 * this machine. Encrypt 1 KiB, alternating in each round:
 *   - one   — one process (`--workers 1`) at concurrency C;
 *   - split — two separate Trent processes, each with a store of its own, at C/2 each at once: two
 *             processes that share nothing (no write lock, no IPC, no primary), the upper bound for
 *             any way of sharing one store;
 *   - workers — the cluster as `--workers auto` runs it (docs/multi-process.md).
 * The load generator is the same process for all three; its CPU is the machine's too.
 *
 *   --concurrency L  comma-separated, even (default 16,64)
 *   --rounds N       alternating rounds per concurrency (default 3)
 *   --duration N     seconds per measurement (default 4), after --warmup N (default 1)
 *   --prewarm N      seconds of load per server before the first round (default 10; see load.ts)
 */
export async function runSplit(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      split: { type: 'boolean' },
      concurrency: { type: 'string', default: '16,64' },
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      prewarm: { type: 'string', default: String(DEFAULT_PREWARM_SECONDS) },
    },
  });
  const concurrencies = values.concurrency.split(',').map(Number);
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 2 || c % 2 !== 0)) {
    throw new Error(`--concurrency takes even integers separated by commas, not '${values.concurrency}'`);
  }
  const rounds = Number(values.rounds);
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const startedAt = new Date();
  const plaintext = randomBytes(1024).toString('base64');

  const [one, other, workers] = [await startTrent([], 1), await startTrent([], 1), await startTrent([], 'auto')];
  const servers = [one, other, workers];
  try {
    const bodies = new Map<Target, string>();
    for (const target of servers) bodies.set(target, await encryptBody(target, plaintext));
    for (const target of servers) {
      const body = bodies.get(target) as string;
      await warmUp(target, [{ signer: new Signer(target), operation: 'Encrypt', body }], Number(values.prewarm) * 1000);
    }
    const load = (target: Target, concurrency: number) =>
      measure({
        target,
        signer: new Signer(target),
        operation: 'Encrypt',
        body: bodies.get(target) as string,
        concurrency,
        warmupMs,
        durationMs,
      });

    const results: SplitRound[] = [];
    for (const concurrency of concurrencies) {
      for (let round = 1; round <= rounds; round++) {
        const single = await load(one, concurrency);
        const halves = await Promise.all([load(one, concurrency / 2), load(other, concurrency / 2)]);
        const cluster = await load(workers, concurrency);
        const failed = [single, ...halves, cluster].find((r) => r.errors > 0);
        if (failed !== undefined) throw new Error(`requests failed: ${failed.errorSamples[0]}`);
        const split = halves.reduce((sum, r) => sum + r.requestsPerSecond, 0);
        const splitOverOne = split / single.requestsPerSecond;
        const workersOverOne = cluster.requestsPerSecond / single.requestsPerSecond;
        results.push({ concurrency, round, single, halves, cluster, splitOverOne, workersOverOne });
        console.error(
          `  c=${concurrency} round ${round}: one ${rps(single)} req/s, split ${Math.round(split)} ` +
            `(${halves.map(rps).join(' + ')}) = ${ratio(splitOverOne)}, workers ${rps(cluster)} = ` +
            `${ratio(workersOverOne)}; steal ${steal([single, halves[0] as LoadResult, cluster])}`,
        );
      }
    }
    console.log('\nEncrypt 1 KiB, two processes against one (median of the rounds):');
    for (const concurrency of concurrencies) {
      const these = results.filter((r) => r.concurrency === concurrency);
      console.log(
        `  c=${String(concurrency).padEnd(3)} split (two stores, nothing shared) ${ratio(median(these.map((r) => r.splitOverOne)))}` +
          `, --workers ${workers.workers ?? '?'} ${ratio(median(these.map((r) => r.workersOverOne)))}`,
      );
    }
    const path = writeResults(join(process.cwd(), 'bench', 'results'), startedAt, {
      kind: 'split',
      startedAt: startedAt.toISOString(),
      workers: workers.workers,
      results,
    });
    console.log(`results: ${path}`);
    return 0;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

interface SplitRound {
  concurrency: number;
  round: number;
  single: LoadResult;
  halves: LoadResult[];
  cluster: LoadResult;
  splitOverOne: number;
  workersOverOne: number;
}

async function encryptBody(target: Target, plaintext: string): Promise<string> {
  const created = (await call(target, 'CreateKey', { Description: 'split bench' })) as {
    KeyMetadata: { KeyId: string };
  };
  return JSON.stringify({ KeyId: created.KeyMetadata.KeyId, Plaintext: plaintext });
}

function rps(result: LoadResult): string {
  return String(Math.round(result.requestsPerSecond));
}

function ratio(x: number): string {
  return `${x.toFixed(2)}×`;
}

/** The hypervisor's steal over the round's measurements (the halves ran at once: one counts), as a share of one CPU. */
function steal(results: LoadResult[]): string {
  const ms = results.reduce((sum, r) => sum + (r.stealCpuMs ?? 0), 0);
  const elapsed = results.reduce((sum, r) => sum + r.elapsedMs, 0);
  return `${Math.round((ms / elapsed) * 100)}% of a CPU`;
}
