import type BetterSqlite3 from 'better-sqlite3';
import type { UserRecord, UserStore } from '../../store/types.js';
import { checkPage } from '../internal/check-page.js';
import type { Guard } from './create-sqlite-store.js';

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  role: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
}

export const columns = 'id, email, name, role, password_hash, created_at, updated_at';

export function createSqliteUserStore(db: BetterSqlite3.Database, guard: Guard): UserStore {
  // A taken email is a normal outcome, not an error: the upsert clause makes SQLite skip the row
  // (changes = 0) instead of throwing, and it covers only the email, so an id collision still throws.
  const insert = db.prepare<UserRecord>(
    `INSERT INTO users (${columns})
     VALUES (@id, @email, @name, @role, @passwordHash, @createdAt, @updatedAt)
     ON CONFLICT (email) DO NOTHING`,
  );
  const selectById = db.prepare<[string], UserRow>(`SELECT ${columns} FROM users WHERE id = ?`);
  const selectByEmail = db.prepare<[string], UserRow>(`SELECT ${columns} FROM users WHERE email = ?`);
  // A NULL `replacing`: whatever hash is stored.
  const updatePasswordHash = db.prepare<[string, number, string, string | null, string | null]>(
    'UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND (? IS NULL OR password_hash = ?)',
  );
  const updateRole = db.prepare<[string, number, string]>('UPDATE users SET role = ?, updated_at = ? WHERE id = ?');
  // LIMIT -1 is SQLite's "no limit".
  const selectPage = db.prepare<[number, number], UserRow>(
    `SELECT ${columns} FROM users ORDER BY created_at, id LIMIT ? OFFSET ?`,
  );

  return {
    create: (user) => guard(() => (insert.run(user).changes === 0 ? null : { ...user })),
    findById: (id) => guard(() => toUserOrNull(selectById.get(id))),
    findByEmail: (email) => guard(() => toUserOrNull(selectByEmail.get(email))),
    updatePasswordHash: (id, passwordHash, updatedAt, { replacing } = {}) =>
      guard(
        () => updatePasswordHash.run(passwordHash, updatedAt, id, replacing ?? null, replacing ?? null).changes > 0,
      ),
    updateRole: (id, role, updatedAt) => guard(() => updateRole.run(role, updatedAt, id).changes > 0),
    list: (options = {}) =>
      guard(() => {
        const { limit, offset } = checkPage(options);
        return selectPage.all(limit ?? -1, offset).map(toUser);
      }),
  };
}

function toUserOrNull(row: UserRow | undefined): UserRecord | null {
  return row === undefined ? null : toUser(row);
}

export function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
