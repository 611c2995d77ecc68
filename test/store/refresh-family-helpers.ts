import { expect } from 'vitest';
import type { RefreshFamilyRecord, SessionRecord, Store } from '../../src/store/types.js';
import { makeRefreshFamily, makeRotation, makeSession, makeUser, MINUTE, T0 } from './fixtures.js';

/** A family as stored, with every hash it ever had (oldest first). */
export interface StoredFamily {
  family: RefreshFamilyRecord;
  hashes: string[];
}

/** A family that has rotated twice, and its session. */
export interface RotatedFamily extends StoredFamily {
  session: SessionRecord;
}

/** A token-mode session, of a new user unless `overrides.userId` names one. */
export async function createTokenSession(store: Store, overrides: Partial<SessionRecord> = {}): Promise<SessionRecord> {
  let { userId } = overrides;
  if (userId === undefined) {
    const user = makeUser();
    await store.users.create(user);
    userId = user.id;
  }
  const session = makeSession(userId, { method: 'token', secretHash: null, ...overrides });
  await store.sessions.create(session);
  return session;
}

/** A new family, generation 0, for a new token session built from `overrides`. */
export async function createFamily(store: Store, overrides: Partial<SessionRecord> = {}): Promise<RefreshFamilyRecord> {
  const family = makeRefreshFamily(await createTokenSession(store, overrides));
  await store.refreshFamilies.create(family);
  return family;
}

export async function createRotatedFamily(
  store: Store,
  overrides: Partial<SessionRecord> = {},
): Promise<RotatedFamily> {
  const created = await createFamily(store, overrides);
  const hashes = [created.currentHash];
  for (const at of [T0 + MINUTE, T0 + 2 * MINUTE]) {
    const next = makeRotation(hashes.at(-1) ?? '', at);
    expect(await store.refreshFamilies.rotate(created.id, next.previousHash, next)).toBe(true);
    hashes.push(next.currentHash);
  }
  const family = await store.refreshFamilies.findById(created.id);
  const session = await store.sessions.findById(created.sessionId);
  if (family === null || session === null) throw new Error('test setup: family was not stored');
  return { session, family, hashes };
}

/** The family is gone, and so is every hash it had: none finds anything, and each can be indexed again. */
export async function expectFamilyGone(store: Store, { family, hashes }: StoredFamily): Promise<void> {
  expect(await store.refreshFamilies.findById(family.id)).toBeNull();
  for (const hash of hashes) expect(await store.refreshFamilies.findByTokenHash(hash)).toBeNull();
  // A lookup could hide a stale index entry (a join to a missing family finds nothing); a new
  // family with an old hash would collide with one.
  for (const hash of hashes) {
    const reuse = makeRefreshFamily(await createTokenSession(store), { currentHash: hash });
    await store.refreshFamilies.create(reuse);
    expect(await store.refreshFamilies.findByTokenHash(hash)).toEqual(reuse);
  }
}

/** The family is stored as given, and every hash it had finds it. */
export async function expectFamilyIntact(store: Store, { family, hashes }: StoredFamily): Promise<void> {
  expect(await store.refreshFamilies.findById(family.id)).toEqual(family);
  for (const hash of hashes) expect(await store.refreshFamilies.findByTokenHash(hash)).toEqual(family);
}
