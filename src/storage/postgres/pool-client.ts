import type pg from 'pg';
import type { PostgresTarget } from './connection.js';
import { connectionFailure, neverSent, toStoreError } from './pg-errors.js';

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
