import pg from 'pg';
import { StoreUnavailableError } from '../../core/errors.js';

/** Bounds on how long a request may wait for Postgres, so an outage becomes a prompt 503, not a hang. */
export const poolDefaults = {
  max: 10,
  // A pool that cannot connect within this fails the call instead of queueing it indefinitely.
  connectionTimeoutMillis: 2_000,
  idleTimeoutMillis: 30_000,
  // The server cancels a statement past this (SQLSTATE 57014); the client gives up shortly after, for
  // the case where the server cannot even answer (a network partition).
  statement_timeout: 5_000,
  query_timeout: 6_000,
  // A connection left inside a transaction (a crashed migration) releases its locks.
  idle_in_transaction_session_timeout: 10_000,
  keepAlive: true,
  // Named in pg_stat_activity unless the connection string or PGAPPNAME says otherwise.
  fallback_application_name: 'coatcheck',
} satisfies pg.PoolConfig;

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Checks a schema name before it is pasted into SQL: identifiers cannot be bound as parameters, so
 * only plain lowercase names are accepted, and `pg_` names are Postgres's own.
 */
export function checkSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !schemaPattern.test(schema) || schema.startsWith('pg_')) {
    throw new TypeError('settings.schema must match /^[a-z_][a-z0-9_]{0,62}$/ and not start with pg_');
  }
  return schema;
}

/** A pool with `poolDefaults`, whose idle connections may break without crashing the process. */
export function createPool(connectionString: unknown, overrides: pg.PoolConfig = {}): pg.Pool {
  if (typeof connectionString !== 'string' || connectionString === '') {
    throw new TypeError('options.connectionString must be a non-empty string');
  }
  const pool = new pg.Pool({ ...poolDefaults, ...overrides, connectionString });
  // An idle connection that the server closes (a restart, pg_terminate_backend) is reported here;
  // without a listener that event would crash the process. The pool has already dropped the
  // connection, and the next query opens a fresh one, so there is nothing else to do.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs one statement against the store's pool, with errors turned into what the store contract promises. */
export interface Database {
  readonly schema: string;
  /** The table's schema-qualified name, for SQL. */
  table(name: string): string;
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * A serialization failure (40001) or a deadlock (40P01) rolled the statement back entirely, and every
 * statement the store runs is a transaction of its own: run again, on a fresh snapshot, it answers
 * as READ COMMITTED would have. A database (or role) may default to REPEATABLE READ or
 * SERIALIZABLE, under which the loser of two rotations of one refresh token otherwise got a 503
 * instead of matching nothing (and then the winner's successor, as the grace window promises).
 */
const RETRIED_SQL_STATES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 3;

/**
 * Every statement names its tables with the schema rather than relying on `search_path`: a pool the
 * application passes in keeps its own `search_path`, and its own queries are not redirected.
 */
export function createDatabase(pool: pg.Pool, schema: string, isClosed: () => boolean): Database {
  return {
    schema,
    table: (name) => `"${schema}".${name}`,
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      if (isClosed()) throw new StoreUnavailableError('The store is closed');
      for (let attempt = 1; ; attempt++) {
        try {
          return await pool.query<R>(text, values);
        } catch (error) {
          if (attempt < MAX_ATTEMPTS && RETRIED_SQL_STATES.has(sqlStateOf(error) ?? '')) continue;
          throw toStoreError(error);
        }
      }
    },
  };
}

/** The five-character SQLSTATE of an error the server sent, or `undefined` for any other failure. */
export function sqlStateOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('code' in error) || typeof error.code !== 'string') return undefined;
  // `severity` tells a server error from a Node socket error, even when the pool comes from another
  // copy of pg (so `instanceof pg.DatabaseError` would miss it).
  const fromServer = error instanceof pg.DatabaseError || 'severity' in error;
  return fromServer && /^[0-9A-Z]{5}$/.test(error.code) ? error.code : undefined;
}

/**
 * A broken constraint (class 23: a taken id or token hash, a missing session) or a value the column
 * cannot hold (class 22: a fractional timestamp) is the caller's bug: a plain `Error`, a 500, as the
 * contract says. Every other failure (no connection, a timeout (57014), an administrator shutdown
 * (57P01), exhausted resources (53), a schema someone altered) means the store cannot serve the
 * request: `StoreUnavailableError`, a 503. Neither message carries SQL or names; the original is
 * kept as `cause` for logs.
 */
export function toStoreError(error: unknown): Error {
  if (error instanceof StoreUnavailableError) return error;
  const sqlState = sqlStateOf(error);
  if (sqlState?.startsWith('23') === true) {
    return new Error('The record conflicts with what the store holds', { cause: error });
  }
  if (sqlState?.startsWith('22') === true) {
    return new Error('The record holds a value the store cannot keep', { cause: error });
  }
  if (sqlState === undefined || sqlState.startsWith('08')) {
    return new StoreUnavailableError('The Postgres store cannot be reached', { cause: error });
  }
  return new StoreUnavailableError('The Postgres store failed', { cause: error });
}
