import type pg from 'pg';
import { SchemaTooNewError } from '../sqlite/migrations.js';

/**
 * Numbered schema migrations for the PostgreSQL store, mirroring the SQLite schema table for table
 * (src/storage/sqlite/migrations.ts). Append only: a released migration is never edited; a change
 * is a new, higher version. Versions are this adapter's own: they need not match SQLite's numbers.
 *
 * Every text column that is compared or sorted on is `COLLATE "C"`, so ordering is byte-wise, as in
 * SQLite — the database's default collation (en_US.UTF-8, say) would sort `B…` between `a…` and `c…`,
 * and a ListKeys marker would then skip or repeat keys.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      -- The record lives whole in doc (JSON as TEXT, as in SQLite: JSONB would refuse a \\u0000
      -- escape in a description or tag, and no query looks inside doc) so later fields need no
      -- migration; the columns beside it are copies that queries filter and sort on.
      CREATE TABLE keys (
        arn           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        key_id        TEXT COLLATE "C" NOT NULL,
        account_id    TEXT COLLATE "C" NOT NULL,
        region        TEXT COLLATE "C" NOT NULL,
        key_state     TEXT COLLATE "C" NOT NULL,
        deletion_date BIGINT,
        revision      BIGINT NOT NULL,
        doc           TEXT   NOT NULL
      );
      CREATE UNIQUE INDEX keys_by_account_region_id ON keys (account_id, region, key_id);
      CREATE INDEX keys_by_state_deletion ON keys (key_state, deletion_date);

      -- seq keeps insertion order among versions created in the same millisecond (SQLite's rowid).
      CREATE TABLE backing_keys (
        key_arn     TEXT COLLATE "C" NOT NULL REFERENCES keys (arn) ON DELETE CASCADE,
        material_id TEXT COLLATE "C" NOT NULL,
        wrapped     BYTEA  NOT NULL,
        created_at  BIGINT NOT NULL,
        seq         BIGINT GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (key_arn, material_id)
      );

      CREATE TABLE aliases (
        account_id        TEXT COLLATE "C" NOT NULL,
        region            TEXT COLLATE "C" NOT NULL,
        alias_name        TEXT COLLATE "C" NOT NULL,
        target_key_id     TEXT COLLATE "C" NOT NULL,
        creation_date     BIGINT NOT NULL,
        last_updated_date BIGINT NOT NULL,
        PRIMARY KEY (account_id, region, alias_name)
      );
      CREATE INDEX aliases_by_target ON aliases (account_id, region, target_key_id, alias_name);

      CREATE TABLE accounts (
        account_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        created_at BIGINT NOT NULL
      );

      CREATE TABLE access_keys (
        access_key_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        account_id     TEXT COLLATE "C" NOT NULL,
        principal_arn  TEXT   NOT NULL,
        secret_wrapped BYTEA  NOT NULL,
        created_at     BIGINT NOT NULL,
        description    TEXT   NOT NULL
      );
      CREATE INDEX access_keys_by_account ON access_keys (account_id, access_key_id);

      CREATE TABLE meta (
        name  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'change notifications',
    sql: `
      -- Every node caches keys and aliases; an update or delete, by any node or by hand, tells
      -- them all at commit (NOTIFY is transactional) on one channel, naming the schema so that
      -- deployments sharing a database ignore each other. Inserts need no notice: no cache holds
      -- what did not exist. See change-listener.ts.
      CREATE FUNCTION trent_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_TABLE_NAME = 'keys' THEN
          PERFORM pg_notify('trent_changes',
            json_build_object('schema', TG_TABLE_SCHEMA, 'kind', 'key', 'arn', OLD.arn)::text);
        ELSE
          PERFORM pg_notify('trent_changes',
            json_build_object('schema', TG_TABLE_SCHEMA, 'kind', 'alias', 'accountId', OLD.account_id,
              'region', OLD.region, 'aliasName', OLD.alias_name)::text);
        END IF;
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER keys_changed AFTER UPDATE OR DELETE ON keys
        FOR EACH ROW EXECUTE FUNCTION trent_notify_change();
      CREATE TRIGGER aliases_changed AFTER UPDATE OR DELETE ON aliases
        FOR EACH ROW EXECUTE FUNCTION trent_notify_change();
    `,
  },
  {
    version: 3,
    name: 'audit trail',
    sql: `
      -- The audit chain (src/storage/audit-log.ts), mirroring SQLite's migration 2. seq is assigned
      -- by the appender under the audit_head row lock, never by a sequence, so every node appends to
      -- one gapless chain and a removed row leaves a visible gap.
      CREATE TABLE audit_events (
        seq          BIGINT  NOT NULL PRIMARY KEY,
        event_id     TEXT COLLATE "C" NOT NULL,
        request_id   TEXT COLLATE "C" NOT NULL,
        event_time   BIGINT  NOT NULL,
        event_name   TEXT COLLATE "C" NOT NULL,
        principal    TEXT COLLATE "C",
        account_id   TEXT COLLATE "C" NOT NULL,
        error_code   TEXT COLLATE "C",
        read_only    BOOLEAN,
        key_arns     TEXT COLLATE "C" NOT NULL,
        usage        BOOLEAN NOT NULL,
        record       TEXT COLLATE "C" NOT NULL,
        prev_hash    TEXT COLLATE "C" NOT NULL,
        hash         TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX audit_events_by_time ON audit_events (event_time);
      CREATE INDEX audit_events_by_name ON audit_events (event_name, seq);
      CREATE INDEX audit_events_by_principal ON audit_events (principal, seq);

      CREATE TABLE audit_event_keys (
        key_arn TEXT COLLATE "C" NOT NULL,
        seq     BIGINT NOT NULL,
        PRIMARY KEY (key_arn, seq)
      );

      -- One row: the chain head survives pruning every event; appenders lock it FOR UPDATE.
      CREATE TABLE audit_head (
        id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        seq        BIGINT  NOT NULL,
        hash       TEXT COLLATE "C" NOT NULL,
        started_at BIGINT  NOT NULL
      );

      CREATE TABLE audit_key_usage (
        key_arn    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        operation  TEXT COLLATE "C" NOT NULL,
        event_time BIGINT NOT NULL,
        event_id   TEXT COLLATE "C" NOT NULL,
        request_id TEXT COLLATE "C" NOT NULL
      );

      CREATE TABLE audit_digests (
        number     INTEGER NOT NULL PRIMARY KEY,
        from_seq   BIGINT  NOT NULL,
        to_seq     BIGINT  NOT NULL,
        created_at BIGINT  NOT NULL,
        doc        TEXT COLLATE "C" NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'identities, grants, roles, sessions and service control policies',
    sql: `
      -- Mirrors SQLite's migrations 3 and 4 (src/storage/identity-store.ts, grant-store.ts).
      -- identity_version is bumped by every identity write, in the writer's transaction: every
      -- node's identity directory polls it and forgets its cache when it moves.
      CREATE TABLE iam_users (
        account_id TEXT COLLATE "C" NOT NULL,
        user_name  TEXT COLLATE "C" NOT NULL,
        user_id    TEXT COLLATE "C" NOT NULL UNIQUE,
        tags       TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, user_name)
      );

      CREATE TABLE iam_user_policies (
        account_id  TEXT COLLATE "C" NOT NULL,
        user_name   TEXT COLLATE "C" NOT NULL,
        policy_name TEXT COLLATE "C" NOT NULL,
        document    TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, user_name, policy_name)
      );

      CREATE TABLE identity_version (
        id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        version BIGINT  NOT NULL
      );
      INSERT INTO identity_version (id, version) VALUES (1, 0);

      CREATE TABLE iam_roles (
        account_id           TEXT COLLATE "C" NOT NULL,
        role_name            TEXT COLLATE "C" NOT NULL,
        role_id              TEXT COLLATE "C" NOT NULL UNIQUE,
        trust_policy         TEXT COLLATE "C" NOT NULL,
        tags                 TEXT COLLATE "C" NOT NULL,
        max_session_duration INTEGER NOT NULL,
        created_at           BIGINT  NOT NULL,
        PRIMARY KEY (account_id, role_name)
      );

      CREATE TABLE iam_role_policies (
        account_id  TEXT COLLATE "C" NOT NULL,
        role_name   TEXT COLLATE "C" NOT NULL,
        policy_name TEXT COLLATE "C" NOT NULL,
        document    TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, role_name, policy_name)
      );

      CREATE TABLE sts_sessions (
        access_key_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        secret_wrapped BYTEA  NOT NULL,
        expires_at     BIGINT NOT NULL,
        doc            TEXT   NOT NULL
      );
      CREATE INDEX sts_sessions_by_expiry ON sts_sessions (expires_at);

      CREATE TABLE service_control_policies (
        account_id  TEXT COLLATE "C" NOT NULL,
        policy_name TEXT COLLATE "C" NOT NULL,
        document    TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, policy_name)
      );

      CREATE TABLE grants (
        key_arn            TEXT COLLATE "C" NOT NULL,
        grant_id           TEXT COLLATE "C" NOT NULL,
        retiring_principal TEXT COLLATE "C",
        doc                TEXT NOT NULL,
        PRIMARY KEY (key_arn, grant_id)
      );
      CREATE INDEX grants_by_retiring ON grants (retiring_principal, key_arn, grant_id);

      -- Grants go with their key, whichever code path deletes it.
      CREATE FUNCTION trent_delete_grants_of_key() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM grants WHERE key_arn = OLD.arn;
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER grants_of_deleted_key AFTER DELETE ON keys
        FOR EACH ROW EXECUTE FUNCTION trent_delete_grants_of_key();

      -- A grant created, changed or revoked on one node: every node forgets what it cached for the
      -- key (its grants and the authorization decisions made with them), as for a key change.
      CREATE FUNCTION trent_notify_grant_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('trent_changes', json_build_object('schema', TG_TABLE_SCHEMA, 'kind', 'key',
          'arn', CASE WHEN TG_OP = 'INSERT' THEN NEW.key_arn ELSE OLD.key_arn END)::text);
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER grants_changed AFTER INSERT OR UPDATE OR DELETE ON grants
        FOR EACH ROW EXECUTE FUNCTION trent_notify_grant_change();
    `,
  },
  {
    version: 5,
    name: 'trust policy principals bound to unique ids',
    sql: `
      -- The unique ids (AIDA…, AROA…) of the principals a role's trust policy names, as JSON
      -- {arn: id}, resolved when the trust policy is saved (RoleRecord.trustPrincipals). NULL for
      -- roles saved before: their trust policies match by ARN until saved again.
      ALTER TABLE iam_roles ADD COLUMN trust_principals TEXT COLLATE "C";
    `,
  },
  {
    version: 6,
    name: 'customer managed policies',
    sql: `
      -- Customer managed policies (arn:aws:iam::<account>:policy/<name>) and what they are attached
      -- to. A policy attached to anything cannot be deleted (IAM's DeleteConflict); attachments go
      -- with their user or role.
      CREATE TABLE iam_managed_policies (
        account_id  TEXT COLLATE "C" NOT NULL,
        policy_name TEXT COLLATE "C" NOT NULL,
        policy_id   TEXT COLLATE "C" NOT NULL UNIQUE,
        document    TEXT COLLATE "C" NOT NULL,
        created_at  BIGINT  NOT NULL,
        PRIMARY KEY (account_id, policy_name)
      );
      CREATE TABLE iam_policy_attachments (
        account_id  TEXT COLLATE "C" NOT NULL,
        policy_name TEXT COLLATE "C" NOT NULL,
        entity_type TEXT COLLATE "C" NOT NULL CHECK (entity_type IN ('user', 'role')),
        entity_name TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, policy_name, entity_type, entity_name)
      );
      CREATE INDEX iam_policy_attachments_by_entity ON iam_policy_attachments (account_id, entity_type, entity_name);
    `,
  },
  {
    version: 7,
    name: 'scheduler lookups by index',
    sql: `
      -- The rotation and expiry schedulers' questions, answered from an index instead of a read of
      -- every key's document; only keys that have the date are indexed. The queries
      -- (postgres-store.ts) repeat these expressions exactly.
      CREATE INDEX keys_by_next_rotation ON keys (((doc::json->>'nextRotationDate')::bigint))
        WHERE key_state = 'Enabled' AND (doc::json->>'nextRotationDate') IS NOT NULL;
      CREATE INDEX keys_by_material_expiry ON keys (((doc::json->>'materialExpiry')::bigint))
        WHERE (doc::json->>'materialExpiry') IS NOT NULL;
    `,
  },
  {
    version: 8,
    name: 'audit digests by their last record',
    sql: `
      -- Retention reads only the digests whose records are still in the log (AuditLog.digestsFrom):
      -- with a digest every 10,000 records there are too many to read them all each time.
      CREATE INDEX audit_digests_by_to_seq ON audit_digests (to_seq);
    `,
  },
  {
    version: 9,
    name: 'the event times of the undigested records kept with the head',
    sql: `
      -- A digest states the oldest and newest event time of its records: each append keeps them
      -- in the head row, and each digest clears them, instead of a scan of the range inside the
      -- digest's transaction, which held the head row lock (and so every append) meanwhile.
      ALTER TABLE audit_head ADD COLUMN undigested_oldest BIGINT;
      ALTER TABLE audit_head ADD COLUMN undigested_newest BIGINT;
      UPDATE audit_head SET
        undigested_oldest = (SELECT MIN(event_time) FROM audit_events
          WHERE seq > (SELECT COALESCE(MAX(to_seq), 0) FROM audit_digests)),
        undigested_newest = (SELECT MAX(event_time) FROM audit_events
          WHERE seq > (SELECT COALESCE(MAX(to_seq), 0) FROM audit_digests));
    `,
  },
  {
    version: 10,
    name: 'key counts per account and region',
    sql: `
      -- CreateKey checks the key quota. A COUNT over the account's keys took 30-37 ms of the
      -- database at 100,000 keys, for every CreateKey. The triggers keep the count in the writer's
      -- own transaction, whatever path writes the keys (a key never changes account or region: both
      -- are in its ARN). Spread over 16 rows an account, by the connection's backend: in one row,
      -- concurrent CreateKeys of an account queued on it for the rest of their transactions and
      -- served a quarter less at concurrency 32 (docs/benchmarks.md).
      CREATE TABLE key_counts (
        account_id TEXT COLLATE "C" NOT NULL,
        region     TEXT COLLATE "C" NOT NULL,
        shard      SMALLINT NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (account_id, region, shard)
      );
      INSERT INTO key_counts (account_id, region, shard, n)
        SELECT account_id, region, 0, COUNT(*) FROM keys GROUP BY account_id, region;
      CREATE FUNCTION trent_count_keys() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          INSERT INTO key_counts (account_id, region, shard, n)
            VALUES (OLD.account_id, OLD.region, pg_backend_pid() % 16, -1)
            ON CONFLICT (account_id, region, shard) DO UPDATE SET n = key_counts.n - 1;
        ELSE
          INSERT INTO key_counts (account_id, region, shard, n)
            VALUES (NEW.account_id, NEW.region, pg_backend_pid() % 16, 1)
            ON CONFLICT (account_id, region, shard) DO UPDATE SET n = key_counts.n + 1;
        END IF;
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER keys_counted AFTER INSERT OR DELETE ON keys
        FOR EACH ROW EXECUTE FUNCTION trent_count_keys();
    `,
  },
  {
    version: 11,
    name: 'grant changes name the grant',
    sql: `
      -- A key may hold 50,000 grants. A grant change used to be announced as a change of its key,
      -- and every node then read all of the key's grants again (tens of milliseconds at that count,
      -- for every CreateGrant or RetireGrant). It now names the grant, which each node reads alone
      -- (ChangeListener, KmsAuthorizer.grantStored).
      CREATE OR REPLACE FUNCTION trent_notify_grant_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          PERFORM pg_notify('trent_changes', json_build_object('schema', TG_TABLE_SCHEMA, 'kind', 'grant',
            'arn', OLD.key_arn, 'grantId', OLD.grant_id)::text);
        END IF;
        IF TG_OP <> 'DELETE' THEN
          PERFORM pg_notify('trent_changes', json_build_object('schema', TG_TABLE_SCHEMA, 'kind', 'grant',
            'arn', NEW.key_arn, 'grantId', NEW.grant_id)::text);
        END IF;
        RETURN NULL;
      END
      $$;
    `,
  },
  {
    version: 12,
    name: 'grant counts per key, and grants by grantee and by name',
    sql: `
      -- A key may hold 50,000 grants. CreateGrant checks that quota: a COUNT over the key's grants
      -- read every one of its index entries, for every CreateGrant, under the key's grant lock; the
      -- triggers keep the count in the writer's own transaction instead (one row a key: its grant
      -- inserts are serialized by that lock anyway; a key without grants has no row). ListGrants for
      -- one grantee, and CreateGrant with a Name (which returns an identical grant of that name),
      -- read every grant of the key to pick the ones they want: the indexes make each a range.
      CREATE TABLE grant_counts (
        key_arn TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        n       BIGINT NOT NULL
      );
      INSERT INTO grant_counts (key_arn, n) SELECT key_arn, COUNT(*) FROM grants GROUP BY key_arn;
      CREATE FUNCTION trent_count_grants() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          UPDATE grant_counts SET n = n - 1 WHERE key_arn = OLD.key_arn;
          DELETE FROM grant_counts WHERE key_arn = OLD.key_arn AND n = 0;
        ELSE
          INSERT INTO grant_counts (key_arn, n) VALUES (NEW.key_arn, 1)
            ON CONFLICT (key_arn) DO UPDATE SET n = grant_counts.n + 1;
        END IF;
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER grants_counted AFTER INSERT OR DELETE ON grants
        FOR EACH ROW EXECUTE FUNCTION trent_count_grants();
      CREATE INDEX grants_by_grantee ON grants (key_arn, ((doc::jsonb)->>'granteePrincipal'), grant_id);
      CREATE INDEX grants_by_name ON grants (key_arn, ((doc::jsonb)->>'name'), grant_id)
        WHERE (doc::jsonb)->>'name' IS NOT NULL;
    `,
  },
];

export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

/**
 * The advisory lock that serializes migrations: one per schema (two-key form, the second key from
 * the current schema's name), so nodes sharing a schema migrate once while test runs in separate
 * schemas of one database do not wait on each other.
 */
const MIGRATION_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('trent.migrations'), hashtext(current_schema()))`;

/**
 * Brings the schema up to LATEST_SCHEMA_VERSION, or refuses a schema newer than that. Runs in one
 * transaction holding the migration lock, so several nodes opening a fresh store together migrate it
 * once: the others wait on the lock, then find nothing left to do. DDL is transactional in
 * PostgreSQL, so a migration that fails leaves no half-made schema behind.
 */
export async function applyMigrations(client: pg.ClientBase, now: () => number = Date.now): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(MIGRATION_LOCK_SQL);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER NOT NULL PRIMARY KEY,
        name       TEXT    NOT NULL,
        applied_at BIGINT  NOT NULL
      )
    `);
    const result = await client.query<{ version: number | null }>(
      'SELECT MAX(version) AS version FROM schema_migrations',
    );
    const current = result.rows[0]?.version ?? 0;
    if (current > LATEST_SCHEMA_VERSION) throw new SchemaTooNewError(current, LATEST_SCHEMA_VERSION);
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        now(),
      ]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
