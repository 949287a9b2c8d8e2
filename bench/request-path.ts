import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { formatAmzDate, signRequest } from '../src/auth/sigv4.js';
import { DEFAULTS } from '../src/server/settings.js';
import { startServer } from '../src/server/start.js';
import { policyCaller } from './cases.js';
import { mainThreadsCpuMs } from './load.js';
import { seedKeys } from './seed.js';
import { type Credentials, readCredentials, type Target } from './servers.js';

/**
 * The request path in process: a Trent server started in this process, its request listener handed
 * requests as Node's HTTP parser would hand them over, without the sockets. Everything else runs as
 * in `trent server`: SigV4, validation, policy, the operation, the audit record and its durable
 * commit, the reply. Prints, per operation, the process's CPU time per request (every thread: the
 * index thread and GC included), the main thread's alone (the event loop, this client's share
 * included), and requests/s at the given concurrency. A benchmark, not a test:
 * for comparing commits, where the HTTP benchmark's noise (client and server sharing two cores)
 * hides a few µs.
 *
 *   node dist/bench/request-path.js [--requests 20000] [--concurrency 16] [--case Encrypt] [--keys N]
 *                                   [--cpu-prof DIR] [--alloc-prof DIR] [--audit-commit loop|thread]
 *
 * With `--keys N`, N more keys are seeded into the store (as the scale benchmark seeds them, the
 * server stopped, which reads them into its key cache as it starts again) and two more cases run
 * on that server: the hot key's Encrypt 1 KiB again (`seeded store`), and Encrypt 1 KiB on each new
 * key once — every request a key's first use —, then on each again in reverse order (its second use,
 * which admits its KeyObject to the cache). Compare them with the first: it ran on a smaller store
 * and a server that had not restarted.
 *
 * `--cpu-prof DIR` writes a V8 CPU profile of each case's measured requests alone (sampled every
 * 100 µs) to DIR/<case>.cpuprofile, for comparing two cases function by function. `--alloc-prof
 * DIR` writes a sampling heap profile of each case's allocations, those the collector freed
 * included (one sample every 8 KB), to DIR/<case>.heapprofile.
 *
 * `--audit-commit thread` commits the audit records on a thread of their own, as the server's
 * option of that name does.
 *
 * `Encrypt (policy)` is the HTTP benchmark's case of that name: an IAM user under a production-like
 * key policy and IAM policy (cases.ts, `policyCaller`), set up by the admin commands whenever
 * `--case` admits it.
 *
 * `--case CreateKey` (and only that) measures CreateKey: with `--keys N`, in an account that
 * already holds N keys, which the key quota check must count.
 */
const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    case: { type: 'string', default: '' },
    keys: { type: 'string', default: '0' },
    'cpu-prof': { type: 'string' },
    'alloc-prof': { type: 'string' },
    'audit-commit': { type: 'string', default: DEFAULTS.auditCommit },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const seededKeys = Number(values.keys);
const auditCommit = values['audit-commit'];
if (auditCommit !== 'loop' && auditCommit !== 'thread') {
  throw new Error(`--audit-commit takes loop or thread, not '${auditCommit}'`);
}
const REGION = 'us-east-1';

const dataDir = mkdtempSync(join(tmpdir(), 'trent-request-path-'));
// The seeded keys are the account's: the quota leaves room for CreateKey's.
const start = () =>
  startServer({
    ...DEFAULTS,
    dataDir,
    port: 0,
    logLevel: 'warn',
    workers: 1,
    keyQuota: DEFAULTS.keyQuota + seededKeys,
    auditCommit,
  });
let server = await start();
const ROOT = readCredentials(join(dataDir, 'credentials'));

interface Reply {
  status: number;
  body: string;
}

/**
 * A signed request, as IncomingMessage: headers, body stream, peer address. Signed once per body
 * (a signature stays valid for minutes), so that the client's share of the CPU stays small.
 */
function request(operation: string, body: string, credentials = ROOT): IncomingMessage {
  const { headers, distinct } = asParsed(signedOnce(operation, body, credentials));
  // The body pushed, not `Readable.from([body])`: each of those survived the young generation's
  // collections (~700 KB promoted a scavenge, against ~65 KB in the HTTP server's), which made
  // this client's requests ~20 µs of CPU dearer than the server's own work (2026-11-27).
  const stream = new Readable({ read() {} });
  stream.push(Buffer.from(body));
  stream.push(null);
  return Object.assign(stream, {
    method: 'POST',
    url: '/',
    headers,
    headersDistinct: distinct,
    rawHeaders: Object.entries(headers).flat(),
    socket: { remoteAddress: '127.0.0.1' },
    complete: true,
  }) as unknown as IncomingMessage;
}

interface Signed {
  headers: Record<string, string>;
  distinct: Record<string, string[]>;
}

