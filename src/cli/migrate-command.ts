import type { ServerConfig } from '../server/config.js';
import { openDataStore } from '../server/open-stores.js';
import { migratePostgres } from '../stores/postgres/index.js';

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
  const store = openDataStore(config.dataDir, config.sqliteMmapBytes);
  await store.close();
  process.stdout.write(`sqlite (${config.dataDir}): schema is up to date\n`);
  return 0;
}
