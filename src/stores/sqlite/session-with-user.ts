import type BetterSqlite3 from 'better-sqlite3';
import type { SessionWithUser } from '../../store/types.js';
import type { Guard } from './create-sqlite-store.js';
import { columns as sessionColumns, toSession, type SessionRow } from './session-store.js';
import { columns as userColumns, toUser, type UserRow } from './user-store.js';

type JoinedRow = SessionRow & { [K in keyof UserRow as `u_${K}`]: UserRow[K] };

const selected = [
  ...sessionColumns.split(', ').map((column) => `s.${column}`),
  ...userColumns.split(', ').map((column) => `u.${column} AS u_${column}`),
].join(', ');

/**
 * Cookie validation in one statement: every statement is its own WAL read transaction (with its
 * own locking system calls), so joining halves the work of reading the session, then the user.
 */
export function createSqliteSessionWithUser(
  db: BetterSqlite3.Database,
  guard: Guard,
): (secretHash: string) => Promise<SessionWithUser | null> {
  const select = db.prepare<[string], JoinedRow>(
    `SELECT ${selected} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = ?`,
  );
  return (secretHash) =>
    guard(() => {
      const row = select.get(secretHash);
      return row === undefined ? null : { session: toSession(row), user: toUser(userPart(row)) };
    });
}

function userPart(row: JoinedRow): UserRow {
  return {
    id: row.u_id,
    email: row.u_email,
    name: row.u_name,
    role: row.u_role,
    password_hash: row.u_password_hash,
    created_at: row.u_created_at,
    updated_at: row.u_updated_at,
  };
}
