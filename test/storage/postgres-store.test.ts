import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyTimeoutException, KMSInternalException, KmsError } from '../../src/errors.js';
import { openStore } from '../../src/storage/open-store.js';
import { describeTarget, postgresConnection, StoreConfigError } from '../../src/storage/postgres/connection.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/storage/postgres/migrations.js';
import { StoreUnavailableError } from '../../src/storage/postgres/pg-errors.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SchemaTooNewError } from '../../src/storage/sqlite/migrations.js';
import type { StoreChange } from '../../src/storage/store.js';
import { keyRecord as key } from '../helpers/key-record.js';
import { adminQuery, createTestSchema, POSTGRES_URL, type TestSchema, urlWithSchema } from '../helpers/postgres.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { runStoreContract } from './contract.js';

runStoreContract('PostgresStore', async () => {
  const schema = await createTestSchema();
  const store = await PostgresStore.open(schema.url);
  return {
    store,
    reopen: () => PostgresStore.open(schema.url),
    forgetKeyCounts: async () => {
      // As before migration 10; 11, which only replaces a function, then runs again, and 12.
      await adminQuery(`DROP TABLE ${schema.name}.key_counts; DROP FUNCTION ${schema.name}.trent_count_keys CASCADE;
        DROP TABLE ${schema.name}.grant_counts; DROP FUNCTION ${schema.name}.trent_count_grants CASCADE;
        DROP INDEX ${schema.name}.grants_by_grantee; DROP INDEX ${schema.name}.grants_by_name;
        DELETE FROM ${schema.name}.schema_migrations WHERE version >= 10`);
    },
    cleanup: async () => {
      await store.close();
      await schema.drop();
    },
  };
});

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `url` pointed at another host and port, everything else kept. */
function via(url: string, host: string, port: number): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  return u.toString();
}

function isConnectionKmsError(err: unknown): boolean {
  return err instanceof DependencyTimeoutException || err instanceof KMSInternalException;
}