/**
 * By caller and operation, then body: a body keeps its hash once computed, where a key built from
 * the two was hashed again on every request — ~6 µs of each request's CPU with 40,000 distinct
 * bodies (a key's first use), counted as the server's here.
 */
const signedHeaders = new Map<string, Map<string, Signed>>();

function signedOnce(operation: string, body: string, credentials: Credentials): Signed {
  const by = `${credentials.accessKeyId} ${operation}`;
  let bodies = signedHeaders.get(by);
  if (bodies === undefined) {
    bodies = new Map();
    signedHeaders.set(by, bodies);
  }
  let signed = bodies.get(body);
  if (signed === undefined) {
    signed = sign(operation, body, credentials);
    bodies.set(body, signed);
  }
  return signed;
}

/**
 * The headers as Node's parser hands them over: new strings for every request. Handing over the
 * same string objects again made the request path look ~20 µs cheaper than it is: V8 keeps a
 * string's hash and caches the results of splitting and matching a string it has seen.
 */
function asParsed(signed: Signed): Signed {
  const headers: Record<string, string> = {};
  const distinct: Record<string, string[]> = {};
  for (const name of Object.keys(signed.headers)) {
    const value = Buffer.from(signed.headers[name] as string, 'latin1').toString('latin1');
    headers[name] = value;
    distinct[name] = [value];
  }
  return { headers, distinct };
}

function sign(operation: string, body: string, credentials: Credentials): Signed {
  const headers: Record<string, string> = {
    host: 'localhost',
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `TrentService.${operation}`,
    'x-amz-date': formatAmzDate(new Date()),
    'user-agent': 'aws-sdk-js/3 request-path-bench',
    'content-length': String(Buffer.byteLength(body)),
  };
  headers.authorization = signRequest({
    method: 'POST',
    path: '/',
    headers,
    body,
    accessKeyId: credentials.accessKeyId,
    secret: credentials.secretAccessKey,
    region: REGION,
    service: 'kms',
    amzDate: headers['x-amz-date'] as string,
  });
  return { headers, distinct: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) };
}

function send(req: IncomingMessage): Promise<Reply> {
  return new Promise((resolve) => {
    const reply = { status: 0, body: '' };
    const res = {
      headersSent: false,
      setHeader: () => undefined,
      writeHead(status: number) {
        reply.status = status;
        this.headersSent = true;
        return this;
      },
      end(body?: string) {
        reply.body = body ?? '';
        resolve(reply);
      },
    };
    server.httpServer.emit('request', req, res as unknown as ServerResponse);
  });
}

