import type { RefreshFamilyRecord, RefreshFamilyStore } from '../../store/types.js';
import type { Run } from './create-memory-store.js';

/** The refresh-family store, plus the cascade the session store calls when it deletes a session. */
export interface MemoryRefreshFamilies {
  store: RefreshFamilyStore;
  /** Removes the session's family and every hash it ever had; a no-op when it has none. */
  deleteBySession(sessionId: string): void;
}

export function createMemoryRefreshFamilies(
  run: Run,
  sessionExists: (sessionId: string) => boolean,
): MemoryRefreshFamilies {
  const familiesById = new Map<string, RefreshFamilyRecord>();
  const familyIdsByTokenHash = new Map<string, string>();
  const familyIdsBySession = new Map<string, string>();
  // Each family's hashes, newest last, so deleting the family can unindex all of them.
  const tokenHashesByFamily = new Map<string, string[]>();

  function findByTokenHash(tokenHash: string): RefreshFamilyRecord | undefined {
    const id = familyIdsByTokenHash.get(tokenHash);
    return id === undefined ? undefined : familiesById.get(id);
  }

  const store: RefreshFamilyStore = {
    create: (family) =>
      run(() => {
        // The same refusals a database's keys and references would give: all are caller bugs.
        if (familiesById.has(family.id)) throw new Error('A refresh family with this id already exists');
        if (!sessionExists(family.sessionId)) throw new Error('The refresh family names an unknown session');
        if (familyIdsBySession.has(family.sessionId)) throw new Error('The session already has a refresh family');
        if (familyIdsByTokenHash.has(family.currentHash)) throw new Error('This token hash is already indexed');
        familiesById.set(family.id, { ...family });
        familyIdsBySession.set(family.sessionId, family.id);
        familyIdsByTokenHash.set(family.currentHash, family.id);
        tokenHashesByFamily.set(family.id, [family.currentHash]);
      }),
    findById: (id) => run(() => copy(familiesById.get(id))),
    findByTokenHash: (tokenHash) => run(() => copy(findByTokenHash(tokenHash))),
    rotate: (familyId, expectedCurrentHash, next) =>
      run(() => {
        const family = familiesById.get(familyId);
        if (family === undefined || family.currentHash !== expectedCurrentHash) return false;
        // Checked before any write, so a refused rotation leaves the family exactly as it was.
        if (familyIdsByTokenHash.has(next.currentHash)) throw new Error('This token hash is already indexed');
        family.currentHash = next.currentHash;
        family.previousHash = next.previousHash;
        family.successorSealed = next.successorSealed;
        family.rotatedAt = next.rotatedAt;
        family.lastUsedAt = next.lastUsedAt;
        family.idleExpiresAt = next.idleExpiresAt;
        family.generation += 1;
        familyIdsByTokenHash.set(next.currentHash, familyId);
        tokenHashesByFamily.get(familyId)?.push(next.currentHash);
        return true;
      }),
  };

  function deleteBySession(sessionId: string): void {
    const id = familyIdsBySession.get(sessionId);
    if (id === undefined) return;
    for (const tokenHash of tokenHashesByFamily.get(id) ?? []) familyIdsByTokenHash.delete(tokenHash);
    tokenHashesByFamily.delete(id);
    familyIdsBySession.delete(sessionId);
    familiesById.delete(id);
  }

  return { store, deleteBySession };
}

function copy(record: RefreshFamilyRecord | undefined): RefreshFamilyRecord | null {
  return record === undefined ? null : { ...record };
}
