import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CASES, type Case, type Setup, setUp } from './cases.js';
import { DEFAULT_PREWARM_SECONDS, type LoadResult, loadClient, measure, type WarmUpLoad, warmUp } from './load.js';
import {
  abReport,
  errorReport,
  formatTable,
  medianByRate,
  noiseReport,
  type Row,
  rampReport,
  writeResults,
} from './report.js';
import {
  type BSide,
  type Credentials,
  cleanUp,
  startBare,
  startMoto,
  startTrent,
  type Target,
  type TargetName,
} from './servers.js';
import { Signer } from './signer.js';

/**
 * `npm run bench`: Trent against moto, side by side in one run, on the hot cryptographic
 * operations. A benchmark, not a test: it reports figures and fails only when requests fail.
 * Trent is measured as a user starts it (`trent`: the default start — one process on up to two
 * cores, one worker per core above that) and, on the operations the bare server has, with one
 * worker per core (`trentN`: `--workers auto`); the `TxN/T` column is what the workers gain on this
 * machine (docs/multi-process.md). `trent1` (`--workers 1`) is there to ask for by name.
 *
 *   --duration N     seconds per measurement (default 4), after a warm-up
 *   --warmup N       seconds of warm-up per measurement (default 1)
 *   --prewarm N      seconds of load per server before its first measurement, shared among the
 *                    run's operations at concurrency 16 (default 10; see load.ts)
 *   --targets L      comma-separated, of trent (the default start), trentN (--workers auto), trent1
 *                    (--workers 1), moto, bare, bare2 (the bare limit on one process and on two);
 *                    default all but trent1
 *   --only NAME      one target: trent, trentN, trent1 or moto (the same as --targets NAME)
 *   --concurrency L  comma-separated (default 1,16,64)
 *   --case TEXT      only the operations whose label contains TEXT (e.g. 'Encrypt 1')
 *   --rounds N       measure each row N times, the targets alternating round by round, and report
 *                    each target's median round (default 1; every round is in the JSON results)
 *   --b-root DIR     also measure `trentB`: Trent from another checkout (built: its dist/), started
 *                    as `trent` is, measured wherever `trent` is, alternating with it round by round;
 *                    prints B/A, the median of the rounds' ratios (an A/B of two commits in one run)
 *   --b-env 'N=V …'  also measure `trentB` as above, with these environment variables added
 *                    (e.g. TRENT_AUDIT_COMMIT=thread); from this checkout unless --b-root says
 *   --cpu-prof       run Trent under node --cpu-prof; the profile lands in bench/results/
 *   --postgres       instead: SQLite vs PostgreSQL vs two PostgreSQL nodes (bench/postgres-modes.ts)
 *   --scale          instead: Trent with 100,000 keys in the store (bench/scale.ts)
 *   --asymmetric     instead: costly asymmetric operations alone and beside Encrypt (bench/asymmetric.ts)
 *   --split          instead: one process against two that share nothing, and the cluster (bench/split.ts)
 *   --grants         instead: a key holding 10,000 grants beside one holding none (bench/grants.ts)
 */
const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');

interface Options {
  durationMs: number;
  warmupMs: number;
  prewarmMs: number;
  targets: TargetName[];
  concurrencies: number[];
  caseFilter: string | undefined;
  cpuProf: boolean;
  rounds: number;
  /** How `trentB` differs from `trent` (--b-root, --b-env); undefined: no trentB. */
  b: BSide | undefined;
}

const DEFAULT_TARGETS: readonly TargetName[] = ['trent', 'trentN', 'moto', 'bare', 'bare2'];
const ALL_TARGETS: readonly TargetName[] = [...DEFAULT_TARGETS, 'trent1', 'trentB'];

