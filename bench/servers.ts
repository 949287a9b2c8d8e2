import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Starts and stops the servers under test: Trent (bin/trent, a fresh data directory, secure mode),
 * moto (`moto_server`, the peer) and, on request, the bare HTTP + AES-GCM limit (bare-server.ts).
 * Every child and temporary directory is registered so that `cleanUp()` can remove them on any
 * exit path, Ctrl-C included.
 */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * trent: the default start, as a user types it (`defaultWorkers`: one process on up to two cores);
 * trentN: `--workers auto`, one worker per core, so that trentN/trent is what the workers gain;
 * trent1: `--workers 1`; trentB: the default start of another checkout (`--b-root`), the B of an
 * A/B; bare / bare2: the bare limit on one process and on two (one per core of the benchmark machine).
 */
export type TargetName = 'trent' | 'trentB' | 'trent1' | 'trentN' | 'moto' | 'bare' | 'bare2';

export interface Target {
  name: TargetName;
  url: URL;
  credentials: Credentials;
  /** Server process id, for its CPU time (a pyenv shim execs python, so this is python's pid). */
  pid: number;
  /** The data directory (Trent only), for admin commands that set up a measurement. */
  dataDir: string | undefined;
  /** Trent's `--store`, when not the data directory's SQLite file: admin commands need it too. */
  store?: string;
  /** Trent's server processes: its cluster workers, or 1 when it runs without a cluster. */
  workers?: number;
  /** Set once the process has exited; a benchmark that sees it reports a crash. */
  exited(): boolean;
  /** The last few KiB the server wrote to stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

export const REGION = 'us-east-1';

/** What makes `trentB` differ from `trent`: where it runs from, and what its environment adds. */
export interface BSide {
  root?: string;
  env?: Record<string, string>;
}

/**
 * The key quota of the bench's Trent servers (TRENT_KEY_QUOTA, unless set): CreateKey at three
 * concurrencies makes ~20,000 keys a round on a fast VM, more than the default 100,000 in five
 * rounds. The quota costs the same whatever its value (a count kept by triggers, one row read).
 */
const BENCH_KEY_QUOTA = 10_000_000;
const START_TIMEOUT_MS = 30_000;
const OUTPUT_KEPT = 16 * 1024;
const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/**
 * `--log-level info`, not warn: the "Trent is ready" line that carries the port is an info line,
 * and with `--port 0` it is the only way to learn the port. Successful requests log at debug, so
 * the level costs nothing on the measured path.
 *
 * `workers`: 1 (`--workers 1`, target trent1), `auto` (target trentN), or `default` — no worker
 * setting at all, not even an inherited TRENT_WORKERS: the default start (target trent).
 */
export async function startTrent(
  nodeArgs: string[] = [],
  workers: 1 | 'auto' | 'default' = 1,
  existingDataDir?: string,
  /**
   * The target `trentB`, default start: another checkout (built) to run instead of this one,
   * and/or more environment variables for it (`--b-env`).
   */
  b?: BSide,
): Promise<Target> {
  // A given data directory is the caller's to remove; a fresh one is removed when Trent stops.
  const dataDir = existingDataDir ?? mkdtempSync(join(tmpdir(), 'trent-bench-'));
  tempDirs.add(dataDir);
  // TRENT_BENCH_SERVER_ARGS (space-separated) passes extra flags, e.g. `--dev --audit off`.
  const extra = (process.env.TRENT_BENCH_SERVER_ARGS ?? '').split(' ').filter((a) => a !== '');
  // TRENT_BENCH_NODE_ARGS (space-separated) passes flags to node itself, e.g. V8's heap sizes.
  const nodeExtra = (process.env.TRENT_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const args = ['server', '--data-dir', dataDir, '--port', '0', '--log-level', 'info'];
  if (workers !== 'default') args.push('--workers', String(workers));
  args.push(...extra);
  const env = { ...process.env };
  delete env.TRENT_WORKERS;
  env.TRENT_KEY_QUOTA ??= String(BENCH_KEY_QUOTA);
  Object.assign(env, b?.env);
  const bin = join(b?.root ?? PROJECT_ROOT, 'bin/trent');
  const child = launch(process.execPath, [...nodeExtra, ...nodeArgs, bin, ...args], env);
  const log = capture(child);
  const url = await waitFor(child, log, 'Trent', () => {
    const m = /"url":"(http:\/\/[^"]+)"[^\n]*Trent is ready/.exec(log.text());
    return m?.[1];
  });
  const credentials = readCredentials(join(dataDir, 'credentials'));
  const name = b !== undefined ? 'trentB' : workers === 1 ? 'trent1' : workers === 'auto' ? 'trentN' : 'trent';
  const started = target(name, new URL(url), credentials, child, log, dataDir, existingDataDir === undefined);
  // The cluster primary logs its workers before the ready line; a single process logs none.
  const cluster = /"workers":(\d+)[^\n]*workers listening/.exec(log.text());
  started.workers = cluster?.[1] === undefined ? 1 : Number(cluster[1]);
  const store = extra.indexOf('--store');
  if (store >= 0 && extra[store + 1] !== undefined) started.store = extra[store + 1];
  return started;
}

