import type { SessionStore, Store } from '../store/types.js';

/**
 * The same store, but every session it deletes on request (logout, revocation, logout-all,
 * password change, refresh-token reuse) is also reported to `onRevoked`, after the delete
 * succeeded: the revocation broadcast follows the store, never the other way round.
 */
export function observeRevocations(store: Store, onRevoked: (sessionIds: string[]) => Promise<void>): Store {
  const inner = store.sessions;
  const sessions: SessionStore = {
    create: (session) => inner.create(session),
    findById: (id) => inner.findById(id),
    findBySecretHash: (hash) => inner.findBySecretHash(hash),
    touch: (id, update) => inner.touch(id, update),
    listByUser: (userId) => inner.listByUser(userId),
    deleteExpired: (now) => inner.deleteExpired(now),
    async delete(id) {
      const deleted = await inner.delete(id);
      if (deleted) await onRevoked([id]);
      return deleted;
    },
    async deleteByUser(userId, options) {
      const ids = await inner.deleteByUser(userId, options);
      if (ids.length > 0) await onRevoked(ids);
      return ids;
    },
  };
  // Reads pass through untouched, the joined cookie read included.
  const join = store.findSessionWithUser?.bind(store);
  const joinNow = join ? store.findSessionWithUserNow?.bind(store) : undefined;
  return {
    ...(join ? { findSessionWithUser: join } : {}),
    ...(joinNow ? { findSessionWithUserNow: joinNow } : {}),
    users: store.users,
    sessions,
    refreshFamilies: store.refreshFamilies,
    signingKeys: store.signingKeys,
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
