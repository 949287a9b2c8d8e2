import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { LookupReply, LookupRequest, LookupThreadOptions } from './audit-lookup-thread.js';

interface Waiting {
  resolve: (rows: unknown[]) => void;
  reject: (err: Error) => void;
}

/**
 * Where SqliteAuditLog runs its lookup queries. A lookup whose filters no index narrows (an error
 * code, an account) reads record after record until it has its page: on a log of millions, seconds.
 * On the event loop that stopped every request; so a serving process runs them on a thread of its
 * own (audit-lookup-thread.ts), started at the first lookup and unreferenced while idle. If the
 * thread fails, the lookups waiting for it fail, and the next one starts it again. Without a thread
 * (`onThread` false) the queries run here, on a connection opened at the first lookup.
 */
export class AuditLookupReader {
  #thread: { worker: Worker; waiting: Map<number, Waiting> } | undefined;
  #nextId = 1;
  #connection: Database.Database | undefined;

  constructor(
    private readonly options: LookupThreadOptions,
    private readonly onThread: boolean,
  ) {}

  all(sql: string, params: unknown[]): Promise<unknown[]> {
    if (!this.onThread) {
      this.#connection ??= openLookupConnection(this.options.logPath, this.options.indexPath);
      return Promise.resolve(this.#connection.prepare(sql).all(...params));
    }
    const thread = this.#thread ?? this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      thread.waiting.set(id, { resolve, reject });
      thread.worker.ref();
      thread.worker.postMessage({ id, sql, params } satisfies LookupRequest);
    });
  }

  /** Stops the thread now (its waiting lookups fail) and closes the connection. */
  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = undefined;
    await thread?.worker.terminate();
    this.#connection?.close();
    this.#connection = undefined;
  }

  #start(): { worker: Worker; waiting: Map<number, Waiting> } {
    const worker = new Worker(new URL('./audit-lookup-thread.js', import.meta.url), {
      workerData: this.options satisfies LookupThreadOptions,
    });
    worker.unref();
    const thread = { worker, waiting: new Map<number, Waiting>() };
    worker.on('message', (reply: LookupReply) => {
      const waiting = thread.waiting.get(reply.id);
      if (waiting === undefined) return;
      thread.waiting.delete(reply.id);
      if (thread.waiting.size === 0) worker.unref();
      if ('rows' in reply) waiting.resolve(reply.rows);
      else waiting.reject(new Error(reply.error));
    });
    const lost = (err: Error) => {
      if (this.#thread === thread) this.#thread = undefined;
      for (const waiting of thread.waiting.values()) waiting.reject(err);
      thread.waiting.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the audit lookup thread stopped (exit code ${code})`)));
    this.#thread = thread;
    return thread;
  }
}

/** A connection to the log with its index file attached as `ix`. */
export function openLookupConnection(logPath: string, indexPath: string): Database.Database {
  const connection = new Database(logPath, { fileMustExist: true, timeout: 5000 });
  try {
    connection.prepare('ATTACH DATABASE ? AS ix').run(indexPath);
    return connection;
  } catch (err) {
    connection.close();
    throw err;
  }
}
