import { availableParallelism } from 'node:os';
import { ThreadCalls } from '../thread-calls.js';
import type { ThreadTask, ThreadTasks } from './thread-tasks.js';

/** Main thread → crypto thread (with the call's id, ThreadCalls). */
export interface TaskRequest {
  id: number;
  task: ThreadTask;
  args: unknown[];
}

type Result<K extends ThreadTask> = Awaited<ReturnType<ThreadTasks[K]>>;

/**
 * A few worker threads for the costly primitives that cannot run on libuv's pool
 * (thread-tasks.ts), so that a Sign with ML-DSA (4–9 ms) or with a DIGEST message on ECDSA
 * (0.6–2 ms in @noble), or an RSA-4096 Decrypt (4 ms), neither stops every other request on the
 * event loop nor leaves the other cores idle. A hop costs the event loop ~20–30 µs, so only work
 * of a few hundred µs or more is sent here.
 *
 * Threads start on first use, up to the process's share of the cores (at most 4;
 * limitCryptoThreads), each task going to the thread with the fewest outstanding; a thread is
 * referenced only while it has tasks, so an idle pool never keeps a process alive. If a thread
 * dies, its outstanding tasks reject (their requests fail with an internal error) and the next
 * task starts a new thread.
 */
export class CryptoThreads {
  readonly #threads: ThreadCalls[] = [];
  #size: number;

  constructor(size = MAX_THREADS_PER_PROCESS) {
    this.#size = Math.max(1, size);
  }

  /** How many threads are running. */
  get threadCount(): number {
    return this.#threads.length;
  }

  /** At most this many threads from now on (threads already running are kept). */
  limit(size: number): void {
    this.#size = Math.max(1, size);
  }

  async run<K extends ThreadTask>(task: K, ...args: Parameters<ThreadTasks[K]>): Promise<Result<K>> {
    return asBuffers(await this.#pick().call({ task, args })) as Result<K>;
  }

  /** Stops every thread now; their outstanding tasks reject, and the next task starts a new one. */
  async terminate(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.terminate()));
  }

  #pick(): ThreadCalls {
    let least: ThreadCalls | undefined;
    for (const t of this.#threads) if (least === undefined || t.pending < least.pending) least = t;
    if (least !== undefined && (least.pending === 0 || this.#threads.length >= this.#size)) return least;
    // A small young generation: the tasks keep almost nothing alive, and with V8's default each
    // thread grew its heap by tens of MB of garbage (bench --asymmetric: peak RSS 262 → 202 MB).
    const thread = new ThreadCalls(
      new URL('./crypto-thread.js', import.meta.url),
      { resourceLimits: { maxYoungGenerationSizeMb: 4 } },
      'a crypto thread',
      (lost) => {
        const index = this.#threads.indexOf(lost);
        if (index >= 0) this.#threads.splice(index, 1);
      },
    );
    this.#threads.push(thread);
    return thread;
  }
}

/**
 * A Buffer crosses threads as a plain Uint8Array; the primitives and their callers expect Buffers,
 * in arguments, in `{ kind, bytes }` inputs and in results. KeyObjects arrive as KeyObjects.
 */
export function asBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asBuffers(v)]));
  }
  return value;
}

const MAX_THREADS_PER_PROCESS = 4;

/** The process's threads, shared by every request (like libuv's pool, which Node shares). */
const shared = new CryptoThreads(threadsPerProcess(availableParallelism(), 1));

/**
 * The processes of a server share the cores: each gets an equal share of them, from 1 to 4
 * threads (16 workers on 16 cores: one each, not four). Set by startServer.
 */
export function limitCryptoThreads(cores: number, processes: number): void {
  shared.limit(threadsPerProcess(cores, processes));
}

export function threadsPerProcess(cores: number, processes: number): number {
  return Math.min(MAX_THREADS_PER_PROCESS, Math.max(1, Math.ceil(cores / Math.max(1, processes))));
}

export function offThread<K extends ThreadTask>(task: K, ...args: Parameters<ThreadTasks[K]>): Promise<Result<K>> {
  return shared.run(task, ...args);
}
