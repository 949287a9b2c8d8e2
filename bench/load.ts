import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type Credentials, onPath, type Target } from './servers.js';
import { type Headers, Signer } from './signer.js';
import { runWrk } from './wrk.js';

/**
 * The load generator: a warm-up whose results are discarded, then a timed phase, with `concurrency`
 * requests in flight over keep-alive connections. Never in the server's process. Requests are
 * pre-signed (see Signer); the client's CPU time is reported so that a saturated client shows up in
 * the results. Two clients (`loadClient`): wrk (bench/wrk.ts), for a measurement that sends one
 * request over and over, and this process's own request loops over a node:http agent, for one
 * that picks among many bodies (a key of 100,000) and where wrk is not installed.
 */
export interface LoadSpec {
  target: Target;
  signer: Signer;
  operation: string;
  /**
   * The request body; with several, each request takes one at random (e.g. one key of many); from
   * a BodySequence, each request takes the next.
   */
  body: string | readonly string[] | BodySequence;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /**
   * The client, whatever `loadClient()` chose: for a measurement whose figures are compared with
   * one that must use the node client (`--scale`: the hot key against a key of 100,000).
   */
  client?: LoadClient;
}

export interface LoadResult {
  /** Which load generator sent the requests. */
  client: LoadClient;
  requests: number;
  errors: number;
  /** A few distinct failures (status and body, or the socket error), for the report. */
  errorSamples: string[];
  elapsedMs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The tail beyond p99 (JSON results only): stalls that stop every request in flight at once. */
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  /**
   * CPU the load generator used during the timed phase, user + system: this process's, and wrk's
   * (a child, counted once reaped).
   */
  clientCpuMs: number;
  /** CPU the server's processes used during the timed phase, from /proc; undefined elsewhere. */
  serverCpuMs: number | undefined;
  /**
   * CPU of the busiest main thread among the server's processes (the event loop; a cluster's
   * busiest process), from /proc/<pid>/task/<pid>/stat. Below ~100% while the server is saturated,
   * the event loop was waiting — for requests, or in a blocking call — not computing.
   */
  mainThreadCpuMs: number | undefined;
  /** The server processes' peak resident memory so far (VmHWM, summed over a cluster), MiB. */
  peakRssMb: number | undefined;
  /**
   * CPU every other process on the machine used meanwhile (/proc/stat user and system time less
   * client and server; interrupts and steal not counted): on a small shared machine, a busy
   * neighbour makes the figures meaningless.
   */
  otherCpuMs: number | undefined;
  /**
   * CPU the kernel spent in interrupt handlers meanwhile (/proc/stat irq and softirq), which no
   * process is charged with: mostly the completions of the servers' own loopback traffic and disk
   * writes (Trent's audit fsyncs: 10–15% of a core at Encrypt c16 on a Firecracker VM), so not a
   * neighbour's doing.
   */
  interruptCpuMs: number | undefined;
  /**
   * CPU time the hypervisor withheld from the machine's vCPUs meanwhile (/proc/stat steal): time a
   * runnable process waited for a host CPU. On a VM whose host is busy it swings throughput by
   * tens of percent between runs with nothing else running here.
   */
  stealCpuMs: number | undefined;
}

type Outcome = { status: number; body: string } | { error: string };

const MAX_ERROR_SAMPLES = 5;
const REQUEST_TIMEOUT_MS = 30_000;

/** One request with a throwaway connection; for setup calls, whose replies we need to read. */
export async function call(
  target: Target,
  operation: string,
  input: object,
  credentials: Credentials = target.credentials,
): Promise<unknown> {
  const body = JSON.stringify(input);
  const agent = new Agent({ keepAlive: false });
  const headers = new Signer(target, credentials).headers(operation, body);
  try {
    const outcome = await send(agent, target.url, headers, body, true);
    if ('error' in outcome) throw new Error(`${target.name} ${operation}: ${outcome.error}`);
    if (outcome.status !== 200) {
      throw new Error(`${target.name} ${operation}: HTTP ${outcome.status} ${outcome.body}`);
    }
    // Some operations (PutKeyPolicy, TagResource) answer with an empty body.
    return outcome.body === '' ? {} : JSON.parse(outcome.body);
  } finally {
    agent.destroy();
  }
}

export type LoadClient = 'wrk' | 'node';

let chosenClient: LoadClient | undefined;

/**
 * TRENT_BENCH_CLIENT (`wrk` or `node`) if set, else wrk where it is installed. wrk serves every
 * target of a run alike, so the choice moves the figures, not the ratios of one run: on the VM of
 * the twenty-first session, Trent's Encrypt 1 KiB at c16 read 1.15–1.8× as much with wrk as with
 * the node client, and so did the bare server (docs/performance-log.md).
 */
