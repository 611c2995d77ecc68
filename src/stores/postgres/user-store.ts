import type { UserRecord, UserStore } from '../../store/types.js';
import { checkPage } from '../internal/check-page.js';
import type { Database } from './connection.js';

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  role: string;
  password_hash: string;
  // BIGINT arrives as a string: pg will not guess that it fits in a double.
  created_at: string;
  updated_at: string;
}

export const columns = 'id, email, name, role, password_hash, created_at, updated_at';

export function createPostgresUserStore(db: Database): UserStore {
  const users = db.table('users');
  // A taken email is a normal outcome, not an error: the conflict clause covers only the email, so
  // the row is skipped (no row returned) and a taken id still fails. Under concurrent inserts of one
  // email, Postgres makes the later ones wait for the first and then skip.
  const insert = `INSERT INTO ${users} (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (email) DO NOTHING RETURNING ${columns}`;
  const selectById = `SELECT ${columns} FROM ${users} WHERE id = $1`;
  const selectByEmail = `SELECT ${columns} FROM ${users} WHERE email = $1`;
  // $4 NULL: whatever hash is stored.
  const updatePasswordHash = `UPDATE ${users} SET password_hash = $2, updated_at = $3
    WHERE id = $1 AND ($4::text IS NULL OR password_hash = $4)`;
  const updateRole = `UPDATE ${users} SET role = $2, updated_at = $3 WHERE id = $1`;
  // LIMIT NULL is Postgres's "no limit".
  const selectPage = `SELECT ${columns} FROM ${users} ORDER BY created_at, id LIMIT $1 OFFSET $2`;

  return {
    async create(user) {
      const { id, email, name, role, passwordHash, createdAt, updatedAt } = user;
      const result = await db.query<UserRow>(insert, [id, email, name, role, passwordHash, createdAt, updatedAt]);
      return toUserOrNull(result.rows[0]);
    },
    async findById(id) {
      return toUserOrNull((await db.query<UserRow>(selectById, [id])).rows[0]);
    },
    async findByEmail(email) {
      return toUserOrNull((await db.query<UserRow>(selectByEmail, [email])).rows[0]);
    },
    async updatePasswordHash(id, passwordHash, updatedAt, { replacing } = {}) {
      const values = [id, passwordHash, updatedAt, replacing ?? null];
      return ((await db.query(updatePasswordHash, values)).rowCount ?? 0) > 0;
    },
    async updateRole(id, role, updatedAt) {
      return ((await db.query(updateRole, [id, role, updatedAt])).rowCount ?? 0) > 0;
    },
    async list(options = {}) {
      const { limit, offset } = checkPage(options);
      return (await db.query<UserRow>(selectPage, [limit ?? null, offset])).rows.map(toUser);
    },
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
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
