import type BetterSqlite3 from 'better-sqlite3';
import type { SessionMethod, SessionWithUser } from '../../store/types.js';
import { sessionWithUserColumns } from '../internal/session-user-join.js';
import { columns as sessionColumns } from './session-store.js';

/** The joined row as an array, in select-list order: session columns, then the user's profile. */
type JoinedValues = [
  id: string,
  secretHash: string | null,
  userId: string,
  method: SessionMethod,
  createdAt: number,
  lastSeenAt: number,
  idleExpiresAt: number,
  absoluteExpiresAt: number,
  userAgent: string | null,
  ip: string | null,
  email: string,
  name: string | null,
  role: string,
  userCreatedAt: number,
  userUpdatedAt: number,
];

/**
 * The session's columns, then the user's profile but for `u.id`: it equals `s.user_id` byte for
 * byte (the join's TEXT equality, BINARY collation, both columns STRICT TEXT), so it is not read
 * back. Each column read costs about 90 ns in native code (docs/performance.md), on every request.
 */
const selected = sessionWithUserColumns(sessionColumns)
  .split(', ')
  .filter((column) => column !== 'u.id AS u_id')
  .join(', ');
/** The column names `JoinedValues` is written for, in its order. */
const EXPECTED_NAMES = [
  'id',
  'secret_hash',
  'user_id',
  'method',
  'created_at',
  'last_seen_at',
  'idle_expires_at',
  'absolute_expires_at',
  'user_agent',
  'ip',
  'u_email',
  'u_name',
  'u_role',
  'u_created_at',
  'u_updated_at',
];

/**
 * Cookie validation in one statement: every statement is its own WAL read transaction (with its
 * own locking system calls), so joining halves the work of reading the session, then the user. The
 * row comes back as an array (better-sqlite3's raw mode): building a keyed object in native code
 * costs a quarter of the whole read, and this runs on every request.
 */
export function createSqliteSessionWithUser(
  db: BetterSqlite3.Database,
): (secretHash: string) => SessionWithUser | null {
  const select = db
    .prepare<[string], JoinedValues>(
      `SELECT ${selected} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = ?`,
    )
    .raw(true);
  // The mapping below reads by position: a select list that changed (reordered, grown, shrunk) must
  // fail here, at open, rather than swap two columns of the same type without a word.
  const names = select.columns().map((column) => column.name);
  if (names.join(',') !== EXPECTED_NAMES.join(',')) throw new Error('coatcheck: the session join changed shape');
  return (secretHash) => {
    const values = select.get(secretHash);
    if (values === undefined) return null;
    const [id, hash, userId, method, createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, userAgent, ip] = values;
    const [, , , , , , , , , , email, name, role, userCreatedAt, userUpdatedAt] = values;
    return {
      session: {
        id,
        secretHash: hash,
        userId,
        method,
        createdAt,
        lastSeenAt,
        idleExpiresAt,
        absoluteExpiresAt,
        userAgent,
        ip,
      },
      user: { id: userId, email, name, role, createdAt: userCreatedAt, updatedAt: userUpdatedAt },
    };
  };
}