describe('PostgresStore migrations', () => {
  let schema: TestSchema;

  beforeEach(async () => {
    schema = await createTestSchema();
  });

  afterEach(async () => {
    await schema.drop();
  });

  const migrationRows = () =>
    adminQuery<{ version: number; name: string; applied_at: string }>(
      `SELECT version, name, applied_at FROM ${schema.name}.schema_migrations ORDER BY version`,
    );

  it('numbers migrations 1, 2, 3… in order', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
    assert.equal(LATEST_SCHEMA_VERSION, MIGRATIONS.length);
  });

  it('creates its tables in the schema of the URL, and records each migration once across reopens', async () => {
    await (await PostgresStore.open(schema.url)).close();
    const first = await migrationRows();
    assert.deepEqual(
      first.map(({ version, name }) => ({ version, name })),
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );
    const tables = await adminQuery<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema.name],
    );
    assert.deepEqual(
      tables.map((t) => t.table_name),
      [
        'access_keys',
        'accounts',
        'aliases',
        'audit_digests',
        'audit_event_keys',
        'audit_events',
        'audit_head',
        'audit_key_usage',
        'backing_keys',
        'grant_counts',
        'grants',
        'iam_managed_policies',
        'iam_policy_attachments',
        'iam_role_policies',
        'iam_roles',
        'iam_user_policies',
        'iam_users',
        'identity_version',
        'key_counts',
        'keys',
        'meta',
        'schema_migrations',
        'service_control_policies',
        'sts_sessions',
      ],
    );
    await (await PostgresStore.open(schema.url)).close();
    assert.deepEqual(await migrationRows(), first);
  });

  it('compares and sorts every id and name column byte-wise (COLLATE "C"), whatever the database default', async () => {
    await (await PostgresStore.open(schema.url)).close();
    const columns = await adminQuery<{ column: string; collation_name: string | null }>(
      `SELECT table_name || '.' || column_name AS column, collation_name FROM information_schema.columns
       WHERE table_schema = $1 AND data_type = 'text' AND column_name <> 'doc' AND table_name <> 'schema_migrations'
         AND column_name NOT IN ('principal_arn', 'description', 'value')`,
      [schema.name],
    );
    assert.ok(columns.length >= 12, `${columns.length} columns`);
    for (const c of columns) assert.equal(c.collation_name, 'C', c.column);
  });

  it('migrates once when several nodes open a fresh store at the same moment', async () => {
    const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open(schema.url)));
    try {
      assert.deepEqual(
        (await migrationRows()).map((r) => r.version),
        MIGRATIONS.map((m) => m.version),
      );
      // Every one of them works on the same tables.
      const winners = await Promise.all(stores.map((s, i) => s.putMetaIfAbsent('deployment', `node-${i}`)));
      assert.equal(new Set(winners).size, 1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses a store migrated by a newer Trent, naming both versions, and leaves it as it was', async () => {
    await (await PostgresStore.open(schema.url)).close();
    const newer = LATEST_SCHEMA_VERSION + 1;
    await adminQuery(
      `INSERT INTO ${schema.name}.schema_migrations (version, name, applied_at) VALUES ($1, 'from the future', 0)`,
      [newer],
    );
    await assert.rejects(PostgresStore.open(schema.url), (err: unknown) => {
      assert.ok(err instanceof SchemaTooNewError);
      assert.equal(err.storeVersion, newer);
      assert.equal(err.knownVersion, LATEST_SCHEMA_VERSION);
      assert.equal(
        err.message,
        `This store was migrated by a newer Trent: its schema is at version ${newer}, but this Trent knows ` +
          `schema versions up to ${LATEST_SCHEMA_VERSION}. Upgrade Trent to open it.`,
      );
      return true;
    });
    assert.equal((await migrationRows()).at(-1)?.version, newer);
    // The refusal holds no lock: once the future is undone, the store opens.
    await adminQuery(`DELETE FROM ${schema.name}.schema_migrations WHERE version = $1`, [newer]);
    await (await PostgresStore.open(schema.url)).close();
  });

  it('keeps the key count exact with two nodes inserting and deleting at once', async () => {
    const [a, b] = [await PostgresStore.open(schema.url), await PostgresStore.open(schema.url)];
    try {
      const ids = Array.from({ length: 40 }, (_, i) => `concurrent-${i}`);
      await Promise.all(ids.map((id, i) => (i % 2 === 0 ? a : b).insertKey(key(id), [])));
      await Promise.all(ids.slice(0, 15).map((id, i) => (i % 2 === 0 ? b : a).deleteKey(key(id).arn)));
      const [{ n: truth } = { n: -1 }] = await adminQuery<{ n: number }>(
        `SELECT COUNT(*)::int AS n FROM ${schema.name}.keys WHERE account_id = '111122223333' AND region = 'eu-west-1'`,
      );
      assert.equal(truth, 25);
      assert.equal(await a.countKeys('111122223333', 'eu-west-1'), 25);
      assert.equal(await b.countKeys('111122223333', 'eu-west-1'), 25);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('PostgresStore connections', () => {
  let schema: TestSchema;

  beforeEach(async () => {
    schema = await createTestSchema();
  });

  afterEach(async () => {
    await schema.drop();
  });

  it('fails to open an unreachable database with one line naming host, port and database, never the password', async () => {
    const port = await closedPort();
    const withPassword = new URL(via(POSTGRES_URL, '127.0.0.1', port));
    withPassword.username = 'trent';
    withPassword.password = 's3cr3t-pw';
    withPassword.pathname = '/keystore';
    await assert.rejects(PostgresStore.open(withPassword.toString()), (err: unknown) => {
      assert.ok(err instanceof StoreUnavailableError);
      assert.match(
        err.message,
        new RegExp(
          `^Cannot open the PostgreSQL store at 127\\.0\\.0\\.1:${port}, database 'keystore' as user 'trent': .*ECONNREFUSED`,
        ),
      );
      assert.doesNotMatch(err.message, /s3cr3t/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });

  it('fails to open a database that does not exist, saying which', async () => {
    const u = new URL(POSTGRES_URL);
    u.pathname = '/trent_no_such_database';
    await assert.rejects(PostgresStore.open(u.toString()), (err: unknown) => {
      assert.ok(err instanceof StoreUnavailableError);
      assert.match(err.message, /database 'trent_no_such_database'.*does not exist/);
      return true;
    });
  });

  it('keeps the pool within ?max=', async () => {
    const url = new URL(schema.url);
    url.searchParams.set('max', '2');
    const store = await PostgresStore.open(url.toString());
    try {
      // 20 calls at once: an unbounded pool would open a connection for each.
      await Promise.all(Array.from({ length: 20 }, () => store.getMeta('pool-probe')));
      const [row] = await adminQuery<{ n: number }>(
        'SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [schema.name],
      );
      assert.ok(row !== undefined && row.n >= 1 && row.n <= 2, `${row?.n} connections open, max=2`);
    } finally {
      await store.close();
    }
  });

  it('fails requests with typed errors while the database is gone, and recovers when it returns', async () => {
    const upstream = new URL(POSTGRES_URL);
    const proxy = await TcpProxy.start(upstream.hostname, Number(upstream.port || 5432));
    const backgroundErrors: Error[] = [];
    const viaProxy = new URL(via(schema.url, '127.0.0.1', proxy.port));
    viaProxy.searchParams.set('connect_timeout', '2');
    const store = await PostgresStore.open(viaProxy.toString(), {
      onBackgroundError: (err) => backgroundErrors.push(err),
    });
    try {
      const before = key('before-outage');
      await store.insertKey(before, []);
      assert.deepEqual(await store.getKey(before.arn), before);

      await proxy.cut();
      await assert.rejects(store.getKey(before.arn), isConnectionKmsError);
      await assert.rejects(store.insertKey(key('during-outage'), []), isConnectionKmsError);
      await assert.rejects(store.putMetaIfAbsent('during', 'outage'), (err: unknown) => {
        assert.ok(err instanceof KmsError);
        assert.ok(err.status >= 500, `status ${err.status}`);
        assert.match(err.detail ?? '', new RegExp(`PostgreSQL store at 127\\.0\\.0\\.1:${proxy.port}`));
        return true;
      });

      await proxy.resume();
      assert.deepEqual(await store.getKey(before.arn), before);
      const after = key('after-outage');
      await store.insertKey(after, []);
      assert.deepEqual(await store.getKey(after.arn), after);
      assert.equal(await store.getKey(key('during-outage').arn), undefined);
    } finally {
      await store.close();
      await proxy.cut();
    }
  });

  it('serves reads on without a failed request when the server drops its pooled connections', async () => {
    const backgroundErrors: Error[] = [];
    const store = await PostgresStore.open(schema.url, { onBackgroundError: (err) => backgroundErrors.push(err) });
    try {
      const k = key('survivor');
      await store.insertKey(k, []);
      // Several pooled connections, then an administrator (or a failover) terminates them all.
      await Promise.all(Array.from({ length: 5 }, () => store.getKey(k.arn)));
      const killed = await adminQuery<{ ok: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [schema.name],
      );
      assert.ok(killed.length >= 1);
      for (let i = 0; i < 5; i++) assert.deepEqual(await store.getKey(k.arn), k);
      // Writes after the loss work on fresh connections.
      assert.equal(await store.updateKey({ ...k, description: 'after', revision: 2 }), true);
      await sleep(50);
      assert.ok(backgroundErrors.length >= 1, 'the idle connections reported their loss');
    } finally {
      await store.close();
    }
  });
});

describe('PostgresStore change notifications', () => {
  let schema: TestSchema;
  let writer: PostgresStore;
  let reader: PostgresStore;
  let heard: StoreChange[];
  let unwatch: () => Promise<void>;

  beforeEach(async () => {
    schema = await createTestSchema();
    writer = await PostgresStore.open(schema.url);
    reader = await PostgresStore.open(schema.url);
    heard = [];
    unwatch = await reader.watch((change) => heard.push(change));
  });

  afterEach(async () => {
    await unwatch();
    await writer.close();
    await reader.close();
    await schema.drop();
  });

  /** Waits (up to 1 s, the bound) until `heard` holds `n` changes. */
  async function hear(n: number): Promise<StoreChange[]> {
    const deadline = Date.now() + 1000;
    while (heard.length < n && Date.now() < deadline) await sleep(5);
    return heard.splice(0);
  }

  it('tells another node of every key update and deletion, within a second, and of nothing else', async () => {
    const k = key('watched');
    await writer.insertKey(k, []);
    await writer.insertAlias({
      accountId: k.accountId,
      region: k.region,
      aliasName: 'alias/watched',
      targetKeyId: k.keyId,
      creationDate: 0,
      lastUpdatedDate: 0,
    });
    await writer.putMetaIfAbsent('unrelated', 'x');
    assert.equal(await writer.updateKey({ ...k, keyState: 'Disabled', revision: 2 }), true);
    assert.deepEqual(await hear(1), [{ kind: 'key', arn: k.arn }], 'inserts are not reported');

    assert.equal(await writer.updateKey({ ...k, revision: 9 }), false);
    assert.equal(await writer.deleteKey(k.arn), true);
    assert.deepEqual(await hear(2), [
      { kind: 'key', arn: k.arn },
      { kind: 'alias', accountId: k.accountId, region: k.region, aliasName: 'alias/watched' },
    ]);
  });

  it('tells of alias updates and deletions', async () => {
    const alias = {
      accountId: '111122223333',
      region: 'eu-west-1',
      aliasName: 'alias/moving',
      targetKeyId: 'one',
      creationDate: 0,
      lastUpdatedDate: 0,
    };
    await writer.insertAlias(alias);
    await writer.updateAlias({ ...alias, targetKeyId: 'two' });
    await writer.deleteAlias(alias.accountId, alias.region, alias.aliasName);
    const change = { kind: 'alias', accountId: alias.accountId, region: alias.region, aliasName: alias.aliasName };
    assert.deepEqual(await hear(2), [change, change]);
  });

  it("ignores another deployment's changes in the same database", async () => {
    const other = await createTestSchema();
    const elsewhere = await PostgresStore.open(other.url);
    try {
      const k = key('elsewhere');
      await elsewhere.insertKey(k, []);
      await elsewhere.updateKey({ ...k, revision: 2 });
      await sleep(200);
      assert.deepEqual(heard, []);
    } finally {
      await elsewhere.close();
      await other.drop();
    }
  });

  it('says "all" when it lost the connection and again once it listens again, then hears on', async () => {
    await adminQuery(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
      [schema.name],
    );
    const deadline = Date.now() + 5000;
    while (heard.length < 2 && Date.now() < deadline) await sleep(20);
    assert.deepEqual(heard.splice(0), [{ kind: 'all' }, { kind: 'all' }]);
    const k = key('after-reconnect');
    await writer.insertKey(k, []);
    await writer.updateKey({ ...k, revision: 2 });
    assert.deepEqual(await hear(1), [{ kind: 'key', arn: k.arn }]);
  });
});

describe('postgres:// store specs', () => {
  const saved: Record<string, string | undefined> = {};
  const envNames = ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGCONNECT_TIMEOUT'];

  before(() => {
    for (const n of envNames) saved[n] = process.env[n];
  });

  after(() => {
    for (const n of envNames) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });

  it('takes what the URL leaves out from the PG* environment variables', () => {
    process.env.PGHOST = 'db.example.internal';
    process.env.PGPORT = '6543';
    process.env.PGDATABASE = 'kms';
    process.env.PGUSER = 'trent';
    assert.deepEqual(postgresConnection('postgres://').target, {
      host: 'db.example.internal',
      port: 6543,
      database: 'kms',
      user: 'trent',
    });
    assert.deepEqual(postgresConnection('postgresql://other@10.0.0.7/keys').target, {
      host: '10.0.0.7',
      port: 6543,
      database: 'keys',
      user: 'other',
    });
    for (const n of envNames) delete process.env[n];
  });

  it('reads pool settings from the URL, with defaults', () => {
    delete process.env.PGCONNECT_TIMEOUT;
    const defaults = postgresConnection('postgres://u@h/d').pool;
    assert.equal(defaults.max, 10);
    assert.equal(defaults.connectionTimeoutMillis, 5000);
    assert.equal(defaults.idleTimeoutMillis, 30_000);
    assert.equal(defaults.query_timeout, 30_000);
    const tuned = postgresConnection(
      'postgres://u@h/d?max=40&connect_timeout=9&idle_timeout=120&query_timeout=500',
    ).pool;
    assert.equal(tuned.max, 40);
    assert.equal(tuned.connectionTimeoutMillis, 9000);
    assert.equal(tuned.idleTimeoutMillis, 120_000);
    assert.equal(tuned.query_timeout, undefined, 'pg reads query_timeout from the URL itself');
    process.env.PGCONNECT_TIMEOUT = '3';
    assert.equal(postgresConnection('postgres://u@h/d').pool.connectionTimeoutMillis, 3000);
  });

  it('refuses bad pool settings, naming them', () => {
    assert.throws(() => postgresConnection('postgres://u@h/d?max=0'), StoreConfigError);
    assert.throws(() => postgresConnection('postgres://u@h/d?max=lots'), /max must be an integer from 1/);
    assert.throws(() => postgresConnection('postgres://u@h/d?connect_timeout=-1'), /connect_timeout/);
  });

  it('describes a target without its password', () => {
    const { target } = postgresConnection('postgres://trent:hunter2@db:5433/kms');
    assert.equal(describeTarget(target), "db:5433, database 'kms' as user 'trent'");
    assert.equal(
      describeTarget({ host: '/var/run/postgresql', port: 5432, database: 'test', user: 'root' }),
      "socket /var/run/postgresql/.s.PGSQL.5432, database 'test' as user 'root'",
    );
  });

  it('opens postgres:// and postgresql:// stores through openStore', async () => {
    const schema = await createTestSchema();
    try {
      for (const scheme of ['postgres:', 'postgresql:']) {
        const u = new URL(urlWithSchema(POSTGRES_URL, schema.name));
        const spec = `${scheme}${u.toString().slice(u.protocol.length)}`;
        const store = await openStore(spec, '/nonexistent');
        assert.ok(store instanceof PostgresStore);
        await store.putMetaIfAbsent('opened-by', scheme);
        await store.close();
      }
      const rows = await adminQuery<{ value: string }>(
        `SELECT value FROM ${schema.name}.meta WHERE name = 'opened-by'`,
      );
      assert.deepEqual(rows, [{ value: 'postgres:' }]);
    } finally {
      await schema.drop();
    }
  });
});

describe('PostgresStore destroyed material', () => {
  let schema: TestSchema;
  let store: PostgresStore;

  before(async () => {
    schema = await createTestSchema();
    store = await PostgresStore.open(schema.url);
  });

  after(async () => {
    await store?.close();
    await schema?.drop();
  });

  /** Every wrapped value left in the table, hex: the scan of what the database still holds. */
  async function wrappedInTable(): Promise<string[]> {
    const rows = await adminQuery<{ wrapped: Buffer }>(`SELECT wrapped FROM "${schema.name}".backing_keys`);
    return rows.map((r) => r.wrapped.toString('hex'));
  }

  it('deletes the rows of a deleted key and of deleted material versions (VACUUM then reclaims them)', async () => {
    const wrapped = (n: number) => Buffer.alloc(60, n);
    const k = key('7e5b0f8c-0d44-4d1c-9a55-5f0a3a0e0001');
    const backing = (materialId: string, n: number) => ({
      keyArn: k.arn,
      materialId,
      wrapped: wrapped(n),
      createdAt: 1_700_000_000_000,
    });
    await store.insertKey(k, [backing('a'.repeat(64), 1), backing('b'.repeat(64), 2)]);
    assert.deepEqual((await wrappedInTable()).sort(), [wrapped(1).toString('hex'), wrapped(2).toString('hex')]);

    // A material version deleted (as DeleteImportedKeyMaterial and expiry do), the other kept.
    assert.equal(await store.updateKey({ ...k, revision: 2 }, { delete: ['a'.repeat(64)] }), true);
    assert.deepEqual(await wrappedInTable(), [wrapped(2).toString('hex')]);

    // The key destroyed at the end of its waiting period.
    assert.equal(await store.deleteKey(k.arn), true);
    assert.deepEqual(await wrappedInTable(), []);
  });
});
