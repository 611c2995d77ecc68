import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { createPostgresRevocationFeed } from '../revocation/postgres-feed.js';
import { createRedisRevocationFeed } from '../revocation/redis-feed.js';
import type { RevocationFeed } from '../revocation/types.js';
import type { Store } from '../store/types.js';
import { composeStore } from '../stores/compose.js';
import { createPostgresStore, type PostgresStore } from '../stores/postgres/index.js';
import type { AuthLogger } from '../core/logger.js';
import { createRedisStores, DEFAULT_KEY_PREFIX, type RedisStores } from '../stores/redis/index.js';
import { createSqliteStore, type SqliteStore } from '../stores/sqlite/index.js';
import { ConfigError, type ServerConfig } from './config.js';
import { createPostgresNotes, createSqliteNotes, type NoteStore } from './notes.js';

export interface OpenedStores {
  store: Store;
  notes: NoteStore;
  /** Present when several instances share the stores: revocations travel through it. */
  feed: RevocationFeed | null;
  /** `sqlite`, `postgres`, or `postgres+redis` / `sqlite+redis`: for the start-up log. */
  kind: string;
  /** The Redis half of `store`, with `REDIS_URL`. */
  redis?: RedisStores;
}

export function databasePath(dataDir: string): string {
  return join(dataDir, 'coatcheck.db');
}

/**
 * Opens the embedded store in the data directory (created with mode 0700 if missing), reading
 * `mmapBytes` of it through a memory map (unset: the store's default; 0: none).
 */
export function openDataStore(dataDir: string, mmapBytes?: number): SqliteStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return createSqliteStore({ path: databasePath(dataDir), mmapBytes });
}

/**
 * The stores `coatcheck serve` runs on, from the environment: SQLite in the data directory by
 * default; Postgres for everything with `DATABASE_URL`; sessions and refresh families in Redis
 * with `REDIS_URL` (users and keys stay in SQL).
 */
/**
 * The SQL store alone (users and signing keys): what the `users` and `keys` commands need.
 * `existing`, for commands that only read, or change what must already be there: a data directory
 * or SQLite file that does not exist is refused (`ConfigError`) instead of created, since a
 * mistyped `COATCHECK_DATA_DIR` would otherwise be populated and answer "nothing"; nor is Postgres
 * migrated (`COATCHECK_MIGRATE_ON_START`).
 */
export async function openSqlStore(
  config: ServerConfig,
  { existing = false }: { existing?: boolean } = {},
): Promise<{ sql: Store; postgres: PostgresStore | undefined; sqlite: SqliteStore | undefined }> {
  if (config.databaseUrl) {
    const postgres = await createPostgresStore(
      { connectionString: config.databaseUrl },
      { migrate: config.migrateOnStart && !existing, schema: config.databaseSchema },
    );
    return { sql: postgres, postgres, sqlite: undefined };
  }
  if (existing) refuseMissingDatabase(config.dataDir);
  const sqlite = openDataStore(config.dataDir, config.sqliteMmapBytes);
  return { sql: sqlite, postgres: undefined, sqlite };
}

function refuseMissingDatabase(dataDir: string): void {
  const path = databasePath(dataDir);
  if (existsSync(path)) return;
  throw new ConfigError(
    existsSync(dataDir)
      ? `${path} does not exist (is COATCHECK_DATA_DIR the directory \`coatcheck serve\` uses?); nothing was created`
      : `the data directory ${dataDir} does not exist (check COATCHECK_DATA_DIR); nothing was created`,
  );
}

/**
 * The revocation feed's key and channel prefix for a deployment's Redis key prefix. The default
 * prefix keeps the feed's historical unprefixed names, so that setting `cc` explicitly and leaving
 * it unset are one deployment, and instances of releases before the prefix existed still hear it.
 */
export function revocationFeedPrefix(keyPrefix: string): string {
  return keyPrefix === DEFAULT_KEY_PREFIX ? '' : `${keyPrefix}:`;
}

export async function openStores(config: ServerConfig, options: { clock?: Clock } = {}): Promise<OpenedStores> {
  const { sql, postgres, sqlite } = await openSqlStore(config);
  let notes: NoteStore;
  try {
    notes = postgres ? await createPostgresNotes(postgres.pool, postgres.schema) : createSqliteNotes(sqlite!.database);
  } catch (error) {
    await sql.close();
    throw error;
  }
  const kind = postgres ? 'postgres' : 'sqlite';
  const feed = openRevocationFeed(config, postgres);
  if (config.redisUrl) {
    const keyPrefix = config.redisKeyPrefix ?? DEFAULT_KEY_PREFIX;
    const redis = createRedisStores(
      { url: config.redisUrl },
      { keyPrefix, ...(options.clock ? { clock: options.clock } : {}) },
    );
    return { store: composeStore(sql, redis), notes, feed, kind: `${kind}+redis`, redis };
  }
  return { store: sql, notes, feed, kind };
}

/**
 * How this deployment's instances hear of revocations: Redis with `REDIS_URL`, else Postgres with
 * `DATABASE_URL`, else none (one instance on its own SQLite file). `coatcheck users set-role` tells
 * them through it too.
 */
export function openRevocationFeed(config: ServerConfig, postgres: PostgresStore | undefined): RevocationFeed | null {
  if (config.redisUrl) {
    const keyPrefix = config.redisKeyPrefix ?? DEFAULT_KEY_PREFIX;
    return createRedisRevocationFeed({ url: config.redisUrl, keyPrefix: revocationFeedPrefix(keyPrefix) });
  }
  return postgres && config.databaseUrl
    ? createPostgresRevocationFeed({
        pool: postgres.pool,
        connectionString: config.databaseUrl,
        schema: postgres.schema,
      })
    : null;
}

/**
 * Logs a warning unless Redis runs with `maxmemory-policy noeviction`: under memory pressure any
 * other policy may drop one key of a session and keep the others (see `createRedisStores`). Never
 * rejects: a Redis that cannot be reached now is the request path's concern, not the start's.
 */
export async function checkRedisEvictionPolicy(redis: RedisStores, logger: AuthLogger): Promise<void> {
  let policy: string | null;
  try {
    policy = await redis.maxmemoryPolicy();
  } catch {
    return;
  }
  if (policy === 'noeviction') return;
  if (policy === null) {
    logger.warn(
      { event: 'redis.eviction_policy_unknown' },
      'Redis did not tell its maxmemory-policy (CONFIG GET refused); make sure it is noeviction',
    );
    return;
  }
  logger.warn(
    { event: 'redis.eviction_policy', policy },
    `Redis maxmemory-policy is ${policy}: when full, Redis may evict one key of a session but not the others, ` +
      'so "log out everywhere" can miss sessions and a reused refresh token can go undetected; set it to noeviction',
  );
}
