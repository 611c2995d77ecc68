export interface PostgresMigration {
  version: number;
  sql: string;
}

/**
 * The schema, as an append-only history: never edit a shipped entry, add a new one. Each runs with
 * `search_path` set to the target schema, so it names tables without one.
 *
 * Times are BIGINT milliseconds. Identifiers and hashes are `COLLATE "C"`: compared byte by byte,
 * like SQLite, so `ORDER BY created_at, id` does not depend on the server's locale.
 *
 * Deleting a session removes its refresh family (one per session, hence UNIQUE, which also indexes
 * the cascade) and every token hash of that family in the same statement, through the foreign keys.
 */
export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE users (
        id TEXT COLLATE "C" PRIMARY KEY,
        email TEXT COLLATE "C" NOT NULL UNIQUE,
        name TEXT,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX users_created_at ON users (created_at, id);

      CREATE TABLE sessions (
        id TEXT COLLATE "C" PRIMARY KEY,
        secret_hash TEXT COLLATE "C" UNIQUE,
        user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        method TEXT NOT NULL CHECK (method IN ('session', 'token')),
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        idle_expires_at BIGINT NOT NULL,
        absolute_expires_at BIGINT NOT NULL,
        user_agent TEXT,
        ip TEXT
      );
      CREATE INDEX sessions_user_id ON sessions (user_id, created_at, id);
      CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
      CREATE INDEX sessions_absolute_expires_at ON sessions (absolute_expires_at);

      CREATE TABLE refresh_families (
        id TEXT COLLATE "C" PRIMARY KEY,
        session_id TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
        user_id TEXT COLLATE "C" NOT NULL,
        current_hash TEXT COLLATE "C" NOT NULL,
        previous_hash TEXT COLLATE "C",
        successor_sealed TEXT,
        rotated_at BIGINT,
        generation INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT NOT NULL,
        idle_expires_at BIGINT NOT NULL,
        absolute_expires_at BIGINT NOT NULL
      );

      CREATE TABLE refresh_token_hashes (
        token_hash TEXT COLLATE "C" PRIMARY KEY,
        family_id TEXT COLLATE "C" NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE
      );
      CREATE INDEX refresh_token_hashes_family_id ON refresh_token_hashes (family_id);

      CREATE TABLE signing_keys (
        kid TEXT COLLATE "C" PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk TEXT,
        private_jwk_sealed TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT,
        expires_at BIGINT
      );
    `,
  },
  {
    version: 2,
    // Revocations broadcast with NOTIFY are also kept here until they expire, so an instance that
    // starts or reconnects catches up (src/revocation/postgres-feed.ts).
    sql: `
      CREATE TABLE revocation_events (
        id BIGSERIAL PRIMARY KEY,
        event TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX revocation_events_expires_at ON revocation_events (expires_at);
    `,
  },
];
