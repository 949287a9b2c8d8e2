import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BodySequence,
  call,
  DEFAULT_PREWARM_SECONDS,
  type LoadResult,
  type LoadSpec,
  measure,
  sendEach,
  warmUp,
} from './load.js';
import { median, medianByRate, writeResults } from './report.js';
import { seedKeys } from './seed.js';
import { startTrent, type Target } from './servers.js';
import { Signer } from './signer.js';

/**
 * `npm run bench -- --scale`: Trent with many keys in its store (default 100,000, the default key
 * quota). The keys are seeded through Trent's own store and key repository (wrapped under the root
 * key like any key), with the per-commit fsync off because nothing serves the store yet. Then:
 *
 *   - start-up: from spawning `trent server` on the full store to its ready line, and its RSS;
 *   - Encrypt 1 KiB at concurrency 16 on one hot key, then on keys in a random order, each used for
 *     the first time (a key's first use: the most a key of the set costs), the two alternating for
 *     `--rounds` rounds, so that the machine's drift between measurements (±15% on a small VM)
 *     falls on both alike; the ratio reported is the median round's;
 *   - then Encrypt on a key drawn at random from all of them for every request, after every key
 *     was used once, and the hot key again (with every key cached, a hot key must cost what it did
 *     before). Every body is signed before the first measurement, so the client signs nothing
 *     while measuring;
 *   - ListKeys (Limit 100) at concurrency 1 on the first page, one in the middle and the last:
 *     a page costs the same wherever it starts;
 *   - the peak RSS after all that.
 *
 *   --keys N       keys to seed (default 100000)
 *   --duration N   seconds per measurement (default 4), after --warmup N (default 1)
 *   --rounds N     hot-key and first-use measurements, alternating (default 3)
 *   --prewarm N    seconds of load on the hot key before the first measurement (default 10; load.ts)
 *   --cpu-prof     run the measured Trent under node --cpu-prof (profile in bench/results/)
 */
export async function runScale(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'boolean' },
      keys: { type: 'string', default: '100000' },
      duration: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      prewarm: { type: 'string', default: String(DEFAULT_PREWARM_SECONDS) },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const keyCount = Number(values.keys);
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const rounds = Number(values.rounds);
  if (!Number.isInteger(keyCount) || keyCount < 1) throw new Error(`--keys takes a count, not '${values.keys}'`);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds takes a positive integer, not '${values.rounds}'`);
  const startedAt = new Date();
  const dataDir = mkdtempSync(join(tmpdir(), 'trent-scale-'));
  try {
    // First start: the root key, the account, the administrator's credentials; one key as the model.
    let trent = await startTrent([], 1, dataDir);
    const model = (await call(trent, 'CreateKey', { Description: 'scale model' })) as { KeyMetadata: { Arn: string } };
    await trent.stop();

    const seedStarted = performance.now();
    const keyIds = await seedKeys(dataDir, model.KeyMetadata.Arn, keyCount - 1);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    console.error(`seeded ${keyCount} keys in ${seedSeconds.toFixed(1)} s`);

    const spawned = performance.now();
    const resultsDir = join(process.cwd(), 'bench', 'results');
    trent = await startTrent(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resultsDir] : [], 1, dataDir);
    const startupMs = performance.now() - spawned;
    const rssAfterStartMb = rssMb(trent.pid);
    console.error(`start-up with ${keyCount} keys: ${Math.round(startupMs)} ms, RSS ${Math.round(rssAfterStartMb)} MB`);

    const plaintext = randomBytes(1024).toString('base64');
    const encryptBody = (keyId: string) => JSON.stringify({ KeyId: keyId, Plaintext: plaintext });
    const signer = new Signer(trent);
    const run = async (label: string, operation: string, body: LoadSpec['body'], concurrency: number) => {
      // The node client for every phase: the keys' first use needs it (a body of 100,000 a request),
      // and the hot key it is compared with must be sent alike.
      const spec = { target: trent, signer, operation, body, concurrency, warmupMs, durationMs };
      const result = await measure({ ...spec, client: 'node' });
      if (result.errors > 0) throw new Error(`${label}: ${result.errors} requests failed: ${result.errorSamples[0]}`);
      console.error(
        `  ${label.padEnd(28)} ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, ` +
          `p99 ${result.p99Ms.toFixed(2)} ms, RSS ${Math.round(result.peakRssMb ?? 0)} MB`,
      );
      return result;
    };
    const hotBody = encryptBody(keyIds[0] as string);
    const bodies = keyIds.map(encryptBody);
    for (const body of [hotBody, ...bodies]) signer.headers('Encrypt', body);
    // The server warms up on the hot key alone: the other keys' first use is part of what is measured.
    await warmUp(trent, [{ signer, operation: 'Encrypt', body: hotBody }], Number(values.prewarm) * 1000);
    const firstUses = new BodySequence(shuffle(bodies));
    const hotRounds: LoadResult[] = [];
    const firstUseRounds: LoadResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      const of = rounds > 1 ? ` (${round}/${rounds})` : '';
      hotRounds.push(await run(`Encrypt 1 KiB, hot key${of}`, 'Encrypt', hotBody, 16));
      firstUseRounds.push(await run(`Encrypt 1 KiB, first use${of}`, 'Encrypt', firstUses, 16));
    }
    const ratios = firstUseRounds.map((r, i) => r.requestsPerSecond / (hotRounds[i] as LoadResult).requestsPerSecond);
    const hot = medianByRate(hotRounds);
    const firstUse = medianByRate(firstUseRounds);
    // Then every key once, so that what the server caches per key is there for all of them.
    const warmStarted = performance.now();
    const failed = await sendEach({ target: trent, signer, operation: 'Encrypt', concurrency: 16 }, bodies);
    if (failed > 0) throw new Error(`${failed} requests failed while using every key once`);
    console.error(`  used every key once in ${((performance.now() - warmStarted) / 1000).toFixed(1)} s`);
    const randomWarm = await run('Encrypt 1 KiB, random, warm', 'Encrypt', bodies, 16);
    const hotWarm = await run('Encrypt 1 KiB, hot, warm', 'Encrypt', hotBody, 16);
    const listing = await listKeysPages(trent, keyCount);
    const pages: Record<string, LoadResult> = {};
    for (const [where, marker] of Object.entries(listing)) {
      const body = JSON.stringify(marker === undefined ? { Limit: 100 } : { Limit: 100, Marker: marker });
      pages[where] = await run(`ListKeys, ${where} page`, 'ListKeys', body, 1);
    }
    await trent.stop();

    const summary = {
      keys: keyCount,
      seedSeconds,
      startupMs,
      rssAfterStartMb,
      peakRssMb: pages.last?.peakRssMb,
      rounds,
      encryptHot: hot,
      encryptFirstUse: firstUse,
      encryptHotRounds: hotRounds,
      encryptFirstUseRounds: firstUseRounds,
      /** Each round's first-use rate over its hot-key rate. */
      firstUseOverHotRounds: ratios,
      firstUseOverHot: median(ratios),
      /** First-use requests that reused a key (the sequence ran out): 0 unless --keys is small. */
      firstUseRepeats: firstUses.repeated,
      encryptRandomWarm: randomWarm,
      randomWarmOverHot: randomWarm.requestsPerSecond / hot.requestsPerSecond,
      encryptHotWarm: hotWarm,
      randomWarmOverHotWarm: randomWarm.requestsPerSecond / hotWarm.requestsPerSecond,
      listKeys: pages,
    };
    console.log(`
