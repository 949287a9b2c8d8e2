import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL server the tests use: TRENT_TEST_POSTGRES_URL, or the machine's own at
 * 127.0.0.1:5432 (trust auth, database `test`). `.ci/run` makes sure one is running and exports the
 * URL. No database reachable is a failure, never a skip: a suite that skips when PostgreSQL is down
 * would report the adapter green without ever running it.
 */
export const POSTGRES_URL = process.env.TRENT_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** Runs one statement on a short-lived connection of its own. */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
  url = POSTGRES_URL,
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${url} (${err instanceof Error ? err.message || String(err) : String(err)}). ` +
        'The PostgreSQL tests need a server: run .ci/run, or start one and set TRENT_TEST_POSTGRES_URL.',
    );
  }
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** `url` with every session's search_path set to `schema` (and an application_name to find them). */
export function urlWithSchema(url: string, schema: string, applicationName = schema): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  u.searchParams.set('application_name', applicationName);
  return u.toString();
}

export interface TestSchema {
  name: string;
  /** POSTGRES_URL with search_path set to this schema. */
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty schema of its own, so test runs and tests never see each other's rows. */
export async function createTestSchema(url = POSTGRES_URL): Promise<TestSchema> {
  const name = `trent_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${name}`, [], url);
  return {
    name,
    url: urlWithSchema(url, name),
    drop: async () => {
      await adminQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`, [], url);
    },
  };
}