export function loadClient(): LoadClient {
  chosenClient ??= chooseClient(process.env.TRENT_BENCH_CLIENT);
  return chosenClient;
}

function chooseClient(asked: string | undefined): LoadClient {
  if (asked === 'node') return 'node';
  if (asked !== undefined && asked !== 'wrk') {
    throw new Error(`TRENT_BENCH_CLIENT must be wrk or node, not ${JSON.stringify(asked)}`);
  }
  if (onPath('wrk')) return 'wrk';
  if (asked === 'wrk') throw new Error('TRENT_BENCH_CLIENT=wrk, but wrk is not installed (apt-get install wrk)');
  console.error('wrk is not installed (apt-get install wrk): the node client sends the requests');
  return 'node';
}

export async function measure(spec: LoadSpec): Promise<LoadResult> {
  if (typeof spec.body === 'string' && (spec.client ?? loadClient()) === 'wrk') return measureWithWrk(spec, spec.body);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  try {
    await runPhase(spec, agent, spec.warmupMs, new Recorder());
    const recorder = new Recorder();
    const before = cpuSnapshot(spec.target.pid);
    const started = performance.now();
    await runPhase(spec, agent, spec.durationMs, recorder);
    const elapsedMs = performance.now() - started;
    const spent = cpuSpent(before, cpuSnapshot(spec.target.pid));
    return recorder.result(elapsedMs, { ...spent, peakRssMb: peakRssMb(spec.target.pid) });
  } finally {
    agent.destroy();
  }
}

async function measureWithWrk(spec: LoadSpec, body: string): Promise<LoadResult> {
  const run = {
    url: spec.target.url,
    headers: spec.signer.headers(spec.operation, body),
    body,
    connections: spec.concurrency,
  };
  if (spec.warmupMs > 0) await runWrk({ ...run, seconds: wholeSeconds(spec.warmupMs) });
  const before = cpuSnapshot(spec.target.pid);
  const started = performance.now();
  const wrk = await runWrk({ ...run, seconds: wholeSeconds(spec.durationMs) });
  // The CPU figures span wrk's start and exit as well as its timed phase: a few ms in seconds.
  const elapsedMs = performance.now() - started;
  const spent = cpuSpent(before, cpuSnapshot(spec.target.pid));
  const { connect, read, write, timeout } = wrk.socketErrors;
  const socketErrors = connect + read + write + timeout;
  const errorSamples: string[] = [];
  if (socketErrors > 0)
    errorSamples.push(`socket errors: connect ${connect}, read ${read}, write ${write}, timeout ${timeout}`);
  // wrk counts failed replies but keeps none; one more request shows what they said.
  if (wrk.statusErrors > 0 && !spec.target.exited()) {
    const agent = new Agent({ keepAlive: false });
    try {
      errorSamples.push(describe(await send(agent, spec.target.url, run.headers, body, true)));
    } finally {
      agent.destroy();
    }
  }
  return {
    client: 'wrk',
    requests: wrk.requests,
    errors: wrk.statusErrors + socketErrors,
    errorSamples,
    elapsedMs,
    requestsPerSecond: (wrk.requests * 1000) / wrk.durationMs,
    p50Ms: wrk.p50Ms,
    p99Ms: wrk.p99Ms,
    p999Ms: wrk.p999Ms,
    maxMs: wrk.maxMs,
    meanMs: wrk.meanMs,
    ...spent,
    peakRssMb: peakRssMb(spec.target.pid),
  };
}

/** wrk's durations are whole seconds. */
function wholeSeconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}

/**
 * Seconds of load a server gets before its first measurement (`--prewarm`). A fresh Node server
 * serves its first several thousand requests before V8 has compiled the request path and grown its
 * heap: on the 2-core VM of docs/performance-log.md a fresh Trent spent ~1,100 µs of CPU per Encrypt
 * in its first 2 s at concurrency 16 and ~370 µs from about the seventh second on. Measured
 * earlier, a figure reports the warm-up, not the server; every bench warms each server first.
 */
export const DEFAULT_PREWARM_SECONDS = 10;

/** The concurrency of the warm-up: the headline concurrency. */
const PREWARM_CONCURRENCY = 16;

export type WarmUpLoad = Pick<LoadSpec, 'signer' | 'operation' | 'body'>;

/**
 * Load whose results are discarded: `ms` shared evenly among `loads`, one after another, at
 * concurrency 16. Failures are not reported here: the measurements that follow send the same
 * requests and report theirs.
 */
export async function warmUp(target: Target, loads: readonly WarmUpLoad[], ms: number): Promise<void> {
  if (ms <= 0 || loads.length === 0) return;
  const agent = new Agent({ keepAlive: true, maxSockets: PREWARM_CONCURRENCY });
  try {
    for (const load of loads) {
      const spec = { ...load, target, concurrency: PREWARM_CONCURRENCY, warmupMs: 0, durationMs: 0 };
      await runPhase(spec, agent, ms / loads.length, new Recorder());
    }
  } finally {
    agent.destroy();
  }
}

