import type { SessionMethod, SessionRecord, SessionStore } from '../../store/types.js';
import type { Database } from './connection.js';

export interface SessionRow {
  id: string;
  secret_hash: string | null;
  user_id: string;
  // The column's CHECK constraint holds it to these two values.
  method: SessionMethod;
  // BIGINT arrives as a string.
  created_at: string;
  last_seen_at: string;
  idle_expires_at: string;
  absolute_expires_at: string;
  user_agent: string | null;
  ip: string | null;
}

export const columns =
  'id, secret_hash, user_id, method, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip';

/** Expired sessions deleted per statement, with their refresh families and token hashes. */
const PURGE_BATCH = 5_000;

export function createPostgresSessionStore(db: Database): SessionStore {
  const sessions = db.table('sessions');
  const insert = `INSERT INTO ${sessions} (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
  const selectById = `SELECT ${columns} FROM ${sessions} WHERE id = $1`;
  const selectBySecretHash = `SELECT ${columns} FROM ${sessions} WHERE secret_hash = $1`;
  const selectByUser = `SELECT ${columns} FROM ${sessions} WHERE user_id = $1 ORDER BY created_at, id`;
  const touch = `UPDATE ${sessions} SET last_seen_at = $2, idle_expires_at = $3 WHERE id = $1`;
  // Every delete here cascades (ON DELETE CASCADE) to the session's refresh family and all its token
  // hashes, inside the same statement, so a revoked device's refresh tokens die with it.
  const deleteOne = `DELETE FROM ${sessions} WHERE id = $1`;
  // One statement is one transaction: the rows chosen are exactly the rows deleted and returned,
  // even while another connection creates or deletes this user's sessions. A null exceptId is
  // distinct from every id, so it spares nothing.
  const deleteByUser = `DELETE FROM ${sessions} WHERE user_id = $1 AND id IS DISTINCT FROM $2 RETURNING id`;
  // In batches, each its own statement: one DELETE over a backlog (a weekend of expired sessions)
  // would run into the 5 s statement timeout on every purge and never get through it. Rows another
  // instance's purge holds are skipped, not waited for.
  const deleteExpiredBatch = `DELETE FROM ${sessions} WHERE id IN (
      SELECT id FROM ${sessions} WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1
      LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED
    )`;

  return {
    async create(session) {
      const { id, secretHash, userId, method, createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt } = session;
      const { userAgent, ip } = session;
      await db.query(insert, [
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
      ]);
    },
    async findById(id) {
      return toSessionOrNull((await db.query<SessionRow>(selectById, [id])).rows[0]);
    },
    async findBySecretHash(secretHash) {
      return toSessionOrNull((await db.query<SessionRow>(selectBySecretHash, [secretHash])).rows[0]);
    },
    async touch(id, { lastSeenAt, idleExpiresAt }) {
      return ((await db.query(touch, [id, lastSeenAt, idleExpiresAt])).rowCount ?? 0) > 0;
    },
    async listByUser(userId) {
      return (await db.query<SessionRow>(selectByUser, [userId])).rows.map(toSession);
    },
    async delete(id) {
      return ((await db.query(deleteOne, [id])).rowCount ?? 0) > 0;
    },
    async deleteByUser(userId, options = {}) {
      const result = await db.query<{ id: string }>(deleteByUser, [userId, options.exceptId ?? null]);
      return result.rows.map((row) => row.id);
    },
    async deleteExpired(now) {
      let total = 0;
      for (;;) {
        const deleted = (await db.query(deleteExpiredBatch, [now])).rowCount ?? 0;
        total += deleted;
        if (deleted < PURGE_BATCH) return total;
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
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    idleExpiresAt: Number(row.idle_expires_at),
    absoluteExpiresAt: Number(row.absolute_expires_at),
    userAgent: row.user_agent,
    ip: row.ip,
  };
}
