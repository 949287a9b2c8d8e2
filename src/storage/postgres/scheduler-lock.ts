import pg from 'pg';
import { postgresConnection } from './connection.js';

/**
 * Which node of a PostgreSQL deployment runs the schedulers (deletion, rotation and expiry, audit
 * retention): the one holding a session-level advisory lock, on a dedicated connection (not from a
 * pool — the lock belongs to the session). Nodes without it try again every `retryMs`; when the
 * holder dies or loses its connection, PostgreSQL releases the lock with the session and the next
 * node to try takes over. The lock is per schema, like the migration lock.
 *
 * The lock makes two schedulers at once rare, not impossible (a holder cut off from the database
 * may still be finishing a run when another takes over): each scheduled action stays safe on its
 * own (deleteKey is revision-checked), so it happens once however many nodes race.
 */
const LOCK_SQL = `SELECT pg_try_advisory_lock(hashtext('trent.schedulers'), hashtext(current_schema())) AS held`;

export interface SchedulerLockEvents {
  /** This node now holds the lock: start the schedulers. */
  acquired: () => void;
  /** This node lost the lock (its connection broke): stop them. */
  lost: () => void;
  onError?: (err: Error) => void;
}

export class SchedulerLock {
  #client: pg.Client | undefined;
  #held = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #trying: Promise<void> | undefined;
  readonly #config: pg.ClientConfig;

  constructor(
    spec: string,
    private readonly events: SchedulerLockEvents,
    private readonly retryMs = 2000,
  ) {
    const { max: _max, idleTimeoutMillis: _idle, ...config } = postgresConnection(spec).pool;
    this.#config = config;
  }

  get held(): boolean {
    return this.#held;
  }

  /** Tries once now, then every `retryMs` while another node holds the lock. */
  async start(): Promise<void> {
    await this.tryNow();
    this.#timer = setInterval(() => void (this.#held ? this.#check() : this.tryNow()), this.retryMs);
    this.#timer.unref();
  }

  /** One attempt (no-op while held); resolves when it is settled either way. */
  tryNow(): Promise<void> {
    if (this.#held || this.#closed) return Promise.resolve();
    this.#trying ??= this.#try().finally(() => {
      this.#trying = undefined;
    });
    return this.#trying;
  }

  async #try(): Promise<void> {
    try {
      if (this.#client === undefined) {
        const client = new pg.Client(this.#config);
        client.on('error', (err) => this.#drop(err));
        client.on('end', () => this.#drop());
        await client.connect();
        this.#client = client;
      }
      const result = await this.#client.query<{ held: boolean }>(LOCK_SQL);
      if (result.rows[0]?.held === true && !this.#closed) {
        this.#held = true;
        this.events.acquired();
      }
    } catch (err) {
      this.events.onError?.(err instanceof Error ? err : new Error(String(err)));
      this.#drop();
    }
  }

  /** While held: a connection that died without a word is found out here, and the lock given up. */
  async #check(): Promise<void> {
    try {
      await this.#client?.query('SELECT 1');
    } catch (err) {
      this.#drop(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The connection is gone, and the lock with it. */
  #drop(err?: Error): void {
    if (err !== undefined) this.events.onError?.(err);
    const client = this.#client;
    this.#client = undefined;
    client?.end().catch(() => undefined);
    if (this.#held) {
      this.#held = false;
      this.events.lost();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#trying;
    const client = this.#client;
    this.#client = undefined;
    this.#held = false;
    // Ending the session releases the lock.
    await client?.end().catch(() => undefined);
  }
}
