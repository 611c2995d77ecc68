import type { SessionWithUser } from '../../store/types.js';
import type { Database } from './connection.js';
import { profileOf, sessionWithUserColumns, type PrefixedProfile } from '../internal/session-user-join.js';
import { columns as sessionColumns, toSession, type SessionRow } from './session-store.js';

const selected = sessionWithUserColumns(sessionColumns);

/** Cookie validation in one round trip instead of two: the session joined with its user. */
export function createPostgresSessionWithUser(db: Database): (secretHash: string) => Promise<SessionWithUser | null> {
  const select = `SELECT ${selected} FROM ${db.table('sessions')} s JOIN ${db.table('users')} u ON u.id = s.user_id
    WHERE s.secret_hash = $1`;
  return async (secretHash) => {
    const row = (await db.query<SessionRow & PrefixedProfile>(select, [secretHash])).rows[0];
    return row === undefined ? null : { session: toSession(row), user: profileOf(row) };
  };
}
