import type BetterSqlite3 from 'better-sqlite3';
import type { SessionMethod, SessionRecord, SessionStore } from '../../store/types.js';
import type { Guard } from './create-sqlite-store.js';

export interface SessionRow {
  id: string;
  secret_hash: string | null;
  user_id: string;
  // The column's CHECK constraint holds it to these two values.
  method: SessionMethod;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  user_agent: string | null;
  ip: string | null;
}

export const columns =
  'id, secret_hash, user_id, method, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip';

/** Expired sessions deleted per statement: a few milliseconds of work, refresh families included. */
const PURGE_BATCH = 1_000;

export function createSqliteSessionStore(db: BetterSqlite3.Database, guard: Guard): SessionStore {
  const insert = db.prepare<SessionRecord>(
    `INSERT INTO sessions (${columns})
     VALUES (@id, @secretHash, @userId, @method, @createdAt, @lastSeenAt, @idleExpiresAt, @absoluteExpiresAt,
       @userAgent, @ip)`,
  );
  const selectById = db.prepare<[string], SessionRow>(`SELECT ${columns} FROM sessions WHERE id = ?`);
  const selectBySecretHash = db.prepare<[string], SessionRow>(`SELECT ${columns} FROM sessions WHERE secret_hash = ?`);
  const selectByUser = db.prepare<[string], SessionRow>(
    `SELECT ${columns} FROM sessions WHERE user_id = ? ORDER BY created_at, id`,
  );
  const touch = db.prepare<[number, number, string]>(
    'UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ?',
  );
  // Every delete here cascades (migration 2) to the session's refresh family and all its token
  // hashes, inside the same statement, so a revoked device's refresh tokens die with it.
  const deleteOne = db.prepare<[string]>('DELETE FROM sessions WHERE id = ?');
  // One statement is one transaction: the rows chosen are exactly the rows deleted and returned,
  // even if another connection is creating or deleting this user's sessions at the same moment.
  // `id IS NOT NULL` holds for every row, so a null exceptId spares nothing.
  const deleteByUser = db.prepare<{ userId: string; exceptId: string | null }, { id: string }>(
    'DELETE FROM sessions WHERE user_id = @userId AND id IS NOT @exceptId RETURNING id',
  );
  const deleteExpiredBatch = db.prepare<{ now: number }>(
    `DELETE FROM sessions WHERE id IN (
       SELECT id FROM sessions WHERE idle_expires_at <= @now OR absolute_expires_at <= @now LIMIT ${PURGE_BATCH}
     )`,
  );

  return {
    create: (session) =>
      guard(() => {
        insert.run(session);
      }),
    findById: (id) => guard(() => toSessionOrNull(selectById.get(id))),
    findBySecretHash: (secretHash) => guard(() => toSessionOrNull(selectBySecretHash.get(secretHash))),
    touch: (id, { lastSeenAt, idleExpiresAt }) => guard(() => touch.run(lastSeenAt, idleExpiresAt, id).changes > 0),
    listByUser: (userId) => guard(() => selectByUser.all(userId).map(toSession)),
    delete: (id) => guard(() => deleteOne.run(id).changes > 0),
    deleteByUser: (userId, options = {}) =>
      guard(() => deleteByUser.all({ userId, exceptId: options.exceptId ?? null }).map((row) => row.id)),
    // In batches, with the event loop served between them: better-sqlite3 is synchronous, and one
    // statement over a backlog (a million sessions expired over a weekend: 2.7 s here) would hold
    // every request of the process for as long.
    async deleteExpired(now) {
      let total = 0;
      for (;;) {
        const deleted = await guard(() => deleteExpiredBatch.run({ now }).changes);
        total += deleted;
        if (deleted < PURGE_BATCH) return total;
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

function toSessionOrNull(row: SessionRow | undefined): SessionRecord | null {
  return row === undefined ? null : toSession(row);
}

export function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    userId: row.user_id,
    method: row.method,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    userAgent: row.user_agent,
    ip: row.ip,
  };
}
