import pg from 'pg';
import type { StoreChange } from '../store.js';

/**
 * Hears other nodes' changes: one dedicated connection (not from the pool — LISTEN belongs to a
 * session) that LISTENs on the channel the triggers of migration 2 notify, keeps the notices for
 * its own schema, and passes them on as StoreChanges.
 *
 * When the connection is lost, changes made meanwhile go unheard; so the listener reports
 * `{ kind: 'all' }` at once, reconnects (1 s, then up to 5 s apart) and reports `all` again when
 * it listens again, covering whatever committed in between.
 */
export const CHANGE_CHANNEL = 'trent_changes';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5000;

export class ChangeListener {
  #client: pg.Client | undefined;
  #schema: string | undefined;
  #closed = false;
  #retryMs = RETRY_FIRST_MS;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly listener: (change: StoreChange) => void,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  /** Connects and listens; rejects if the first connection fails. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('Connection terminated')));
    client.on('notification', (n) => {
      if (n.channel === CHANGE_CHANNEL && n.payload !== undefined) this.#notice(n.payload);
    });
    try {
      await client.connect();
      const rows = (await client.query<{ schema: string }>('SELECT current_schema() AS schema')).rows;
      this.#schema = rows[0]?.schema;
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#retryMs = RETRY_FIRST_MS;
  }

  #notice(payload: string): void {
    let notice: {
      schema?: unknown;
      kind?: unknown;
      arn?: unknown;
      grantId?: unknown;
      accountId?: unknown;
      region?: unknown;
      aliasName?: unknown;
    };
    try {
      notice = JSON.parse(payload) as typeof notice;
    } catch {
      return;
    }
    if (notice.schema !== this.#schema) return;
    if (notice.kind === 'key' && typeof notice.arn === 'string') {
      this.listener({ kind: 'key', arn: notice.arn });
    } else if (notice.kind === 'grant' && typeof notice.arn === 'string' && typeof notice.grantId === 'string') {
      this.listener({ kind: 'grant', keyArn: notice.arn, grantId: notice.grantId });
    } else if (
      notice.kind === 'alias' &&
      typeof notice.accountId === 'string' &&
      typeof notice.region === 'string' &&
      typeof notice.aliasName === 'string'
    ) {
      this.listener({ kind: 'alias', accountId: notice.accountId, region: notice.region, aliasName: notice.aliasName });
    }
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.onError(err);
    this.listener({ kind: 'all' });
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#connect().then(
        () => {
          if (!this.#closed) this.listener({ kind: 'all' });
        },
        (err: unknown) => {
          this.onError(err instanceof Error ? err : new Error(String(err)));
          this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
          this.#scheduleReconnect();
        },
      );
    }, this.#retryMs);
    this.#timer.unref();
  }
}
