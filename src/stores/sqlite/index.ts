export {
  createSqliteStore,
  DEFAULT_MMAP_BYTES,
  type SqliteStore,
  type SqliteStoreOptions,
} from './create-sqlite-store.js';
