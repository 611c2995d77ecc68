import type BetterSqlite3 from 'better-sqlite3';
import type { SessionWithUser } from '../../store/types.js';
import type { Guard } from './create-sqlite-store.js';
import { sessionWithUserColumns, userHalf, type PrefixedUser } from '../internal/session-user-join.js';
import { columns as sessionColumns, toSession, type SessionRow } from './session-store.js';
import { columns as userColumns, toUser, type UserRow } from './user-store.js';

type JoinedRow = SessionRow & PrefixedUser<UserRow>;

const selected = sessionWithUserColumns(sessionColumns, userColumns);

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
      return row === undefined ? null : { session: toSession(row), user: toUser(userHalf<UserRow>(row)) };
    });
}
