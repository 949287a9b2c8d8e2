import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KMSClient } from '@aws-sdk/client-kms';

/**
 * Starts a real Trent server process (bin/trent server) on a free port in a fresh data directory,
 * and reads its administrator credentials — the way a user would.
 */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const REGION = 'us-east-1';

export interface TestServer {
  url: string;
  dataDir: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  process: ChildProcess;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  client(options?: { region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } }): KMSClient;
  /** SIGTERM, and wait for the process to exit; returns its exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL. */
  kill(): Promise<void>;
  /** Stops, then removes the data directory. */
  destroy(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Server processes (TRENT_WORKERS): 1 unless asked — the plain start runs one per core, and the
   * suite starts many servers side by side — a count, `auto`, or `default`: no worker setting at
   * all, the start a user types. A `--workers` in `args` wins over this.
   */
  workers?: number | 'auto' | 'default';
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'trent-test-'));
  const workers = options.workers ?? 1;
  const env: NodeJS.ProcessEnv = { ...process.env, TRENT_WORKERS: String(workers), ...options.env };
  if (workers === 'default') delete env.TRENT_WORKERS;
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/trent'), 'server', '--data-dir', dataDir, '--port', '0', ...(options.args ?? [])],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
    const onData = () => {
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*Trent is ready/.exec(output);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  const credentials = readCredentials(join(dataDir, 'credentials'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const server: TestServer = {
    url,
    dataDir,
    credentials,
    process: child,
    output: () => output,
    client: (o = {}) =>
      new KMSClient({
        endpoint: url,
        region: o.region ?? REGION,
        credentials: o.credentials ?? credentials,
        maxAttempts: 1,
      }),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    async destroy() {
      await server.stop();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

export function readCredentials(path: string): { accessKeyId: string; secretAccessKey: string } {
  const text = readFileSync(path, 'utf8');
  const accessKeyId = /aws_access_key_id = (\S+)/.exec(text)?.[1];
  const secretAccessKey = /aws_secret_access_key = (\S+)/.exec(text)?.[1];
  if (accessKeyId === undefined || secretAccessKey === undefined) throw new Error(`no credentials in ${path}`);
  return { accessKeyId, secretAccessKey };
}

function findRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'trent') return d;
    } catch {
      // keep walking up
    }
    if (dirname(d) === d) throw new Error('project root not found');
  }
}
