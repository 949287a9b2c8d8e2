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