keys in the store              ${keyCount}
start-up (spawn to ready)      ${Math.round(startupMs)} ms
RSS after start-up             ${Math.round(rssAfterStartMb)} MB
Encrypt 1 KiB c16, hot key     ${Math.round(hot.requestsPerSecond)} req/s (p99 ${hot.p99Ms.toFixed(2)} ms)
Encrypt 1 KiB c16, first use   ${Math.round(firstUse.requestsPerSecond)} req/s (p99 ${firstUse.p99Ms.toFixed(2)} ms): ${percent(summary.firstUseOverHot)} of hot (median of ${rounds} rounds: ${ratios.map(percent).join(' / ')})${firstUses.repeated > 0 ? `, ${firstUses.repeated} requests reused a key` : ''}
  the same, every key used once ${Math.round(randomWarm.requestsPerSecond)} req/s (p99 ${randomWarm.p99Ms.toFixed(2)} ms): ${(summary.randomWarmOverHot * 100).toFixed(0)}% of hot
  hot key, every key used once  ${Math.round(hotWarm.requestsPerSecond)} req/s (p99 ${hotWarm.p99Ms.toFixed(2)} ms): random ${(summary.randomWarmOverHotWarm * 100).toFixed(0)}% of it
ListKeys p50, first/middle/last page  ${Object.values(pages)
      .map((p) => `${p.p50Ms.toFixed(2)}`)
      .join(' / ')} ms
peak RSS                       ${Math.round(summary.peakRssMb ?? 0)} MB`);
    const path = writeResults(resultsDir, startedAt, {
      kind: 'scale',
      startedAt: startedAt.toISOString(),
      ...summary,
    });
    console.log(`results: ${path}`);
    return 0;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Markers for the first page (none), a page in the middle and the last page of ListKeys. */
async function listKeysPages(target: Target, keyCount: number): Promise<Record<string, string | undefined>> {
  const markers: (string | undefined)[] = [undefined];
  let marker: string | undefined;
  do {
    const page = (await call(
      target,
      'ListKeys',
      marker === undefined ? { Limit: 1000 } : { Limit: 1000, Marker: marker },
    )) as {
      NextMarker?: string;
    };
    marker = page.NextMarker;
    if (marker !== undefined) markers.push(marker);
  } while (marker !== undefined);
  if (markers.length < 3) throw new Error(`expected ${keyCount} keys to make several pages`);
  // A Limit-1000 page's marker is a valid start for a Limit-100 page: it carries the last key id.
  return { first: undefined, middle: markers[Math.floor(markers.length / 2)], last: markers[markers.length - 1] };
}

/** A copy in random order (Fisher–Yates). */
function shuffle<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(0)}%`;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}
