import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Headers } from './signer.js';

/**
 * wrk (Debian's `wrk` package), the native load generator: one thread, `connections` keep-alive
 * connections, each with one request in flight, the same pre-signed request over and over. Where
 * the node client (load.ts) spends 60–80 µs of CPU on a request on the 2-CPU VMs of
 * docs/performance-log.md, wrk spends 15–30: on a machine whose two cores the client shares with
 * the server, the client's own time per request is in every request's round trip at a fixed
 * concurrency, so a cheaper client shows more of the server.
 */
export interface WrkRun {
  url: URL;
  headers: Headers;
  body: string;
  connections: number;
  /** Whole seconds: wrk takes no fractions. */
  seconds: number;
}

export interface WrkSummary {
  requests: number;
  durationMs: number;
  /** Replies with a status of 400 or more. */
  statusErrors: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

const SUMMARY_MARK = 'TRENT-WRK ';
const TIMEOUT_SECONDS = 30;

export async function runWrk(run: WrkRun): Promise<WrkSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'trent-wrk-'));
  try {
    // The body goes in a file of its own, read as bytes, so that no character of it needs escaping.
    const bodyPath = join(dir, 'body');
    writeFileSync(bodyPath, run.body);
    const scriptPath = join(dir, 'request.lua');
    writeFileSync(scriptPath, script(run.headers, bodyPath));
    const output = await spawnWrk([
      '--threads',
      '1',
      '--connections',
      String(run.connections),
      '--duration',
      `${run.seconds}s`,
      '--timeout',
      `${TIMEOUT_SECONDS}s`,
      '--script',
      scriptPath,
      run.url.href,
    ]);
    return parseSummary(output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The request, and a `done` that prints wrk's counts and latency percentiles (microseconds) as one
 * JSON line; wrk's own report has no p99.9 and rounds its figures for reading.
 */
function script(headers: Headers, bodyPath: string): string {
  const lines = ['wrk.method = "POST"', 'wrk.path = "/"', `local f = assert(io.open(${lua(bodyPath)}, "rb"))`];
  lines.push('wrk.body = f:read("*a")', 'f:close()', 'wrk.headers = {}');
  for (const [name, value] of Object.entries(headers)) {
    // wrk.format adds Content-Length from the body; a second one would make the request invalid.
    if (name.toLowerCase() === 'content-length') continue;
    // wrk adds a Host of its own unless `wrk.headers` has one spelt so; two would fail the request.
    lines.push(`wrk.headers[${lua(name.toLowerCase() === 'host' ? 'Host' : name)}] = ${lua(value)}`);
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format("\\n${SUMMARY_MARK}{\\"requests\\":%d,\\"duration\\":%d,\\"status\\":%d,` +
      '\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p99\\":%d,' +
      '\\"p999\\":%d,\\"max\\":%d,\\"mean\\":%f}\\n",',
    '    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,',
    '    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))',
    'end',
  );
  return `${lines.join('\n')}\n`;
}

/** A Lua string literal: every byte outside printable ASCII, and `"` and `\`, as a decimal escape. */
function lua(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text)) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x22 || byte === 0x5c ? `\\${byte}` : String.fromCharCode(byte);
  }
  return `${out}"`;
}

function spawnWrk(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    // 'close', not 'exit': by then wrk is reaped, so its CPU time is in this process's
    // children's times (/proc/self/stat), where load.ts counts it as the client's.
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`wrk exited with ${code}:\n${output}`));
    });
  });
}

function parseSummary(output: string): WrkSummary {
  const line = output.split('\n').find((l) => l.startsWith(SUMMARY_MARK));
  if (line === undefined) throw new Error(`wrk printed no summary:\n${output}`);
  const s = JSON.parse(line.slice(SUMMARY_MARK.length)) as Record<string, number>;
  const ms = (us: number | undefined) => (us ?? Number.NaN) / 1000;
  return {
    requests: s.requests ?? 0,
    durationMs: ms(s.duration),
    statusErrors: s.status ?? 0,
    socketErrors: { connect: s.connect ?? 0, read: s.read ?? 0, write: s.write ?? 0, timeout: s.timeout ?? 0 },
    p50Ms: ms(s.p50),
    p99Ms: ms(s.p99),
    p999Ms: ms(s.p999),
    maxMs: ms(s.max),
    meanMs: ms(s.mean),
  };
}
