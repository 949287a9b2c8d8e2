import pg from 'pg';
import { type PostgresTarget, postgresConnection } from './connection.js';
import { applyMigrations } from './migrations.js';
import { connectionFailure, neverSent, StoreUnavailableError, toStoreError } from './pg-errors.js';

/**
 * Connection plumbing shared by the PostgreSQL stores (postgres-store.ts, postgres-access-store.ts,
 * postgres-audit-log.ts): borrowing a pooled connection and running a transaction on it.
 */

export interface WithClientOptions {
  /**
   * A pooled connection found dead before anything was sent on it (pg: "not queryable") is
   * swapped for another, for reads and writes alike: nothing ran, and an unfinished transaction
   * rolls back with its connection. At most one retry per connection the pool held at the start.
   */
  retryUnsent?: boolean;
}

/**
 * Borrows a connection for `fn` and gives it back — destroyed instead of pooled if it failed.
 * Connection failures come out as KMS errors (pg-errors.ts); see WithClientOptions.retryUnsent.
 */
export async function withClient<T>(
  pool: pg.Pool,
  target: PostgresTarget,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: WithClientOptions = {},
): Promise<T> {
  for (let spares = options.retryUnsent ? pool.totalCount : 0; ; spares--) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw toStoreError(err, target);
    }
    // While a connection is checked out the pool does not listen for its errors; one arriving
    // between two statements would otherwise be an uncaught 'error' event.
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (err) {
      if (connectionFailure(err) !== undefined) broken ??= err instanceof Error ? err : new Error(String(err));
      if (!(spares > 0 && neverSent(err))) throw toStoreError(err, target);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}

/** Runs `fn` in BEGIN … COMMIT on one borrowed connection (withClient); rolls back if it throws. */
export function inTransaction<T>(
  pool: pg.Pool,
  target: PostgresTarget,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: WithClientOptions = {},
): Promise<T> {
  return withClient(
    pool,
    target,
    async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A broken connection rolls back by itself when the server notices; don't wait on it.
        if (connectionFailure(err) === undefined) await client.query('ROLLBACK');
        throw err;
      }
    },
    options,
  );
}

/**
 * Opens a pool for a `postgres://` store and brings the schema up to date (migrations, then
 * `prepare` for any rows a store needs), on one connection. A database that cannot be reached, or
 * goes away meanwhile, is StoreUnavailableError; on any failure the pool is closed again.
 */
export async function openMigratedPool(
  spec: string,
  onBackgroundError: ((err: Error) => void) | undefined,
  prepare?: (client: pg.PoolClient) => Promise<unknown>,
): Promise<{ pool: pg.Pool; config: pg.PoolConfig; target: PostgresTarget }> {
  const connection = postgresConnection(spec);
  const { target } = connection;
  const pool = new pg.Pool(connection.pool);
  // An idle connection the server closes emits 'error'; without a listener that would crash the
  // process. The pool has already dropped the connection and opens a new one on demand.
  pool.on('error', (err) => onBackgroundError?.(err));
  try {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new StoreUnavailableError(target, err);
    }
    try {
      await applyMigrations(client);
      await prepare?.(client);
      client.release();
    } catch (err) {
      client.release(err instanceof Error ? err : true);
      if (connectionFailure(err) !== undefined) throw new StoreUnavailableError(target, err);
      throw err;
    }
    return { pool, config: connection.pool, target };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}
