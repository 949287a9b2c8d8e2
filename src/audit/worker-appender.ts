import { Worker } from 'node:worker_threads';
import type { NewAuditEvent } from '../storage/audit-log.js';
import type { WorkerOptions, WorkerReply, WorkerRequest } from './append-worker.js';
import type { Appender } from './writer.js';

interface Waiting {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Appends through a dedicated thread (append-worker.ts) that owns its own connection to the SQLite
 * audit log, so that the commit and its fsync never block the event loop: requests keep being
 * served, and their records queue up for the next commit, while the disk works.
 *
 * Batches are posted in order (those handed over while the thread works on a message go together
 * in the next one) and the thread commits them in that order. A batch resolves once the thread has
 * committed it: the thread counts its durable messages in shared memory, which `poll` reads
 * without waiting, and answers each with a message, for an event loop with nothing else to do —
 * whichever the event loop sees first. A batch rejects when the thread reports a failure or stops
 * (crash, or `terminateThread`): every batch not yet acknowledged is then rejected — its request
 * fails closed, even if the thread got as far as committing it — and the next append starts a new
 * thread. The thread is referenced only while appends are outstanding.
 */
export class WorkerAppender implements Appender {
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  /** Batches not yet posted: they wait for the thread to answer the message it has. */
  #held: { id: number; events: NewAuditEvent[] }[] = [];
  #closed = false;
  /** The one message the thread has not answered yet: its number and its batches' ids. */
  #outstanding: { no: number; ids: number[] } | undefined;
  #nextNo = 1;
  /** Written by the thread: the number of its last message whose batches are durable. */
  #committed = new Int32Array(new SharedArrayBuffer(4));

  /**
   * `onLoop`, if given, commits a batch of one record while the thread is idle, on the calling
   * thread: one request at a time, the two hand-offs cost more than the event loop's wait for the
   * sync, which then has nothing else to do (docs/audit.md, "Where records are committed").
   */
  constructor(
    private readonly path: string,
    private readonly onLoop?: Appender,
  ) {
    // Started now, so that the first request does not wait for the thread to load.
    this.#start();
  }

  append(events: NewAuditEvent[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the audit writer is closed'));
    if (this.onLoop !== undefined && events.length === 1 && this.#outstanding === undefined) {
      return this.onLoop.append(events);
    }
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (this.#waiting.size === 1) worker.ref();
      // While the thread works on a message, later batches wait here and go as one message when it
      // answers: it would have committed them together anyway, and each message costs both threads.
      this.#held.push({ id, events });
      if (this.#outstanding === undefined) this.#post(worker);
    });
  }

  #post(worker: Worker): void {
    const batches = this.#held;
    this.#held = [];
    // Numbered 1 to 2^31 − 1 and round again: the shared counter is an Int32, and with one message
    // outstanding at a time, equal to its number is the only test needed.
    const no = this.#nextNo;
    this.#nextNo = no === 0x7fffffff ? 1 : no + 1;
    this.#outstanding = { no, ids: batches.map((b) => b.id) };
    worker.postMessage({ type: 'append', no, batches } satisfies WorkerRequest);
  }

  #start(): Worker {
    const worker = new Worker(new URL('./append-worker.js', import.meta.url), {
      workerData: { path: this.path, committed: this.#committed.buffer as SharedArrayBuffer } satisfies WorkerOptions,
    });
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      if (this.#worker !== worker || this.#outstanding?.no !== reply.no) return;
      this.#settle(worker, reply.error === undefined ? undefined : new Error(reply.error));
    });
    worker.on('error', (err) => this.#lost(worker, err.message));
    worker.on('exit', (code) => this.#lost(worker, `exit code ${code}`));
    this.#worker = worker;
    return worker;
  }

  /**
   * Settles the outstanding message if the thread has committed it, without waiting for its reply
   * to come through the event loop: called at every record written, so that a commit that ends
   * while the event loop serves the next requests is answered between two of them.
   */
  poll(): void {
    const worker = this.#worker;
    const outstanding = this.#outstanding;
    if (worker === undefined || outstanding === undefined) return;
    if (Atomics.load(this.#committed, 0) === outstanding.no) this.#settle(worker, undefined);
  }

  #settle(worker: Worker, err: Error | undefined): void {
    const outstanding = this.#outstanding;
    if (outstanding === undefined) return;
    this.#outstanding = undefined;
    for (const id of outstanding.ids) {
      const w = this.#waiting.get(id);
      if (w === undefined) continue;
      this.#waiting.delete(id);
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
    if (this.#held.length > 0) this.#post(worker);
    if (this.#waiting.size === 0) worker.unref();
  }

  #lost(worker: Worker, reason: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#held = [];
    this.#outstanding = undefined;
    const err = new Error(`the audit writer thread stopped (${reason})`);
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(err);
  }

  /** Stops the thread abruptly, as a crash would (for tests). */
  async terminateThread(): Promise<void> {
    await this.#worker?.terminate();
  }

  /** Lets the thread finish what it was given, close its connection and exit. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker === undefined) return;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.ref();
      worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    });
  }
}