/** Returns undefined when moto_server is not on PATH. */
export async function startMoto(): Promise<Target | undefined> {
  if (!onPath('moto_server')) return undefined;
  const port = await freePort();
  const child = launch('moto_server', ['-H', '127.0.0.1', '-p', String(port)]);
  const log = capture(child);
  const url = `http://127.0.0.1:${port}`;
  // moto prints its banner before the socket accepts; poll until it answers instead.
  let answered = false;
  void pollUntilAnswering(url).then(() => (answered = true));
  await waitFor(child, log, 'moto', () => (answered ? url : undefined));
  // moto accepts any access key and does not check signatures.
  const credentials = { accessKeyId: 'AKIAMOTOBENCH', secretAccessKey: 'moto-bench-secret' };
  return target('moto', new URL(url), credentials, child, log, undefined);
}

export async function startBare(workers = 1): Promise<Target> {
  const script = join(PROJECT_ROOT, 'dist', 'bench', 'bare-server.js');
  const child = launch(process.execPath, [script, '--workers', String(workers)]);
  const log = capture(child);
  const ready = () => /\{"url":"([^"]+)"\}/.exec(log.text())?.[1];
  const url = await waitFor(child, log, 'the bare server', ready);
  const credentials = { accessKeyId: 'AKIABAREBENCH', secretAccessKey: 'unchecked' };
  return target(workers === 1 ? 'bare' : 'bare2', new URL(url), credentials, child, log, undefined);
}

/** Synchronous, so that it also works from an 'exit' handler. */
export function cleanUp(): void {
  for (const child of children) killGroup(child, 'SIGKILL');
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// A process group of its own, so that stopping it also stops anything it spawned (the pyenv
// shim's exec chain, werkzeug threads) and a terminal's Ctrl-C reaches us first, not it.
function launch(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

interface Log {
  text(): string;
}

// Keeps only the tail, and keeps reading: a full pipe would stall the server mid-benchmark.
function capture(child: ChildProcess): Log {
  let text = '';
  const append = (chunk: Buffer) => {
    text += chunk.toString();
    if (text.length > 4 * OUTPUT_KEPT) text = text.slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return { text: () => text.slice(-OUTPUT_KEPT) };
}

/** The server's URL once it is ready to serve, else undefined. */
type Ready = () => string | undefined;

function waitFor(child: ChildProcess, log: Log, name: string, ready: Ready): Promise<string> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearInterval(timer);
      clearTimeout(deadline);
      killGroup(child, 'SIGKILL');
      reject(new Error(`${name} ${why}:\n${log.text()}`));
    };
    const timer = setInterval(() => {
      const url = ready();
      if (url === undefined) return;
      clearInterval(timer);
      clearTimeout(deadline);
      child.off('exit', onExit);
      resolve(url);
    }, 50);
    const timeout = `did not start in ${START_TIMEOUT_MS / 1000} s`;
    const deadline = setTimeout(() => fail(timeout), START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      fail(`exited (${code ?? signal})`);
    };
    child.once('exit', onExit);
    child.once('error', (err) => fail(`could not be started: ${err.message}`));
  });
}

async function pollUntilAnswering(url: string): Promise<void> {
  for (let i = 0; i < START_TIMEOUT_MS / 100; i++) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function target(
  name: Target['name'],
  url: URL,
  credentials: Credentials,
  child: ChildProcess,
  log: Log,
  dataDir: string | undefined,
  removeDataDir = true,
): Target {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    url,
    credentials,
    pid: child.pid ?? -1,
    dataDir,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    output: log.text,
    async stop() {
      killGroup(child, 'SIGTERM');
      // Trent finishes in-flight requests and closes its store; don't wait forever for it.
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      if (dataDir !== undefined && removeDataDir) {
        rmSync(dataDir, { recursive: true, force: true });
        tempDirs.delete(dataDir);
      }
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The access key in a Trent data directory's `credentials` file (profile `default`). */
export function readCredentials(path: string): Credentials {
  const text = readFileSync(path, 'utf8');
  const accessKeyId = /aws_access_key_id = (\S+)/.exec(text)?.[1];
  const secretAccessKey = /aws_secret_access_key = (\S+)/.exec(text)?.[1];
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new Error(`no credentials in ${path}`);
  }
  return { accessKeyId, secretAccessKey };
}

export function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

// moto_server needs a concrete port. Another process could take it before moto binds; then moto
// exits and startMoto reports that, which is good enough for a benchmark.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
