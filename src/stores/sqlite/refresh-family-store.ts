import type BetterSqlite3 from 'better-sqlite3';
import type { RefreshFamilyRecord, RefreshFamilyStore, RotateRefreshFamily } from '../../store/types.js';
import type { Guard } from './create-sqlite-store.js';

interface RefreshFamilyRow {
  id: string;
  session_id: string;
  user_id: string;
  current_hash: string;
  previous_hash: string | null;
  successor_sealed: string | null;
  rotated_at: number | null;
  generation: number;
  created_at: number;
  last_used_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
}

const columns =
  'id, session_id, user_id, current_hash, previous_hash, successor_sealed, rotated_at, generation, created_at, ' +
  'last_used_at, idle_expires_at, absolute_expires_at';

export function createSqliteRefreshFamilyStore(db: BetterSqlite3.Database, guard: Guard): RefreshFamilyStore {
  const insertFamily = db.prepare<RefreshFamilyRecord>(
    `INSERT INTO refresh_families (${columns})
     VALUES (@id, @sessionId, @userId, @currentHash, @previousHash, @successorSealed, @rotatedAt, @generation,
       @createdAt, @lastUsedAt, @idleExpiresAt, @absoluteExpiresAt)`,
  );
  const insertHash = db.prepare<[string, string]>(
    'INSERT INTO refresh_token_hashes (token_hash, family_id) VALUES (?, ?)',
  );
  const selectById = db.prepare<[string], RefreshFamilyRow>(`SELECT ${columns} FROM refresh_families WHERE id = ?`);
  const selectByTokenHash = db.prepare<[string], RefreshFamilyRow>(
    `SELECT ${columns} FROM refresh_families
     WHERE id = (SELECT family_id FROM refresh_token_hashes WHERE token_hash = ?)`,
  );
  // The WHERE clause is the compare-and-swap: a rotation that lost the race matches no row.
  const update = db.prepare<RotateRefreshFamily & { familyId: string; expectedCurrentHash: string }>(
    `UPDATE refresh_families
     SET current_hash = @currentHash, previous_hash = @previousHash, successor_sealed = @successorSealed,
       rotated_at = @rotatedAt, last_used_at = @lastUsedAt, idle_expires_at = @idleExpiresAt,
       generation = generation + 1
     WHERE id = @familyId AND current_hash = @expectedCurrentHash`,
  );

  // The family and its first hash are one fact: a family that no token hash finds would be unusable.
  const create = db.transaction((family: RefreshFamilyRecord) => {
    insertFamily.run(family);
    insertHash.run(family.currentHash, family.id);
  });
  // IMMEDIATE takes the write lock before the compare, so another process cannot rotate in between.
  // If indexing the new hash fails, the update rolls back with it.
  const rotate = db.transaction((familyId: string, expectedCurrentHash: string, next: RotateRefreshFamily): boolean => {
    const { currentHash, previousHash, successorSealed, rotatedAt, lastUsedAt, idleExpiresAt } = next;
    const swapped = update.run({
      familyId,
      expectedCurrentHash,
      currentHash,
      previousHash,
      successorSealed,
      rotatedAt,
      lastUsedAt,
      idleExpiresAt,
    });
    if (swapped.changes === 0) return false;
    insertHash.run(currentHash, familyId);
    return true;
  });

  return {
    create: (family) => guard(() => create.immediate(family)),
    findById: (id) => guard(() => toFamilyOrNull(selectById.get(id))),
    findByTokenHash: (tokenHash) => guard(() => toFamilyOrNull(selectByTokenHash.get(tokenHash))),
    rotate: (familyId, expectedCurrentHash, next) => guard(() => rotate.immediate(familyId, expectedCurrentHash, next)),
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
    rotatedAt: row.rotated_at,
    generation: row.generation,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
  };
}
