import type BetterSqlite3 from 'better-sqlite3';
import { randomUUID } from 'node:crypto';

export interface Note {
  id: string;
  text: string;
  createdAt: string;
}

/** The demo app's own data: a user's notes, in the same SQLite file as the auth store. */
export function createNotes(db: BetterSqlite3.Database): {
  list(userId: string): Note[];
  add(userId: string, text: string, now: number): Note;
} {
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
  return {
    list: (userId) =>
      select
        .all(userId)
        .map((row) => ({ id: row.id, text: row.text, createdAt: new Date(row.created_at).toISOString() })),
    add(userId, text, now) {
      const id = `note_${randomUUID()}`;
      insert.run(id, userId, text, now);
      return { id, text, createdAt: new Date(now).toISOString() };
    },
  };
}
