import type Database from 'better-sqlite3';

/**
 * Numbered schema migrations for the SQLite store. Append only: a released migration is never
 * edited, because stores in the field have already run it; a change is a new, higher version.
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
      -- The record lives whole in doc (JSON) so later fields need no migration; the columns beside
      -- it are copies that queries filter and sort on.
      CREATE TABLE keys (
        arn           TEXT    NOT NULL PRIMARY KEY,
        key_id        TEXT    NOT NULL,
        account_id    TEXT    NOT NULL,
        region        TEXT    NOT NULL,
        key_state     TEXT    NOT NULL,
        deletion_date INTEGER,
        revision      INTEGER NOT NULL,
        doc           TEXT    NOT NULL
      );
      CREATE UNIQUE INDEX keys_by_account_region_id ON keys (account_id, region, key_id);
      CREATE INDEX keys_by_state_deletion ON keys (key_state, deletion_date);

      CREATE TABLE backing_keys (
        key_arn     TEXT    NOT NULL REFERENCES keys (arn) ON DELETE CASCADE,
        material_id TEXT    NOT NULL,
        wrapped     BLOB    NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (key_arn, material_id)
      );

      CREATE TABLE aliases (
        account_id        TEXT    NOT NULL,
        region            TEXT    NOT NULL,
        alias_name        TEXT    NOT NULL,
        target_key_id     TEXT    NOT NULL,
        creation_date     INTEGER NOT NULL,
        last_updated_date INTEGER NOT NULL,
        PRIMARY KEY (account_id, region, alias_name)
      );
      CREATE INDEX aliases_by_target ON aliases (account_id, region, target_key_id, alias_name);

      CREATE TABLE accounts (
        account_id TEXT    NOT NULL PRIMARY KEY,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE access_keys (
        access_key_id  TEXT    NOT NULL PRIMARY KEY,
        account_id     TEXT    NOT NULL,
        principal_arn  TEXT    NOT NULL,
        secret_wrapped BLOB    NOT NULL,
        created_at     INTEGER NOT NULL,
        description    TEXT    NOT NULL
      );
      CREATE INDEX access_keys_by_account ON access_keys (account_id, access_key_id);

      CREATE TABLE meta (
        name  TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'audit trail',
    sql: `
      -- The audit chain (src/storage/audit-log.ts). record is the canonical text that hash covers;
      -- the other columns are copies that lookups filter on. seq is assigned by the appender, never
      -- by SQLite, so a removed row leaves a visible gap.
      CREATE TABLE audit_events (
        seq          INTEGER NOT NULL PRIMARY KEY,
        event_id     TEXT    NOT NULL,
        request_id   TEXT    NOT NULL,
        event_time   INTEGER NOT NULL,
        event_name   TEXT    NOT NULL,
        principal    TEXT,
        account_id   TEXT    NOT NULL,
        error_code   TEXT,
        read_only    INTEGER,
        key_arns     TEXT    NOT NULL,
        usage        INTEGER NOT NULL,
        record       TEXT    NOT NULL,
        prev_hash    TEXT    NOT NULL,
        hash         TEXT    NOT NULL
      );
      CREATE INDEX audit_events_by_time ON audit_events (event_time);
      CREATE INDEX audit_events_by_name ON audit_events (event_name, seq);
      CREATE INDEX audit_events_by_principal ON audit_events (principal, seq);

      CREATE TABLE audit_event_keys (
        key_arn TEXT    NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (key_arn, seq)
      );

      -- One row: the chain head survives pruning every event.
      CREATE TABLE audit_head (
        id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        seq        INTEGER NOT NULL,
        hash       TEXT    NOT NULL,
        started_at INTEGER NOT NULL
      );

      CREATE TABLE audit_key_usage (
        key_arn    TEXT    NOT NULL PRIMARY KEY,
        operation  TEXT    NOT NULL,
        event_time INTEGER NOT NULL,
        event_id   TEXT    NOT NULL,
        request_id TEXT    NOT NULL
      );

      CREATE TABLE audit_digests (
        number     INTEGER NOT NULL PRIMARY KEY,
        from_seq   INTEGER NOT NULL,
        to_seq     INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        doc        TEXT    NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'identities and grants',
    sql: `
      -- IAM users, their inline policies (src/storage/identity-store.ts) and grants
      -- (src/storage/grant-store.ts). identity_version is bumped by every identity write, so each
      -- process can tell when its identity cache is stale.
      CREATE TABLE iam_users (
        account_id TEXT    NOT NULL,
        user_name  TEXT    NOT NULL,
        user_id    TEXT    NOT NULL UNIQUE,
        tags       TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, user_name)
      );

      CREATE TABLE iam_user_policies (
        account_id  TEXT NOT NULL,
        user_name   TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (account_id, user_name, policy_name)
      );

      CREATE TABLE identity_version (
        id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
      );
      INSERT INTO identity_version (id, version) VALUES (1, 0);

      CREATE TABLE grants (
        key_arn            TEXT    NOT NULL,
        grant_id           TEXT    NOT NULL,
        retiring_principal TEXT,
        doc                TEXT    NOT NULL,
        PRIMARY KEY (key_arn, grant_id)
      );
      CREATE INDEX grants_by_retiring ON grants (retiring_principal, key_arn, grant_id);

      -- Grants are deleted with their key, whichever code path destroys it.
      CREATE TRIGGER grants_of_deleted_key AFTER DELETE ON keys
      BEGIN
        DELETE FROM grants WHERE key_arn = OLD.arn;
      END;
    `,
  },
  {
    version: 4,
    name: 'roles, sessions and service control policies',
    sql: `
      -- IAM roles with their trust policies and inline policies, STS sessions (temporary
      -- credentials: the secret wrapped under the root key, the token only as a SHA-256), and SCPs
      -- per account (src/storage/identity-store.ts). Role and SCP writes bump identity_version.
      CREATE TABLE iam_roles (
        account_id           TEXT    NOT NULL,
        role_name            TEXT    NOT NULL,
        role_id              TEXT    NOT NULL UNIQUE,
        trust_policy         TEXT    NOT NULL,
        tags                 TEXT    NOT NULL,
        max_session_duration INTEGER NOT NULL,
        created_at           INTEGER NOT NULL,
        PRIMARY KEY (account_id, role_name)
      );

      CREATE TABLE iam_role_policies (
        account_id  TEXT NOT NULL,
        role_name   TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (account_id, role_name, policy_name)
      );

      CREATE TABLE sts_sessions (
        access_key_id  TEXT    NOT NULL PRIMARY KEY,
        secret_wrapped BLOB    NOT NULL,
        expires_at     INTEGER NOT NULL,
        doc            TEXT    NOT NULL
      );
      CREATE INDEX sts_sessions_by_expiry ON sts_sessions (expires_at);

      CREATE TABLE service_control_policies (
        account_id  TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (account_id, policy_name)
      );
    `,
  },
  {
    version: 5,
    name: 'change log for several processes',
    sql: `
      -- Several processes on one file (trent server --workers N, docs/multi-process.md): every
      -- update or deletion of a key, an alias or a grant appends what changed here, by trigger, in
      -- the writer's own transaction; each process polls for rows past the last it saw and forgets
      -- those cache entries (SqliteStore.watch). Old rows are pruned by the same triggers: a reader
      -- that finds a gap forgets everything.
      CREATE TABLE changes (
        seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        kind       TEXT    NOT NULL,
        key_arn    TEXT,
        account_id TEXT,
        region     TEXT,
        alias_name TEXT
      );
      CREATE TRIGGER changes_key_update AFTER UPDATE ON keys
      BEGIN
        INSERT INTO changes (kind, key_arn) VALUES ('key', OLD.arn);
        DELETE FROM changes WHERE seq <= last_insert_rowid() - 10000;
      END;
      CREATE TRIGGER changes_key_delete AFTER DELETE ON keys
      BEGIN
        INSERT INTO changes (kind, key_arn) VALUES ('key', OLD.arn);
      END;
      CREATE TRIGGER changes_alias_update AFTER UPDATE ON aliases
      BEGIN
        INSERT INTO changes (kind, account_id, region, alias_name)
        VALUES ('alias', OLD.account_id, OLD.region, OLD.alias_name);
      END;
      CREATE TRIGGER changes_alias_delete AFTER DELETE ON aliases
      BEGIN
        INSERT INTO changes (kind, account_id, region, alias_name)
        VALUES ('alias', OLD.account_id, OLD.region, OLD.alias_name);
      END;
      CREATE TRIGGER changes_grant_insert AFTER INSERT ON grants
      BEGIN
        INSERT INTO changes (kind, key_arn) VALUES ('key', NEW.key_arn);
      END;
      CREATE TRIGGER changes_grant_update AFTER UPDATE ON grants
      BEGIN
        INSERT INTO changes (kind, key_arn) VALUES ('key', OLD.key_arn);
      END;
      CREATE TRIGGER changes_grant_delete AFTER DELETE ON grants
      BEGIN
        INSERT INTO changes (kind, key_arn) VALUES ('key', OLD.key_arn);
      END;
    `,
  },
  {
    version: 6,
    name: 'trust policy principals bound to unique ids',
    sql: `
      -- The unique ids (AIDA…, AROA…) of the principals a role's trust policy names, as JSON
      -- {arn: id}, resolved when the trust policy is saved (RoleRecord.trustPrincipals). NULL for
      -- roles saved before: their trust policies match by ARN until saved again.
      ALTER TABLE iam_roles ADD COLUMN trust_principals TEXT;
    `,
  },
  {
    version: 7,
    name: 'customer managed policies',
    sql: `
      -- Customer managed policies (arn:aws:iam::<account>:policy/<name>) and what they are attached
      -- to. A policy attached to anything cannot be deleted (IAM's DeleteConflict); attachments go
      -- with their user or role.
      CREATE TABLE iam_managed_policies (
        account_id  TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        policy_id   TEXT NOT NULL UNIQUE,
        document    TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (account_id, policy_name)
      );
      CREATE TABLE iam_policy_attachments (
        account_id  TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        entity_type TEXT NOT NULL CHECK (entity_type IN ('user', 'role')),
        entity_name TEXT NOT NULL,
        PRIMARY KEY (account_id, policy_name, entity_type, entity_name)
      );
      CREATE INDEX iam_policy_attachments_by_entity ON iam_policy_attachments (account_id, entity_type, entity_name);
    `,
  },
  {
    version: 8,
    name: 'audit indexes built after the commit',
    sql: `
      -- The audit lookup indexes leave the append's transaction: appending a record writes only
      -- audit_events and audit_head, and SqliteAuditLog brings these tables up to date afterwards
      -- (and before any read of them), up to audit_index_state.indexed_seq. They hold nothing that
      -- audit_events does not, so a crash before they catch up loses nothing.
      DROP INDEX audit_events_by_time;
      DROP INDEX audit_events_by_name;
      DROP INDEX audit_events_by_principal;
      CREATE TABLE audit_index (
        seq        INTEGER NOT NULL PRIMARY KEY,
        event_time INTEGER NOT NULL,
        event_name TEXT    NOT NULL,
        principal  TEXT
      );
      CREATE INDEX audit_index_by_time ON audit_index (event_time);
      CREATE INDEX audit_index_by_name ON audit_index (event_name, seq);
      CREATE INDEX audit_index_by_principal ON audit_index (principal, seq);
      INSERT INTO audit_index (seq, event_time, event_name, principal)
        SELECT seq, event_time, event_name, principal FROM audit_events;
      CREATE TABLE audit_index_state (
        id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        indexed_seq INTEGER NOT NULL
      );
      INSERT INTO audit_index_state (id, indexed_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_events;
    `,
  },
  {
    version: 9,
    name: 'scheduler lookups by index',
    sql: `
      -- The rotation and expiry schedulers' questions, answered from an index instead of a read of
      -- every key's document (0.3 s and 0.7 s on the event loop, once a minute, at 100,000 keys).
      -- Only keys that have the date are indexed; the queries repeat these expressions exactly.
      CREATE INDEX keys_by_next_rotation ON keys (json_extract(doc, '$.nextRotationDate'))
        WHERE key_state = 'Enabled' AND json_extract(doc, '$.nextRotationDate') IS NOT NULL;
      CREATE INDEX keys_by_material_expiry ON keys (json_extract(doc, '$.materialExpiry'))
        WHERE json_extract(doc, '$.materialExpiry') IS NOT NULL;
    `,
  },
  {
    version: 10,
    name: 'audit indexes move to a file of their own',
    sql: `
      -- The audit lookup indexes move to a file beside the log (storage/sqlite/audit-index.ts),
      -- where a thread keeps them up to date without holding this file's write lock. They are
      -- rebuilt there from audit_events; only each key's last use, which outlives pruned records,
      -- is carried over: SqliteAuditLog.open copies this table to the index file and drops it.
      DROP TABLE audit_index;
      DROP TABLE audit_index_state;
      DROP TABLE audit_event_keys;
      ALTER TABLE audit_key_usage RENAME TO audit_key_usage_moved;
    `,
  },
  {
    version: 11,
    name: 'audit digests by their last record',
    sql: `
      -- Retention reads only the digests whose records are still in the log (AuditLog.digestsFrom):
      -- with a digest every 10,000 records there are too many to read them all each time.
      CREATE INDEX audit_digests_by_to_seq ON audit_digests (to_seq);
    `,
  },
  {
    version: 12,
    name: 'the event times of the undigested records kept with the head',
    sql: `
      -- A digest states the oldest and newest event time of its records. Read with a scan of the
      -- range inside the digest's transaction, 10,000 records held the write lock for 13–16 ms:
      -- each append keeps them in the head row instead, and each digest clears them.
      ALTER TABLE audit_head ADD COLUMN undigested_oldest INTEGER;
      ALTER TABLE audit_head ADD COLUMN undigested_newest INTEGER;
      UPDATE audit_head SET
        undigested_oldest = (SELECT MIN(event_time) FROM audit_events
          WHERE seq > (SELECT COALESCE(MAX(to_seq), 0) FROM audit_digests)),
        undigested_newest = (SELECT MAX(event_time) FROM audit_events
          WHERE seq > (SELECT COALESCE(MAX(to_seq), 0) FROM audit_digests));
    `,
  },
  {
    version: 13,
    name: 'key counts per account and region',
    sql: `
      -- CreateKey checks the key quota. A COUNT over the account's keys scanned its index: ~11-15 ms
      -- of the event loop at 100,000 keys, for every CreateKey. The triggers keep the count in the
      -- writer's own transaction, whatever path writes the keys. (A key never changes account or
      -- region: both are in its ARN, the primary key.)
      CREATE TABLE key_counts (
        account_id TEXT    NOT NULL,
        region     TEXT    NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (account_id, region)
      ) WITHOUT ROWID;
      INSERT INTO key_counts (account_id, region, n)
        SELECT account_id, region, COUNT(*) FROM keys GROUP BY account_id, region;
      CREATE TRIGGER key_counts_insert AFTER INSERT ON keys
      BEGIN
        INSERT INTO key_counts (account_id, region, n) VALUES (NEW.account_id, NEW.region, 1)
          ON CONFLICT (account_id, region) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER key_counts_delete AFTER DELETE ON keys
      BEGIN
        UPDATE key_counts SET n = n - 1 WHERE account_id = OLD.account_id AND region = OLD.region;
      END;
    `,
  },
  {
    version: 14,
    name: 'grant changes name the grant',
    sql: `
      -- A key may hold 50,000 grants. A grant change used to be reported as a change of its key,
      -- and every process then read all of the key's grants again (tens of milliseconds at that
      -- count, for every CreateGrant or RetireGrant). It now names the grant, which each process
      -- reads alone (SqliteStore.watch, KmsAuthorizer.grantStored).
      ALTER TABLE changes ADD COLUMN grant_id TEXT;
      DROP TRIGGER IF EXISTS changes_grant_insert;
      DROP TRIGGER IF EXISTS changes_grant_update;
      DROP TRIGGER IF EXISTS changes_grant_delete;
      CREATE TRIGGER changes_grant_insert AFTER INSERT ON grants
      BEGIN
        INSERT INTO changes (kind, key_arn, grant_id) VALUES ('grant', NEW.key_arn, NEW.grant_id);
      END;
      CREATE TRIGGER changes_grant_update AFTER UPDATE ON grants
      BEGIN
        INSERT INTO changes (kind, key_arn, grant_id) VALUES ('grant', OLD.key_arn, OLD.grant_id);
        INSERT INTO changes (kind, key_arn, grant_id) VALUES ('grant', NEW.key_arn, NEW.grant_id);
      END;
      CREATE TRIGGER changes_grant_delete AFTER DELETE ON grants
      BEGIN
        INSERT INTO changes (kind, key_arn, grant_id) VALUES ('grant', OLD.key_arn, OLD.grant_id);
      END;
    `,
  },
  {
    version: 15,
    name: 'grant counts per key, and grants by grantee and by name',
    sql: `
      -- A key may hold 50,000 grants. CreateGrant checks that quota: a COUNT over the key's grants
      -- read every one of its index entries, for every CreateGrant; the triggers keep the count in
      -- the writer's own transaction instead (a key without grants has no row). ListGrants for one
      -- grantee, and CreateGrant with a Name (which returns an identical grant of that name), read
      -- every grant of the key to pick the ones they want: the indexes make each a range.
      CREATE TABLE grant_counts (
        key_arn TEXT    NOT NULL PRIMARY KEY,
        n       INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO grant_counts (key_arn, n) SELECT key_arn, COUNT(*) FROM grants GROUP BY key_arn;
      CREATE TRIGGER grant_counts_insert AFTER INSERT ON grants
      BEGIN
        INSERT INTO grant_counts (key_arn, n) VALUES (NEW.key_arn, 1)
          ON CONFLICT (key_arn) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER grant_counts_delete AFTER DELETE ON grants
      BEGIN
        UPDATE grant_counts SET n = n - 1 WHERE key_arn = OLD.key_arn;
        DELETE FROM grant_counts WHERE key_arn = OLD.key_arn AND n = 0;
      END;
      CREATE INDEX grants_by_grantee ON grants (key_arn, json_extract(doc, '$.granteePrincipal'), grant_id);
      CREATE INDEX grants_by_name ON grants (key_arn, json_extract(doc, '$.name'), grant_id)
        WHERE json_extract(doc, '$.name') IS NOT NULL;
    `,
  },
];

export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

/** The store's schema is newer than this code: writing to it could corrupt it, so refuse. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly storeVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      `This store was migrated by a newer Trent: its schema is at version ${storeVersion}, ` +
        `but this Trent knows schema versions up to ${knownVersion}. Upgrade Trent to open it.`,
    );
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Brings the schema up to LATEST_SCHEMA_VERSION, or refuses a schema newer than that. Runs in one
 * IMMEDIATE transaction, so two processes opening a fresh store together migrate it once: the
 * second waits on the write lock, then finds nothing left to do.
 */
export function applyMigrations(db: Database.Database, now: () => number = Date.now): void {
  db.transaction(() => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER NOT NULL PRIMARY KEY,
        name       TEXT    NOT NULL,
        applied_at INTEGER NOT NULL
      )
    `);
    const current = currentVersion(db);
    if (current > LATEST_SCHEMA_VERSION) {
      throw new SchemaTooNewError(current, LATEST_SCHEMA_VERSION);
    }
    const record = db.prepare<[number, string, number]>(
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, now());
    }
  }).immediate();
}

function currentVersion(db: Database.Database): number {
  const row = db.prepare<[], { version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations').get();
  return row?.version ?? 0;
}
