import type { Store } from '../store/types.js';

/** The parts of a store that come from a second backend, with that backend's own ping and close. */
export interface StoreOverlay extends Partial<Pick<Store, 'users' | 'sessions' | 'refreshFamilies' | 'signingKeys'>> {
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One store from two backends: each part the overlay has (sessions and refresh families, for
 * `createRedisStores`) replaces the base's, the rest (users, signing keys) stays in `base`. `ping`
 * answers only when both backends do; `close` closes both, even if one of them fails.
 *
 * The backends share no transaction, so nothing crosses them atomically: deleting a user in SQL
 * does not delete their sessions in Redis (call `sessions.deleteByUser` as well).
 *
 * @example
 * const store = composeStore(createSqliteStore({ path: './data/auth.db' }), createRedisStores({ url }));
 */
export function composeStore(base: Store, overlay: StoreOverlay): Store {
  // A join across two backends is impossible; the base's join stays only if both halves are its own.
  const ownHalves = overlay.users === undefined && overlay.sessions === undefined;
  const join = ownHalves ? base.findSessionWithUser?.bind(base) : undefined;
  const joinNow = join ? base.findSessionWithUserNow?.bind(base) : undefined;
  return {
    ...(join ? { findSessionWithUser: join } : {}),
    ...(joinNow ? { findSessionWithUserNow: joinNow } : {}),
    users: overlay.users ?? base.users,
    sessions: overlay.sessions ?? base.sessions,
    refreshFamilies: overlay.refreshFamilies ?? base.refreshFamilies,
    signingKeys: overlay.signingKeys ?? base.signingKeys,
    async ping() {
      await Promise.all([base.ping(), overlay.ping()]);
    },
    async close() {
      const results = await Promise.allSettled([overlay.close(), base.close()]);
      const failure = results.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}
