import BetterSqlite3 from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { StoreUnavailableError } from '../core/errors.js';
import { toStoreError } from '../stores/postgres/connection.js';

export interface Note {
  id: string;
  text: string;
  createdAt: string;
}

/** The demo app's own data: a user's notes, kept beside the auth store. */
export interface NoteStore {
  list(userId: string): Promise<Note[]>;
  add(userId: string, text: string, now: number): Promise<Note>;
}

const toNote = (row: { id: string; text: string; created_at: number | string }): Note => ({
  id: row.id,
  text: row.text,
  createdAt: new Date(Number(row.created_at)).toISOString(),
});

export function createSqliteNotes(db: BetterSqlite3.Database): NoteStore {
  db.exec(`CREATE TABLE IF NOT EXISTS demo_notes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS demo_notes_user ON demo_notes (user_id, created_at);`);
  const select = db.prepare<[string], { id: string; text: string; created_at: number }>(
    'SELECT id, text, created_at FROM demo_notes WHERE user_id = ? ORDER BY created_at, id LIMIT 500',
  );
  const insert = db.prepare('INSERT INTO demo_notes (id, user_id, text, created_at) VALUES (?, ?, ?, ?)');
  // As the auth store does: a SQLite failure (a full disk, a file made read-only, a lock held past
  // the busy timeout) is the store being unavailable, a 503, not a bug in the app (a 500).
  const guard = <T>(operation: () => T): Promise<T> => {
    try {
      return Promise.resolve(operation());
    } catch (error) {
      if (error instanceof BetterSqlite3.SqliteError || !db.open) {
        return Promise.reject(new StoreUnavailableError('The SQLite notes store failed', { cause: error }));
      }
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return {
    list: (userId) => guard(() => select.all(userId).map(toNote)),
    add(userId, text, now) {
      const id = `note_${randomUUID()}`;
      return guard(() => {
        insert.run(id, userId, text, now);
        return { id, text, createdAt: new Date(now).toISOString() };
      });
    },
  };
}

/**
 * In one transaction under an advisory lock: `CREATE ... IF NOT EXISTS` is not safe against itself,
 * and two instances starting together on a new database would otherwise both create the table's
 * row type, and one of them would fail to start (23505 on `pg_type_typname_nsp_index`).
 */
async function createPostgresNotesTable(pool: pg.Pool, schema: string, table: string): Promise<void> {
  const client = await pool.connect().catch((error: unknown) => {
    throw toStoreError(error);
  });
  let failed = false;
  try {
    // As the migrations do: whatever the database's default, what the lock's holder committed is seen.
    await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('coatcheck_demo_notes'), hashtext($1))", [schema]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      text TEXT NOT NULL,
      created_at BIGINT NOT NULL
    )`);
    await client.query(`CREATE INDEX IF NOT EXISTS demo_notes_user ON ${table} (user_id, created_at)`);
    await client.query('COMMIT');
  } catch (error) {
    failed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw toStoreError(error);
  } finally {
    client.release(failed);
  }
}

export async function createPostgresNotes(pool: pg.Pool, schema: string): Promise<NoteStore> {
  // `schema` was validated by the Postgres store.
  const table = `"${schema}".demo_notes`;
  await createPostgresNotesTable(pool, schema, table);
  // As the auth store does: a Postgres that cannot be reached is a 503, not a 500.
  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> => {
    try {
      return await pool.query<R>(text, values);
    } catch (error) {
      throw toStoreError(error);
    }
  };
  return {
    async list(userId) {
      const { rows } = await query<{ id: string; text: string; created_at: string }>(
        `SELECT id, text, created_at FROM ${table} WHERE user_id = $1 ORDER BY created_at, id LIMIT 500`,
        [userId],
      );
      return rows.map(toNote);
    },
    async add(userId, text, now) {
      const id = `note_${randomUUID()}`;
      await query(`INSERT INTO ${table} (id, user_id, text, created_at) VALUES ($1, $2, $3, $4)`, [
        id,
        userId,
        text,
        now,
      ]);
      return { id, text, createdAt: new Date(now).toISOString() };
    },
  };
}
