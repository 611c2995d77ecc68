import type BetterSqlite3 from 'better-sqlite3';

export interface Migration {
  version: number;
  sql: string;
}

/**
 * The schema, as an append-only history: never edit a shipped entry, add a new one. STRICT tables
 * make SQLite refuse a wrongly typed value (a string in a timestamp) instead of storing it.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX users_created_at ON users (created_at, id);

      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        secret_hash TEXT UNIQUE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        method TEXT NOT NULL CHECK (method IN ('session', 'token')),
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        idle_expires_at INTEGER NOT NULL,
        absolute_expires_at INTEGER NOT NULL,
        user_agent TEXT,
        ip TEXT
      ) STRICT;
      CREATE INDEX sessions_user_id ON sessions (user_id);
      CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
      CREATE INDEX sessions_absolute_expires_at ON sessions (absolute_expires_at);
    `,
  },
  {
    version: 2,
    // A family belongs to its session (one each, hence UNIQUE, which also indexes the cascade) and
    // every hash to its family, so deleting a session removes the family and its whole hash history
    // in the same statement. user_id has no reference of its own: the session's already cascades.
    sql: `
      CREATE TABLE refresh_families (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        current_hash TEXT NOT NULL,
        previous_hash TEXT,
        successor_sealed TEXT,
        rotated_at INTEGER,
        generation INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        idle_expires_at INTEGER NOT NULL,
        absolute_expires_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE refresh_token_hashes (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX refresh_token_hashes_family_id ON refresh_token_hashes (family_id);

      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk TEXT,
        private_jwk_sealed TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER,
        expires_at INTEGER
      ) STRICT;
    `,
  },
];

/** The newest migration applied to the database: 0 for a file coatcheck has not migrated yet. */
export function schemaVersion(db: BetterSqlite3.Database): number {
  const tracked = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (tracked === undefined) return 0;
  return db.prepare<[], number | null>('SELECT MAX(version) FROM schema_migrations').pluck().get() ?? 0;
}

/**
 * Brings the database up to the newest schema this code knows. Running it again is a no-op.
 * Refuses a database written by a newer coatcheck: this code would misread its tables.
 */
export function migrate(db: BetterSqlite3.Database, list: readonly Migration[] = migrations): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)');
  const currentVersion = db.prepare<[], number | null>('SELECT MAX(version) FROM schema_migrations').pluck();
  const isApplied = db.prepare<[number], number>('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare<[number, number]>('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');

  const known = list.at(-1)?.version ?? 0;
  const current = currentVersion.get() ?? 0;
  if (current > known) {
    throw new Error(
      `The database schema is at version ${current}, but this coatcheck knows only up to version ${known}. ` +
        'Upgrade coatcheck, or point it at another database file.',
    );
  }

  for (const migration of list) {
    if (migration.version <= current) continue;
    // IMMEDIATE takes the write lock before the check, so two processes opening the same new file
    // at once apply each migration exactly once: the second waits, then sees it applied.
    db.transaction(() => {
      if (isApplied.get(migration.version) !== undefined) return;
      db.exec(migration.sql);
      record.run(migration.version, Date.now());
    }).immediate();
  }
}
