export {
  createPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
  type PostgresStoreSettings,
} from './create-postgres-store.js';
export { migratePostgres, type MigrationResult } from './migrations.js';
export { createPostgresRevocationFeed } from '../../revocation/postgres-feed.js';
