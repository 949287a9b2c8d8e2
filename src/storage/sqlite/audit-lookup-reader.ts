import Database from 'better-sqlite3';
import { ThreadCalls } from '../../thread-calls.js';
import type { LookupRequest, LookupThreadOptions } from './audit-lookup-thread.js';

/**
 * Where SqliteAuditLog runs its lookup queries. A lookup whose filters no index narrows (an error
 * code, an account) reads record after record until it has its page: on a log of millions, seconds.
 * On the event loop that stopped every request; so a serving process runs them on a thread of its
 * own (audit-lookup-thread.ts), started at the first lookup and unreferenced while idle. If the
 * thread fails, the lookups waiting for it fail, and the next one starts it again. Without a thread
 * (`onThread` false) the queries run here, on a connection opened at the first lookup.
 */
export class AuditLookupReader {
  #thread: ThreadCalls | undefined;
  #connection: Database.Database | undefined;

  constructor(
    private readonly options: LookupThreadOptions,
    private readonly onThread: boolean,
  ) {}

  async all(sql: string, params: unknown[]): Promise<unknown[]> {
    if (!this.onThread) {
      this.#connection ??= openLookupConnection(this.options.logPath, this.options.indexPath);
      return this.#connection.prepare(sql).all(...params);
    }
    this.#thread ??= new ThreadCalls(
      new URL('./audit-lookup-thread.js', import.meta.url),
      { workerData: this.options satisfies LookupThreadOptions },
      'the audit lookup thread',
      (lost) => {
        if (this.#thread === lost) this.#thread = undefined;
      },
    );
    return (await this.#thread.call({ sql, params } satisfies Omit<LookupRequest, 'id'>)) as unknown[];
  }

  /** Stops the thread now (its waiting lookups fail) and closes the connection. */
  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = undefined;
    await thread?.terminate();
    this.#connection?.close();
    this.#connection = undefined;
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