async function main(): Promise<number> {
  // `--postgres`: the storage modes (SQLite, PostgreSQL, two PostgreSQL nodes), bench/postgres-modes.ts.
  if (process.argv.includes('--postgres')) {
    return (await import('./postgres-modes.js')).runPostgresModes(process.argv.slice(2));
  }
  // `--asymmetric`: the costly asymmetric operations, alone and beside Encrypt, bench/asymmetric.ts.
  if (process.argv.includes('--asymmetric')) {
    return (await import('./asymmetric.js')).runAsymmetric(process.argv.slice(2));
  }
  if (process.argv.includes('--split')) {
    return (await import('./split.js')).runSplit(process.argv.slice(2));
  }
  if (process.argv.includes('--grants')) {
    return (await import('./grants.js')).runGrants(process.argv.slice(2));
  }
  if (process.argv.includes('--scale')) {
    return (await import('./scale.js')).runScale(process.argv.slice(2));
  }
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const targets = await startTargets(options);
  const setups = new Map<Target, Setup>();
  for (const target of targets) setups.set(target, await setUp(target));

  const cases = CASES.filter((c) => options.caseFilter === undefined || c.label.includes(options.caseFilter));
  const rows: Row[] = [];
  let crash: string | undefined;
  try {
    for (const target of targets) {
      const loads: WarmUpLoad[] = [];
      for (const c of cases) {
        if (c.warmUp === false) continue;
        const request = requestFor(target, c, setups.get(target)!);
        if (request !== undefined) loads.push(request);
      }
      console.error(`${target.name}: warming up, ${options.prewarmMs / 1000} s over ${loads.length} operations`);
      await warmUp(target, loads, options.prewarmMs);
    }
    // Targets alternate within each row, so that drift on the machine hits both alike.
    for (const c of cases) {
      for (const concurrency of options.concurrencies) {
        if (c.concurrencies !== undefined && !c.concurrencies.includes(concurrency)) continue;
        const row: Row = { operation: c.label, concurrency };
        const measured = new Map<TargetName, LoadResult[]>();
        for (let round = 0; round < options.rounds; round++) {
          for (const target of targets) {
            const request = requestFor(target, c, setups.get(target)!);
            if (request === undefined) continue;
            const result = await measureOne(target, c, request, concurrency, options);
            measured.set(target.name, [...(measured.get(target.name) ?? []), result]);
          }
        }
        for (const [name, results] of measured) row[name] = medianByRate(results);
        if (options.rounds > 1) row.rounds = Object.fromEntries(measured);
        rows.push(row);
      }
    }
  } catch (err) {
    crash = err instanceof Error ? err.message : String(err);
  }
  await Promise.all(targets.map((t) => t.stop()));
  return finish({ startedAt, targets, rows, crash }, options);
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      prewarm: { type: 'string', default: String(DEFAULT_PREWARM_SECONDS) },
      targets: { type: 'string', default: DEFAULT_TARGETS.join(',') },
      only: { type: 'string' },
      concurrency: { type: 'string', default: '1,16,64' },
      case: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      rounds: { type: 'string', default: '1' },
      'b-root': { type: 'string' },
      'b-env': { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds takes a positive integer, not '${values.rounds}'`);
  const single = ['trent', 'trentN', 'trent1', 'moto'];
  if (values.only !== undefined && !single.includes(values.only)) {
    throw new Error(`--only takes ${single.join(', ')}, not '${values.only}'`);
  }
  const bRoot = values['b-root'] === undefined ? undefined : resolve(values['b-root']);
  if (bRoot !== undefined && !existsSync(join(bRoot, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error(`--b-root ${bRoot}: no built Trent there (run npm ci or npx tsc -p . in it)`);
  }
  const bEnv = values['b-env'] === undefined ? undefined : environment(values['b-env']);
  const b = bRoot === undefined && bEnv === undefined ? undefined : { root: bRoot, env: bEnv };
  const targets = targetList(values.only ?? values.targets);
  // --b-root or --b-env alone adds trentB beside the targets asked for; it runs only with trent.
  if (b !== undefined && !targets.includes('trentB')) targets.splice(targets.indexOf('trent') + 1, 0, 'trentB');
  if (targets.includes('trentB') && (b === undefined || !targets.includes('trent'))) {
    throw new Error('trentB needs --b-root DIR or --b-env, and the target trent to compare with');
  }
  return {
    durationMs: seconds('duration', values.duration),
    warmupMs: seconds('warmup', values.warmup),
    prewarmMs: seconds('prewarm', values.prewarm),
    targets,
    concurrencies: concurrencyList(values.concurrency),
    caseFilter: values.case,
    cpuProf: values['cpu-prof'],
    rounds,
    b,
  };
}

function describeB(b: BSide | undefined): string {
  const env = Object.entries(b?.env ?? {}).map(([name, value]) => `${name}=${value}`);
  return [b?.root === undefined ? 'this checkout' : b.root, ...env].join(', ');
}

/** `--b-env 'NAME=value NAME=value'`: variables separated by spaces, values without spaces. */
function environment(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text.split(' ').filter((p) => p !== '')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
    if (m === null) throw new Error(`--b-env takes NAME=value pairs separated by spaces, not '${pair}'`);
    env[m[1] as string] = m[2] as string;
  }
  if (Object.keys(env).length === 0) throw new Error('--b-env takes at least one NAME=value');
  return env;
}

function targetList(text: string): TargetName[] {
  const list = text.split(',');
  for (const name of list) {
    if (!(ALL_TARGETS as readonly string[]).includes(name)) {
      throw new Error(`--targets takes names from ${ALL_TARGETS.join(', ')}, not '${name}'`);
    }
  }
  return list as TargetName[];
}

function seconds(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} takes seconds, not '${text}'`);
  return n * 1000;
}