async function call(operation: string, input: unknown): Promise<Record<string, unknown>> {
  const reply = await send(request(operation, JSON.stringify(input)));
  if (reply.status !== 200) throw new Error(`${operation}: HTTP ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as Record<string, unknown>;
}

const { KeyId: keyId, Arn: keyArn } = (await call('CreateKey', {})).KeyMetadata as { KeyId: string; Arn: string };
const plaintext = (size: number) => randomBytes(size).toString('base64');
const ciphertext = (await call('Encrypt', { KeyId: keyId, Plaintext: plaintext(1024) })).CiphertextBlob;
const encrypt1KiB = (id: string) => JSON.stringify({ KeyId: id, Plaintext: plaintext(1024) });

interface Case {
  label: string;
  operation: string;
  /** Request i sends bodies[i % bodies.length]. */
  bodies: string[];
  /** Requests measured: --requests, or one per body. */
  count: number;
  /** Warms up on the case's own bodies; else on the hot key's Encrypt (first uses stay first). */
  warmOnOwn: boolean;
  /** Who signs the requests; the account's root (the data directory's credentials) by default. */
  credentials?: Credentials;
}

const hot = (label: string, operation: string, input: unknown): Case => ({
  label,
  operation,
  bodies: [typeof input === 'string' ? input : JSON.stringify(input)],
  count: requests,
  warmOnOwn: true,
});
const hotEncrypt = encrypt1KiB(keyId);
const CASES: Case[] = [
  hot('Encrypt 1 KiB', 'Encrypt', hotEncrypt),
  hot('Encrypt 4 KiB', 'Encrypt', { KeyId: keyId, Plaintext: plaintext(4096) }),
  hot('Decrypt 1 KiB', 'Decrypt', { CiphertextBlob: ciphertext }),
  hot('GenerateDataKey', 'GenerateDataKey', { KeyId: keyId, NumberOfBytes: 32 }),
];
// An IAM user under a production-like key policy and IAM policy (cases.ts), set up only when asked
// for (it runs the admin commands): what evaluating them costs over the root's default policy.
if ('Encrypt (policy)'.includes(values.case)) {
  const target: Target = {
    name: 'trent',
    url: new URL(server.url),
    credentials: ROOT,
    pid: process.pid,
    dataDir,
    exited: () => false,
    output: () => '',
    stop: async () => undefined,
  };
  const caller = await policyCaller(target, plaintext(1024));
  if (caller !== undefined) {
    CASES.push({ ...hot('Encrypt (policy)', 'Encrypt', encrypt1KiB(caller.keyId)), credentials: caller.credentials });
  }
}
// Each request adds a key: only when --case names it, with at most 2,000 and the warm-up on Encrypt.
if (values.case !== '' && 'CreateKey'.includes(values.case)) {
  CASES.push({
    label: 'CreateKey',
    operation: 'CreateKey',
    bodies: ['{}'],
    count: Math.min(requests, 2000),
    warmOnOwn: false,
  });
}
if (seededKeys > 0) {
  // Seeded with the server stopped, which then reads them into its key cache as it starts.
  await server.close();
  const ids = (await seedKeys(dataDir, keyArn, seededKeys)).slice(1);
  server = await start();
  await server.keyCachePreloaded;
  const bodies = ids.map(encrypt1KiB);
  for (const body of bodies) signedOnce('Encrypt', body, ROOT); // now, not while measured
  // The hot key again on this server and store, so that first use is compared with a like.
  CASES.push(hot('Encrypt 1 KiB, seeded store', 'Encrypt', hotEncrypt));
  CASES.push({
    label: 'Encrypt 1 KiB, first use',
    operation: 'Encrypt',
    bodies,
    count: bodies.length,
    warmOnOwn: false,
  });
  // Each key again, in another order: a key's second use, when its material is admitted to the cache.
  CASES.push({
    label: 'Encrypt 1 KiB, second use',
    operation: 'Encrypt',
    bodies: [...bodies].reverse(),
    count: bodies.length,
    warmOnOwn: false,
  });
}

/** `count` requests, `concurrency` at a time, request i with bodies[i % length]; every reply must be a 200. */
async function drive(operation: string, bodies: string[], count: number, credentials = ROOT): Promise<void> {
  let sent = 0;
  const loop = async () => {
    while (sent < count) {
      const body = bodies[sent % bodies.length] as string;
      sent += 1;
      const reply = await send(request(operation, body, credentials));
      if (reply.status !== 200) throw new Error(`${operation}: HTTP ${reply.status} ${reply.body}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

/**
 * This process's main thread's CPU so far: the event loop's share, the client's included, without
 * the audit threads, GC helpers or crypto threads.
 */
const mainThreadCpuMs = (): number => mainThreadsCpuMs([process.pid]).get(process.pid) ?? 0;

let profiler: Session | undefined;
if (values['cpu-prof'] !== undefined) {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
}
let allocations: Session | undefined;
if (values['alloc-prof'] !== undefined) {
  allocations = new Session();
  allocations.connect();
  await allocations.post('HeapProfiler.enable');
}
// Node 20's inspector types lack the flags that keep what the collector freed (V8 11.3 has them).
const ALL_ALLOCATIONS: { samplingInterval: number } = Object.assign(
  { samplingInterval: 8192 },
  { includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true },
);
const profileFile = (dir: string, label: string, extension: string) =>
  join(dir, `${label.replace(/[^\w]+/g, '-')}.${extension}`);

console.log(`${requests} requests per operation, concurrency ${concurrency}, node ${process.version}`);
for (const { label, operation, bodies, count, warmOnOwn, credentials } of CASES) {
  if (!label.includes(values.case)) continue;
  const warm = warmOnOwn ? { operation, bodies, credentials } : { operation: 'Encrypt', bodies: [hotEncrypt] };
  await drive(warm.operation, warm.bodies, Math.min(requests, 2000), warm.credentials);
  await profiler?.post('Profiler.start');
  await allocations?.post('HeapProfiler.startSampling', ALL_ALLOCATIONS);
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuMs();
  const started = performance.now();
  await drive(operation, bodies, count, credentials);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const mainPerRequest = ((mainThreadCpuMs() - mainCpu) * 1000) / count;
  if (profiler !== undefined) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(profileFile(values['cpu-prof'] as string, label, 'cpuprofile'), JSON.stringify(profile));
  }
  if (allocations !== undefined) {
    const { profile } = await allocations.post('HeapProfiler.stopSampling');
    writeFileSync(profileFile(values['alloc-prof'] as string, label, 'heapprofile'), JSON.stringify(profile));
  }
  const perRequest = (used.user + used.system) / count;
  console.log(
    `${label.padEnd(28)} ${perRequest.toFixed(1).padStart(6)} µs CPU/request ` +
      `(${(used.system / count).toFixed(1)} system, ${mainPerRequest.toFixed(0)} main thread)  ` +
      `${Math.round(count / seconds)} req/s`,
  );
}
await server.close();
rmSync(dataDir, { recursive: true, force: true });
