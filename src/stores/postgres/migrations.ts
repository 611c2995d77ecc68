import type pg from 'pg';
import { checkSchemaName, createPool, type Database, sqlStateOf, toStoreError } from './connection.js';
import { type PostgresMigration, postgresMigrations } from './schema.js';

/** The schema version a database was at before `migratePostgres`, and the one it is at now. */
export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * A migration may rebuild a large table or wait for another instance's migration: it gets minutes,
 * not the seconds a request gets. Used by `coatcheck migrate` and by a store opened with
 * `{ migrate: true }` on a pool of its own.
 */
export const MIGRATION_TIMEOUT_MS = 10 * 60_000;

/** Refusals about the schema version: told to the operator as they are, never as a 503. */
class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
}

/**
 * A migration the server refused (a table of that name already there, no CREATE privilege on the
 * schema: the default for `public` since Postgres 15). The operator must act, so the message says
 * what the server said; it goes to the operator (`coatcheck migrate`, start-up), never to a client.
 */
class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/**
 * SQLSTATE classes that mean the server could not serve the migration at all (connection, operator
 * intervention such as a timeout or shutdown, resources, system error): a `StoreUnavailableError`,
 * worth retrying. Any other refusal is about this schema and will not pass by itself.
 */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58', 'XX'];

function toMigrationError(error: unknown, schema: string, version: number): Error {
  const sqlState = sqlStateOf(error);
  if (sqlState === undefined || UNAVAILABLE_CLASSES.includes(sqlState.slice(0, 2))) return toStoreError(error);
  const said = error instanceof Error ? error.message : String(error);
  const step =
    version === 0
      ? `Preparing the Postgres schema "${schema}" for coatcheck`
      : `Migrating the Postgres schema "${schema}" to version ${version}`;
  return new MigrationError(`${step} failed, and nothing was changed: ${said} (SQLSTATE ${sqlState}).`, {
    cause: error,
  });
}

/**
 * Brings a schema up to the newest version this code knows, creating the schema if it is missing.
 * Running it again is a no-op; several instances running it at once apply each migration once.
 * Refuses a schema written by a newer coatcheck, which this code would misread.
 *
 * Given a connection string, it opens (and ends) a pool of its own whose statements may run for
 * minutes; given a pool, the pool's own timeouts apply.
 *
 * @example
 * await migratePostgres(process.env.DATABASE_URL, { schema: 'auth' });
 */
export async function migratePostgres(
  target: pg.Pool | string,
  options: { schema?: string } = {},
): Promise<MigrationResult> {
  const schema = checkSchemaName(options.schema ?? 'public');
  if (typeof target !== 'string') return migrate(target, schema);
  const pool = createPool(target, {
    max: 1,
    statement_timeout: MIGRATION_TIMEOUT_MS,
    query_timeout: MIGRATION_TIMEOUT_MS + 5_000,
  });
  try {
    return await migrate(pool, schema);
  } finally {
    await pool.end();
  }
}

/**
 * One READ COMMITTED transaction holds every step. The advisory lock (keyed by schema, released at
 * commit) makes concurrent callers queue, so the schema and version checks below never race: the
 * second caller finds the work done. DDL is transactional in Postgres, so a failed migration leaves nothing behind.
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  list: readonly PostgresMigration[] = postgresMigrations,
  options: { timeoutMs?: number } = {},
): Promise<MigrationResult> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toStoreError(error);
  }
  const { timeoutMs } = options;
  // Without a timeout of its own, each statement keeps the pool's (a request's) timeouts.
  const query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> =>
    timeoutMs === undefined
      ? client.query<R>(text, values)
      : client.query<R>({ text, values, query_timeout: timeoutMs + 5_000 } as pg.QueryConfig);
  let failed = false;
  // The version being applied, for the operator's message: 0 while the schema is being prepared.
  let applying = 0;
  try {
    // READ COMMITTED whatever the database's default: each statement after the lock must see what
    // a migration that held it before committed. Under REPEATABLE READ or SERIALIZABLE the snapshot
    // is taken by the statement that waits for the lock, so a second instance would find the schema
    // missing or at its old version and apply the work again (and fail on what is already there).
    await query('BEGIN ISOLATION LEVEL READ COMMITTED');
    if (timeoutMs !== undefined) await query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
    await query("SELECT pg_advisory_xact_lock(hashtext('coatcheck_migrate'), hashtext($1))", [schema]);
    // Checked first because CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database
    // even when the schema exists, and a locked-down role may lack it.
    const present = await query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (present.rowCount === 0) await query(`CREATE SCHEMA "${schema}"`);
    // LOCAL: the setting ends with the transaction, so a pool passed in keeps its own search_path.
    await query(`SET LOCAL search_path TO "${schema}"`);
    await query(
      'CREATE TABLE IF NOT EXISTS coatcheck_schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const current = await query<{ version: number }>(
      'SELECT COALESCE(MAX(version), 0) AS version FROM coatcheck_schema_migrations',
    );
    const from = current.rows[0]?.version ?? 0;
    const known = list.at(-1)?.version ?? 0;
    if (from > known) throw newerSchemaError(schema, from, known);
    for (const migration of list) {
      if (migration.version <= from) continue;
      applying = migration.version;
      await query(migration.sql);
      await query('INSERT INTO coatcheck_schema_migrations (version, applied_at) VALUES ($1, $2)', [
        migration.version,
        Date.now(),
      ]);
    }
    await query('COMMIT');
    return { from, to: Math.max(from, known) };
  } catch (error) {
    failed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw error instanceof SchemaVersionError ? error : toMigrationError(error, schema, applying);
  } finally {
    // A connection that failed mid-transaction is not worth reusing.
    client.release(failed);
  }
}

/** The schema version the database is at: 0 when coatcheck has never migrated this schema. */
export async function readSchemaVersion(db: Database): Promise<number> {
  const table = db.table('coatcheck_schema_migrations');
  const present = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  if (present.rows[0]?.present !== true) return 0;
  const current = await db.query<{ version: number }>(`SELECT COALESCE(MAX(version), 0) AS version FROM ${table}`);
  return current.rows[0]?.version ?? 0;
}

/** Refuses to open a schema that is not at exactly the version this code knows. */
export async function checkSchemaVersion(
  db: Database,
  list: readonly PostgresMigration[] = postgresMigrations,
): Promise<void> {
  const version = await readSchemaVersion(db);
  const known = list.at(-1)?.version ?? 0;
  if (version > known) throw newerSchemaError(db.schema, version, known);
  if (version === 0) {
    throw new SchemaVersionError(
      `The Postgres schema "${db.schema}" has no coatcheck tables yet. ` +
        'Run `coatcheck migrate` first, or open the store with { migrate: true }.',
    );
  }
  if (version < known) {
    throw new SchemaVersionError(
      `The Postgres schema "${db.schema}" is at version ${version}, but this coatcheck needs version ${known}. ` +
        'Run `coatcheck migrate` first, or open the store with { migrate: true }.',
    );
  }
}

function newerSchemaError(schema: string, version: number, known: number): SchemaVersionError {
  return new SchemaVersionError(
    `The Postgres schema "${schema}" is at version ${version}, but this coatcheck knows only up to version ${known}. ` +
      'Upgrade coatcheck, or point it at another schema or database.',
  );
}