function concurrencyList(text: string): number[] {
  const list = text.split(',').map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--concurrency takes positive integers separated by commas, not '${text}'`);
  }
  return list;
}

async function startTargets(options: Options): Promise<Target[]> {
  const targets: Target[] = [];
  // The profile is written when Trent exits, which it does cleanly on the SIGTERM of stop().
  const nodeArgs = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', RESULTS_DIR] : [];
  const wanted = (name: TargetName) => options.targets.includes(name);
  if (wanted('trent')) targets.push(await startTrent(nodeArgs, 'default'));
  if (wanted('trentB')) targets.push(await startTrent(nodeArgs, 'default', undefined, options.b));
  if (wanted('trentN')) targets.push(await startTrent(nodeArgs, 'auto'));
  if (wanted('trent1')) targets.push(await startTrent(nodeArgs, 1));
  if (wanted('moto')) {
    const moto = await startMoto();
    if (moto !== undefined) targets.push(moto);
    else console.error('moto_server is not installed (not on PATH): not measured.');
  }
  if (wanted('bare')) targets.push(await startBare(1));
  if (wanted('bare2')) targets.push(await startBare(2));
  if (targets.length === 0) throw new Error('nothing to benchmark');
  for (const t of targets) {
    const workers = t.workers === undefined ? '' : `, ${t.workers} ${t.workers === 1 ? 'process' : 'workers'}`;
    console.error(`${t.name}: ${t.url.origin} (pid ${t.pid}${workers})`);
  }
  return targets;
}

/** The targets measured on the operations the bare server lacks too. */
const BEYOND_THE_LIMIT: ReadonlySet<TargetName> = new Set(['trent', 'trentB', 'moto']);

/**
 * What `target` is sent for case `c`: undefined where it is not measured — a target that cannot do
 * it, a caller it does not have, or (for all but one process and moto) an operation the bare server
 * lacks: one process and the bare limit are measured where the limit is.
 */
function requestFor(target: Target, c: Case, setup: Setup): WarmUpLoad | undefined {
  if (!BEYOND_THE_LIMIT.has(target.name) && c.bare === false) return undefined;
  const body = c.body(setup);
  if (body === undefined) return undefined;
  const credentials: Credentials | undefined = c.credentials === undefined ? target.credentials : c.credentials(setup);
  return credentials === undefined
    ? undefined
    : { signer: new Signer(target, credentials), operation: c.operation, body };
}

async function measureOne(
  target: Target,
  c: Case,
  request: WarmUpLoad,
  concurrency: number,
  options: Options,
): Promise<LoadResult> {
  const result = await measure({
    ...request,
    target,
    concurrency,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
  });
  if (target.exited()) {
    const where = `${c.label} at concurrency ${concurrency}`;
    throw new Error(`${target.name} exited during ${where}:\n${target.output()}`);
  }
  console.error(progressLine(target, c, concurrency, result));
  return result;
}

function progressLine(target: Target, c: Case, concurrency: number, result: LoadResult): string {
  const errors = result.errors > 0 ? `, ${result.errors} ERRORS` : '';
  const others = percent(result.otherCpuMs, result);
  return (
    `  ${target.name.padEnd(6)} ${c.label.padEnd(16)} c=${String(concurrency).padEnd(2)} ` +
    `${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, ` +
    `p99 ${result.p99Ms.toFixed(2)} ms, p99.9 ${result.p999Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(1)} ms, ` +
    `RSS ${Math.round(result.peakRssMb ?? 0)} MB; ` +
    `CPU server ${percent(result.serverCpuMs, result)} (main thread ${percent(result.mainThreadCpuMs, result)}), ` +
    `client ${percent(result.clientCpuMs, result)}, others ${others}, irq ${percent(result.interruptCpuMs, result)}, ` +
    `steal ${percent(result.stealCpuMs, result)}${errors}`
  );
}

function percent(cpuMs: number | undefined, result: LoadResult): string {
  return cpuMs === undefined ? '-' : `${Math.round((cpuMs / result.elapsedMs) * 100)}%`;
}

interface Run {
  startedAt: Date;
  targets: Target[];
  rows: Row[];
  /** Why the run stopped early, if it did. */
  crash: string | undefined;
}

/** Prints the table and the warnings, writes the JSON; returns the exit code. */
function finish({ startedAt, targets, rows, crash }: Run, options: Options): number {
  console.log(`\n${formatTable(rows)}\n`);
  const ab = abReport(rows);
  if (ab !== '') console.log(`B: ${describeB(options.b)}\n${ab}\n`);
  console.log(machineLine());
  const path = writeResults(RESULTS_DIR, startedAt, {
    startedAt: startedAt.toISOString(),
    machine: machine(),
    trentCommit: git(['rev-parse', 'HEAD']),
    trentSourceModified: (git(['status', '--porcelain', '--', 'src']) ?? '') !== '',
    motoVersion: targets.some((t) => t.name === 'moto') ? motoVersion() : undefined,
    trentWorkers: Object.fromEntries(targets.filter((t) => t.workers !== undefined).map((t) => [t.name, t.workers])),
    options,
    rows,
    crash,
  });
  console.log(`results: ${path}`);
  const noise = noiseReport(rows);
  if (noise !== '') {
    console.error(`\nWARNING: the machine was busy with more than the benchmark; these figures are disturbed:`);
    console.error(noise);
  }
  const ramp = rampReport(rows);
  if (ramp !== '') {
    console.error(
      `\nNOTE: these latencies include waits for new connections to be accepted (bench/report.ts, rampReport):`,
    );
    console.error(ramp);
  }
  const errors = errorReport(rows);
  if (crash !== undefined) shout(`THE BENCHMARK STOPPED: ${crash}`);
  if (errors !== '') shout(`REQUESTS FAILED — figures marked ! are not valid:\n${errors}`);
  return crash !== undefined || errors !== '' ? 1 : 0;
}

function shout(message: string): void {
  const bar = '!'.repeat(78);
  console.error(`\n${bar}\n${message}\n${bar}\n`);
}

function machine(): object {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadClient: loadClient(),
  };
}

function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `machine: ${availableParallelism()} CPUs (${cpu}), node ${process.version}; load generator ${loadClient()}`;
}

function git(args: string[]): string | undefined {
  const r = spawnSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

// Best effort: the python that moto_server's pyenv shim runs is the one `python` finds.
function motoVersion(): string | undefined {
  const script = 'import moto; print(moto.__version__)';
  const r = spawnSync('python', ['-c', script], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

// Ctrl-C and kill: stop the servers and remove Trent's data directory before going.
process.once('SIGINT', () => {
  cleanUp();
  process.exit(130);
});
process.once('SIGTERM', () => {
  cleanUp();
  process.exit(143);
});
process.once('exit', cleanUp);

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    cleanUp();
    process.exitCode = 1;
  },
);
