import type BetterSqlite3 from 'better-sqlite3';
import type { SessionMethod, SessionWithUser } from '../../store/types.js';

/** The joined row as an array, in select-list order: session columns, then the user's profile. */
type JoinedValues = [
  id: string,
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
 * Two columns are left out because the statement already knows them: `s.secret_hash` equals the
 * hash it was asked for and `u.id` equals `s.user_id`, both by a TEXT equality under SQLite's
 * BINARY collation, that is, byte for byte. Each column read costs about 90 ns in native code
 * (docs/performance.md), and this runs on every request.
 */
const SELECT_LIST = [
  's.id',
  's.user_id',
  's.method',
  's.created_at',
  's.last_seen_at',
  's.idle_expires_at',
  's.absolute_expires_at',
  's.user_agent',
  's.ip',
  'u.email AS u_email',
  'u.name AS u_name',
  'u.role AS u_role',
  'u.created_at AS u_created_at',
  'u.updated_at AS u_updated_at',
];

/** The column names `JoinedValues` is written for, in its order: kept apart from the list it checks. */
const EXPECTED_NAMES = [
  'id',
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
      `SELECT ${SELECT_LIST.join(', ')} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = ?`,
    )
    .raw(true);
  // The mapping below reads by position: a select list that changed (reordered, grown, shrunk) must
  // fail here, at open, rather than swap two columns of the same type without a word.
  const names = select.columns().map((column) => column.name);
  if (names.join(',') !== EXPECTED_NAMES.join(',')) throw new Error('coatcheck: the session join changed shape');
  return (secretHash) => {
    const values = select.get(secretHash);
    if (values === undefined) return null;
    const [id, userId, method, createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, userAgent, ip] = values;
    const [, , , , , , , , , email, name, role, userCreatedAt, userUpdatedAt] = values;
    return {
      session: {
        id,
        secretHash,
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
