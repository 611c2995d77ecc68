import { StoreUnavailableError } from '../../core/errors.js';
import type { SessionRecord, SessionStore, SessionWithUser, Store, UserRecord, UserStore } from '../../store/types.js';
import { withoutPasswordHash } from '../../core/user.js';
import { checkPage } from '../internal/check-page.js';
import { createMemoryRefreshFamilies } from './refresh-family-store.js';
import { createMemorySigningKeyStore } from './signing-key-store.js';

/** Runs one operation to completion and turns a closed store or a throw into a rejection. */
export type Run = <T>(operation: () => T) => Promise<T>;

/**
 * A store that lives in this process's memory: for tests, examples and single-process demos.
 * Everything is lost when the process exits. Records go in and come out as copies, so a caller
 * mutating one cannot change what is stored.
 *
 * @example
 * const auth = createAuth({ store: createMemoryStore(), origin: 'http://localhost:3000' });
 */
export function createMemoryStore(): Store {
  const usersById = new Map<string, UserRecord>();
  const userIdsByEmail = new Map<string, string>();
  const sessionsById = new Map<string, SessionRecord>();
  const sessionIdsBySecretHash = new Map<string, string>();
  const sessionIdsByUser = new Map<string, Set<string>>();
  let closed = false;

  // Each operation runs synchronously to completion, so none can interleave with another: that is
  // what makes `create` (check email, then insert) and `deleteByUser` atomic here. Failures become
  // rejections, as they would from a real backend.
  const run: Run = (operation) => {
    try {
      if (closed) throw new StoreUnavailableError('The store is closed');
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const refreshFamilies = createMemoryRefreshFamilies(run, (sessionId) => sessionsById.has(sessionId));

  function sessionsOf(userId: string): SessionRecord[] {
    const ids = sessionIdsByUser.get(userId) ?? new Set<string>();
    return [...ids]
      .map((id) => sessionsById.get(id))
      .filter((session): session is SessionRecord => session !== undefined)
      .sort(byCreatedAtThenId);
  }

  // Every session delete comes through here, so the refresh family and all its token hashes go in the
  // same synchronous step as the session: no caller can see a family whose session is gone.
  function removeSession(session: SessionRecord): void {
    refreshFamilies.deleteBySession(session.id);
    sessionsById.delete(session.id);
    if (session.secretHash !== null) sessionIdsBySecretHash.delete(session.secretHash);
    const ids = sessionIdsByUser.get(session.userId);
    ids?.delete(session.id);
    if (ids?.size === 0) sessionIdsByUser.delete(session.userId);
  }

  const users: UserStore = {
    create: (user) =>
      run(() => {
        if (userIdsByEmail.has(user.email)) return null;
        // An id collision is a bug in the id generator, not a normal outcome like a taken email.
        if (usersById.has(user.id)) throw new Error('A user with this id already exists');
        usersById.set(user.id, { ...user });
        userIdsByEmail.set(user.email, user.id);
        return { ...user };
      }),
    findById: (id) => run(() => copy(usersById.get(id))),
    findByEmail: (email) => run(() => copy(lookup(usersById, userIdsByEmail.get(email)))),
    updatePasswordHash: (id, passwordHash, updatedAt, { replacing } = {}) =>
      run(() => {
        const user = usersById.get(id);
        if (replacing !== undefined && user?.passwordHash !== replacing) return false;
        return update(user, { passwordHash, updatedAt });
      }),
    updateRole: (id, role, updatedAt) => run(() => update(usersById.get(id), { role, updatedAt })),
    list: (options = {}) =>
      run(() => {
        const { limit, offset } = checkPage(options);
        const end = limit === undefined ? undefined : offset + limit;
        return [...usersById.values()]
          .sort(byCreatedAtThenId)
          .slice(offset, end)
          .map((user) => ({ ...user }));
      }),
  };

  const sessions: SessionStore = {
    create: (session) =>
      run(() => {
        if (sessionsById.has(session.id)) throw new Error('A session with this id already exists');
        if (session.secretHash !== null && sessionIdsBySecretHash.has(session.secretHash)) {
          throw new Error('A session with this secret hash already exists');
        }
        sessionsById.set(session.id, { ...session });
        if (session.secretHash !== null) sessionIdsBySecretHash.set(session.secretHash, session.id);
        const ids = sessionIdsByUser.get(session.userId) ?? new Set<string>();
        sessionIdsByUser.set(session.userId, ids.add(session.id));
      }),
    findById: (id) => run(() => copy(sessionsById.get(id))),
    findBySecretHash: (secretHash) => run(() => copy(lookup(sessionsById, sessionIdsBySecretHash.get(secretHash)))),
    touch: (id, { lastSeenAt, idleExpiresAt }) =>
      run(() => update(sessionsById.get(id), { lastSeenAt, idleExpiresAt })),
    listByUser: (userId) => run(() => sessionsOf(userId).map((session) => ({ ...session }))),
    delete: (id) =>
      run(() => {
        const session = sessionsById.get(id);
        if (session === undefined) return false;
        removeSession(session);
        return true;
      }),
    deleteByUser: (userId, options = {}) =>
      run(() => {
        const doomed = sessionsOf(userId).filter((session) => session.id !== options.exceptId);
        for (const session of doomed) removeSession(session);
        return doomed.map((session) => session.id);
      }),
    deleteExpired: (now) =>
      run(() => {
        const expired = [...sessionsById.values()].filter(
          (session) => session.idleExpiresAt <= now || session.absoluteExpiresAt <= now,
        );
        for (const session of expired) removeSession(session);
        return expired.length;
      }),
  };

  const readSessionWithUser = (secretHash: string): SessionWithUser | null => {
    if (closed) throw new StoreUnavailableError('The store is closed');
    const session = lookup(sessionsById, sessionIdsBySecretHash.get(secretHash));
    const user = session && usersById.get(session.userId);
    return session && user ? { session: { ...session }, user: withoutPasswordHash(user) } : null;
  };

  return {
    findSessionWithUser: (secretHash) => run(() => readSessionWithUser(secretHash)),
    findSessionWithUserNow: readSessionWithUser,
    users,
    sessions,
    refreshFamilies: refreshFamilies.store,
    signingKeys: createMemorySigningKeyStore(run),
    ping: () => run(() => undefined),
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

function copy<T extends object>(record: T | undefined): T | null {
  return record === undefined ? null : { ...record };
}

function lookup<T>(map: Map<string, T>, key: string | undefined): T | undefined {
  return key === undefined ? undefined : map.get(key);
}

function update<T extends object>(record: T | undefined, changes: Partial<T>): boolean {
  if (record === undefined) return false;
  Object.assign(record, changes);
  return true;
}

function byCreatedAtThenId(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
