import type pg from 'pg';
import type { Store } from '../../store/types.js';
import { checkSchemaName, createDatabase, createPool } from './connection.js';
import { checkSchemaVersion, migrate, MIGRATION_TIMEOUT_MS } from './migrations.js';
import { createPostgresRefreshFamilyStore } from './refresh-family-store.js';
import { postgresMigrations } from './schema.js';
import { createPostgresSessionStore } from './session-store.js';
import { createPostgresSessionWithUser } from './session-with-user.js';
import { createPostgresSigningKeyStore } from './signing-key-store.js';
import { createPostgresUserStore } from './user-store.js';

/** A database to connect to (the store opens and owns a pool), or a pool the application already has. */
export type PostgresStoreOptions = { connectionString: string } | { pool: pg.Pool };

export interface PostgresStoreSettings {
  /**
   * Apply pending migrations at open (default false: run `coatcheck migrate` as a deploy step). On
   * a pool the store opens, the migration gets minutes (it may wait for another instance's), not
   * the seconds each request gets; on a pool passed in, that pool's timeouts apply.
   */
  migrate?: boolean;
  /** The schema holding coatcheck's tables (default `public`); created by migration if missing. */
  schema?: string;
}

/** The store plus its pool and schema, for the revocation feed and for the application's own queries. */
export interface PostgresStore extends Store {
  readonly pool: pg.Pool;
  readonly schema: string;
}

/**
 * Opens a Postgres store. Rejects at open when the database cannot be reached
 * (`StoreUnavailableError`) or its schema is not at the version this code knows (a plain `Error`
 * saying to run `coatcheck migrate`, or to upgrade coatcheck), or, with `migrate`, when the server
 * refuses a migration (a plain `Error` saying what it refused: a table of that name already there,
 * no CREATE privilege); after that, failures reject as the store contract says.
 *
 * A pool the store opens gets bounded timeouts (2 s to connect, 5 s per statement) so an outage
 * turns into prompt 503s, and it recovers by itself: a broken connection is dropped and the next
 * call opens a fresh one. A pool passed in keeps its own settings, and its owner should listen for
 * its `error` event; `close()` ends only a pool the store opened.
 *
 * @example
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL }, { schema: 'auth' });
 */
export async function createPostgresStore(
  options: PostgresStoreOptions,
  settings: PostgresStoreSettings = {},
): Promise<PostgresStore> {
  const schema = checkSchemaName(settings.schema ?? 'public');
  const ownsPool = 'connectionString' in options;
  if (!ownsPool && typeof options.pool?.query !== 'function') throw new TypeError('options.pool must be a pg.Pool');
  const pool = ownsPool ? createPool(options.connectionString) : options.pool;
  let closed = false;
  const db = createDatabase(pool, schema, () => closed);

  try {
    // A pool passed in keeps its owner's timeouts; one we opened gives the migration minutes.
    if (settings.migrate === true) {
      await migrate(pool, schema, postgresMigrations, ownsPool ? { timeoutMs: MIGRATION_TIMEOUT_MS } : {});
    } else await checkSchemaVersion(db);
  } catch (error) {
    if (ownsPool) await pool.end().catch(() => undefined);
    throw error;
  }

  return {
    pool,
    schema,
    findSessionWithUser: createPostgresSessionWithUser(db),
    users: createPostgresUserStore(db),
    sessions: createPostgresSessionStore(db),
    refreshFamilies: createPostgresRefreshFamilyStore(db),
    signingKeys: createPostgresSigningKeyStore(db),
    async ping() {
      await db.query('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      // Waits for queries already running; every call made after this point rejects at once.
      if (ownsPool) await pool.end();
    },
  };
}