/**
 * Sends every body once, `concurrency` at a time, over keep-alive connections; returns how many
 * failed. For warming a server up (every key of a large store used once), not for measuring.
 */
export async function sendEach(
  spec: Pick<LoadSpec, 'target' | 'signer' | 'operation' | 'concurrency'>,
  bodies: readonly string[],
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  let next = 0;
  let failed = 0;
  const loop = async () => {
    while (next < bodies.length) {
      const body = bodies[next++] as string;
      const outcome = await send(agent, spec.target.url, spec.signer.headers(spec.operation, body), body, false);
      if ('error' in outcome || outcome.status !== 200) failed++;
    }
  };
  try {
    await Promise.all(Array.from({ length: spec.concurrency }, loop));
  } finally {
    agent.destroy();
  }
  return failed;
}

/**
 * Bodies handed out in order, each once, across every phase they are used in: with one body per key
 * in a shuffled order, every request is a key's first use, however many measurements share them.
 * Past the last body it starts again from the first, and counts how many it handed out again.
 */
export class BodySequence {
  #taken = 0;

  constructor(readonly bodies: readonly string[]) {
    if (bodies.length === 0) throw new Error('a body sequence needs a body');
  }

  take(): string {
    return this.bodies[this.#taken++ % this.bodies.length] as string;
  }

  /** Requests that got a body handed out before (0 while each has been handed out once at most). */
  get repeated(): number {
    return Math.max(0, this.#taken - this.bodies.length);
  }
}

function bodyPicker(body: LoadSpec['body']): () => string {
  if (typeof body === 'string') return () => body;
  if (body instanceof BodySequence) return () => body.take();
  if (body.length === 1) return () => body[0] as string;
  return () => body[randomInt(body.length)] as string;
}

// Each loop keeps exactly one request in flight until the deadline; the last replies may land a
// little after it, which is why throughput divides by the measured elapsed time.
async function runPhase(spec: LoadSpec, agent: Agent, ms: number, recorder: Recorder) {
  const deadline = performance.now() + ms;
  const pick = bodyPicker(spec.body);
  const loop = async () => {
    while (performance.now() < deadline && !spec.target.exited()) {
      const body = pick();
      const headers = spec.signer.headers(spec.operation, body);
      const t0 = performance.now();
      const outcome = await send(agent, spec.target.url, headers, body, false);
      recorder.add(performance.now() - t0, outcome);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
}

/**
 * A 200's body is drained unread (the setup calls already checked what a reply holds); any other
 * reply's body is kept for the error report.
 */
function send(agent: Agent, url: URL, headers: Headers, body: string, keep: boolean) {
  const options = { agent, host: url.hostname, port: url.port, method: 'POST', path: '/', headers };
  return new Promise<Outcome>((resolve) => {
    const fail = (err: NodeJS.ErrnoException) => {
      resolve({ error: `${err.code ?? ''} ${err.message}` });
    };
    const req = request(options, (res) => {
      // A reset mid-reply fails the response, not the request.
      res.on('error', fail);
      const status = res.statusCode ?? 0;
      if (status === 200 && !keep) {
        res.on('end', () => resolve({ status, body: '' }));
        res.resume();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', fail);
    // A server that stops answering must fail the run, not hang it.
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('no reply within 30 s')));
    req.end(body);
  });
}

class Recorder {
  #latencies = new Float64Array(1 << 16);
  #count = 0;
  #errors = 0;
  readonly #samples = new Set<string>();

  add(latencyMs: number, outcome: Outcome): void {
    if (this.#count === this.#latencies.length) {
      const grown = new Float64Array(this.#latencies.length * 2);
      grown.set(this.#latencies);
      this.#latencies = grown;
    }
    this.#latencies[this.#count++] = latencyMs;
    if ('error' in outcome || outcome.status !== 200) {
      this.#errors++;
      if (this.#samples.size < MAX_ERROR_SAMPLES) this.#samples.add(describe(outcome));
    }
  }

  result(elapsedMs: number, cpu: CpuSpent & Pick<LoadResult, 'peakRssMb'>): LoadResult {
    const sorted = this.#latencies.slice(0, this.#count).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      client: 'node',
      requests: this.#count,
      errors: this.#errors,
      errorSamples: [...this.#samples],
      elapsedMs,
      requestsPerSecond: (this.#count * 1000) / elapsedMs,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      p999Ms: percentile(sorted, 0.999),
      maxMs: this.#count === 0 ? Number.NaN : (sorted[this.#count - 1] as number),
      meanMs: this.#count === 0 ? Number.NaN : sum / this.#count,
      ...cpu,
    };
  }
}

function describe(outcome: Outcome): string {
  if ('error' in outcome) return `socket error: ${outcome.error}`;
  return `HTTP ${outcome.status}: ${outcome.body.slice(0, 300)}`;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? Number.NaN;
}

// --- CPU time, from process.cpuUsage and /proc (Linux only) ------------------------------------

interface CpuSnapshot {
  /** This process's CPU and its reaped children's (wrk), ms. */
  client: number;
  server: number | undefined;
  /** By process of the server's tree: its main thread's CPU so far. */
  mainThreads: Map<number, number>;
  machine: MachineCpu | undefined;
}

type CpuSpent = Pick<
  LoadResult,
  'clientCpuMs' | 'serverCpuMs' | 'mainThreadCpuMs' | 'otherCpuMs' | 'interruptCpuMs' | 'stealCpuMs'
>;

function cpuSnapshot(serverPid: number): CpuSnapshot {
  const tree = processTree(serverPid);
  return {
    client: clientCpuMs(),
    server: treeCpuMs(serverPid, tree),
    mainThreads: mainThreadsCpuMs(tree),
    machine: machineCpuMs(),
  };
}

function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): CpuSpent {
  const clientCpuMs = after.client - before.client;
  const serverCpuMs = difference(before.server, after.server);
  const machineMs = difference(before.machine?.busy, after.machine?.busy);
  const otherCpuMs =
    machineMs === undefined || serverCpuMs === undefined
      ? undefined
      : Math.max(0, machineMs - clientCpuMs - serverCpuMs);
  let mainThreadCpuMs: number | undefined;
  for (const [pid, ms] of after.mainThreads) {
    const spent = ms - (before.mainThreads.get(pid) ?? ms);
    mainThreadCpuMs = Math.max(mainThreadCpuMs ?? 0, spent);
  }
  return {
    clientCpuMs,
    serverCpuMs,
    mainThreadCpuMs,
    otherCpuMs,
    interruptCpuMs: difference(before.machine?.interrupts, after.machine?.interrupts),
    stealCpuMs: difference(before.machine?.steal, after.machine?.steal),
  };
}

let ticksPerSecond: number | undefined;

function ticksToMs(ticks: number): number {
  ticksPerSecond ??= Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
  return (ticks * 1000) / ticksPerSecond;
}

/** /proc/<pid>/stat's fields after the parenthesised command name (field 3 onwards). */
function statFields(pid: number, path = `/proc/${pid}/stat`): string[] | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** User + system CPU of this process and of its children that have exited and been reaped. */
function clientCpuMs(): number {
  const own = process.cpuUsage();
  const fields = statFields(process.pid);
  // cutime and cstime, stat fields 16 and 17
  const children = fields === undefined ? 0 : ticksToMs(Number(fields[13]) + Number(fields[14]));
  return (own.user + own.system) / 1000 + children;
}

/** The process and its descendants (a cluster's workers): one pass over /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = Number(statFields(pid)?.[1]);
    if (!Number.isInteger(ppid)) continue;
    const siblings = children.get(ppid);
    if (siblings === undefined) children.set(ppid, [pid]);
    else siblings.push(pid);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** User + system CPU of the server's processes (utime and stime are stat fields 14 and 15). */
function treeCpuMs(pid: number, tree = processTree(pid)): number | undefined {
  const own = statFields(pid);
  if (own === undefined) return undefined;
  let ticks = 0;
  for (const p of tree) {
    const fields = p === pid ? own : statFields(p);
    if (fields !== undefined) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticksToMs(ticks);
}

/** Each process's main thread (its task whose id is the pid): user + system CPU so far. */
export function mainThreadsCpuMs(tree: number[]): Map<number, number> {
  const spent = new Map<number, number>();
  for (const pid of tree) {
    const fields = statFields(pid, `/proc/${pid}/task/${pid}/stat`);
    if (fields !== undefined) spent.set(pid, ticksToMs(Number(fields[11]) + Number(fields[12])));
  }
  return spent;
}

function peakRssMb(pid: number): number | undefined {
  if (statFields(pid) === undefined) return undefined;
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      kib += Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

interface MachineCpu {
  /** user, nice and system time of all CPUs together */
  busy: number;
  /** irq and softirq time */
  interrupts: number;
  steal: number;
}

function machineCpuMs(): MachineCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
    const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0);
    const interrupts = (irq ?? 0) + (softirq ?? 0);
    if (![busy, interrupts, steal].every(Number.isFinite) || steal === undefined) return undefined;
    return { busy: ticksToMs(busy), interrupts: ticksToMs(interrupts), steal: ticksToMs(steal) };
  } catch {
    return undefined;
  }
}

function difference(before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before;
}
