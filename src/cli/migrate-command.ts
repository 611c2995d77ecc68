import BetterSqlite3 from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { StoreUnavailableError } from '../core/errors.js';
import type { ServerConfig } from '../server/config.js';
import { databasePath, openDataStore } from '../server/open-stores.js';
import { migratePostgres } from '../stores/postgres/index.js';
import { schemaVersion } from '../stores/sqlite/migrations.js';

/**
 * `coatcheck migrate`: brings the database to the schema this version needs. Postgres with
 * `DATABASE_URL`; the embedded SQLite file migrates itself on open, so this only opens it.
 */
export async function runMigrate(config: ServerConfig): Promise<number> {
  if (config.databaseUrl) {
    const { from, to } = await migratePostgres(config.databaseUrl, { schema: config.databaseSchema });
    process.stdout.write(
      from === to
        ? `postgres (${config.databaseSchema}): at version ${to}, nothing to do\n`
        : `postgres (${config.databaseSchema}): migrated from version ${from} to ${to}\n`,
    );
    return 0;
  }
  // Read before the store opens, since opening migrates: so the operator learns what changed, as
  // with Postgres, instead of "up to date" whether or not it just was migrated.
  const path = databasePath(config.dataDir);
  const from = existsSync(path) ? readSchemaVersion(path) : null;
  const store = openDataStore(config.dataDir, config.sqliteMmapBytes);
  let to: number;
  try {
    to = schemaVersion(store.database);
  } finally {
    await store.close();
  }
  process.stdout.write(
    from === null
      ? `sqlite (${path}): created at version ${to}\n`
      : from === to
        ? `sqlite (${path}): at version ${to}, nothing to do\n`
        : `sqlite (${path}): migrated from version ${from} to ${to}\n`,
  );
  return 0;
}

function readSchemaVersion(path: string): number {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(path, { fileMustExist: true });
    return schemaVersion(db);
  } catch (error) {
    // Named as the store names it when it cannot open the file (not a database, not readable).
    if (!(error instanceof BetterSqlite3.SqliteError)) throw error;
    throw new StoreUnavailableError(`The SQLite file ${path} cannot be opened`, { cause: error });
  } finally {
    db?.close();
  }
}
