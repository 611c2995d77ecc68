import type { RefreshFamilyRecord, RefreshFamilyStore } from '../../store/types.js';
import type { Database } from './connection.js';

interface RefreshFamilyRow {
  id: string;
  session_id: string;
  user_id: string;
  current_hash: string;
  previous_hash: string | null;
  successor_sealed: string | null;
  // BIGINT arrives as a string; INTEGER (generation) as a number.
  rotated_at: string | null;
  generation: number;
  created_at: string;
  last_used_at: string;
  idle_expires_at: string;
  absolute_expires_at: string;
}

const columns =
  'id, session_id, user_id, current_hash, previous_hash, successor_sealed, rotated_at, generation, created_at, ' +
  'last_used_at, idle_expires_at, absolute_expires_at';

/**
 * Each write is one statement whose data-modifying CTE does the two steps, so each is atomic without
 * holding a pooled connection across round trips (and a connection that dies cannot leave half a
 * write behind): if the second step fails, the first rolls back with it.
 */
export function createPostgresRefreshFamilyStore(db: Database): RefreshFamilyStore {
  const families = db.table('refresh_families');
  const hashes = db.table('refresh_token_hashes');
  // The family and its first hash are one fact: a family that no token hash finds would be unusable.
  const insert = `WITH family AS (
      INSERT INTO ${families} (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
      RETURNING id, current_hash
    )
    INSERT INTO ${hashes} (token_hash, family_id) SELECT current_hash, id FROM family`;
  const selectById = `SELECT ${columns} FROM ${families} WHERE id = $1`;
  const selectByTokenHash = `SELECT ${columns} FROM ${families}
    WHERE id = (SELECT family_id FROM ${hashes} WHERE token_hash = $1)`;
  // The compare-and-swap: the WHERE clause matches only while current_hash is still the expected one.
  // A concurrent rotation waits for the row lock, re-checks the clause against the committed row,
  // matches nothing, and so indexes nothing: the INSERT runs only for the row that changed.
  const rotate = `WITH swapped AS (
      UPDATE ${families}
      SET current_hash = $3, previous_hash = $4, successor_sealed = $5, rotated_at = $6, last_used_at = $7,
        idle_expires_at = $8, generation = generation + 1
      WHERE id = $1 AND current_hash = $2
      RETURNING id, current_hash
    )
    INSERT INTO ${hashes} (token_hash, family_id) SELECT current_hash, id FROM swapped`;

  return {
    async create(family) {
      await db.query(insert, [
        family.id,
        family.sessionId,
        family.userId,
        family.currentHash,
        family.previousHash,
        family.successorSealed,
        family.rotatedAt,
        family.generation,
        family.createdAt,
        family.lastUsedAt,
        family.idleExpiresAt,
        family.absoluteExpiresAt,
      ]);
    },
    async findById(id) {
      return toFamilyOrNull((await db.query<RefreshFamilyRow>(selectById, [id])).rows[0]);
    },
    async findByTokenHash(tokenHash) {
      return toFamilyOrNull((await db.query<RefreshFamilyRow>(selectByTokenHash, [tokenHash])).rows[0]);
    },
    async rotate(familyId, expectedCurrentHash, next) {
      const { currentHash, previousHash, successorSealed, rotatedAt, lastUsedAt, idleExpiresAt } = next;
      const result = await db.query(rotate, [
        familyId,
        expectedCurrentHash,
        currentHash,
        previousHash,
        successorSealed,
        rotatedAt,
        lastUsedAt,
        idleExpiresAt,
      ]);
      return result.rowCount === 1;
    },
  };
}

function toFamilyOrNull(row: RefreshFamilyRow | undefined): RefreshFamilyRecord | null {
  return row === undefined ? null : toFamily(row);
}

function toFamily(row: RefreshFamilyRow): RefreshFamilyRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    userId: row.user_id,
    currentHash: row.current_hash,
    previousHash: row.previous_hash,
    successorSealed: row.successor_sealed,
    rotatedAt: row.rotated_at === null ? null : Number(row.rotated_at),
    generation: row.generation,
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    idleExpiresAt: Number(row.idle_expires_at),
    absoluteExpiresAt: Number(row.absolute_expires_at),
  };
}
