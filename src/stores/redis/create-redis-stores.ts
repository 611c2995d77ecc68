import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../core/clock.js';
import type { RefreshFamilyStore, SessionStore } from '../../store/types.js';
import { createRun, openClient } from './connection.js';
import type { RedisContext } from './context.js';
import { createKeys } from './keys.js';
import { createRedisRefreshFamilyStore } from './refresh-family-store.js';
import { createRedisSessionStore } from './session-store.js';

/** A URL to connect to (the store opens and closes the client), or a client the caller owns. */
export type RedisStoresOptions = { url: string } | { redis: Redis };

export interface RedisStoresSettings {
  /** Start of every key name; no braces. Default `cc`. */
  keyPrefix?: string;
  /** The source of "now" for TTLs; give it the clock the auth core uses. Default `Date.now`. */
  clock?: Clock;
  /**
   * How long a session or family stays in Redis after its deadline before Redis's own expiry
   * removes it. Until then it is listed (expired records included, as the contract says) and
   * `deleteExpired` removes and counts it, with its index keys and family; Redis's expiry is only
   * the backstop when no purge runs. Default 15 minutes, more than the default purge interval (10).
   * Keep the purge on: it is also what empties the expiry schedule of sessions Redis expired itself.
   */
  expiryGraceMs?: number;
}

/** Sessions and refresh families in Redis; users and signing keys stay in a SQL store (see `composeStore`). */
export interface RedisStores {
  sessions: SessionStore;
  refreshFamilies: RefreshFamilyStore;
  /** Throws `StoreUnavailableError` when Redis cannot be reached. */
  ping(): Promise<void>;
  /**
   * Redis's `maxmemory-policy`, or `null` when the server will not say (`CONFIG GET` refused: a
   * managed Redis, an ACL user without it). Anything but `noeviction` is unsafe here, see above.
   * Throws `StoreUnavailableError` when Redis cannot be reached.
   */
  maxmemoryPolicy(): Promise<string | null>;
  /** Closes the client if the store opened it; either way, every later call rejects. */
  close(): Promise<void>;
  readonly redis: Redis;
}

/** What every key starts with unless `keyPrefix` says otherwise. */
export const DEFAULT_KEY_PREFIX = 'cc';

/**
 * Sessions and refresh families in Redis. Every key of one user carries the hash tag `{u:<userId>}`,
 * so the atomic steps (a Lua script each) stay within one slot and the layout works on Redis Cluster
 * too; lookups by id or secret go through small index keys in other slots, which are cleaned up
 * after each delete and never trusted without checking the record they point at. Records expire by
 * Redis TTL at their deadline (plus `expiryGraceMs`), computed from the injected clock.
 *
 * A client passed in is used as it is: give it the same bounded-failure options `createRedisStores`
 * uses for a URL (`enableOfflineQueue: false`, `maxRetriesPerRequest: 1`, a `retryStrategy`).
 * Run Redis with `maxmemory-policy noeviction` (then a full Redis refuses writes: logins fail with
 * 503, nothing is lost). Every key here has a TTL, so a `volatile-*` policy evicts them as readily as
 * an `allkeys-*` one, and one key of a session can go while the others stay: an evicted user set
 * makes "log out everywhere" miss every session it listed, an evicted token index or hash list
 * makes a reused refresh token look unknown instead of revoking its family, an evicted index entry
 * logs a user out. `coatcheck serve` warns at start unless `maxmemoryPolicy()` says `noeviction`.
 *
 * @example
 * const redis = createRedisStores({ url: 'redis://127.0.0.1:6379' }, { clock });
 * const store = composeStore(createSqliteStore({ path: './data/auth.db' }), redis);
 */
export function createRedisStores(options: RedisStoresOptions, settings: RedisStoresSettings = {}): RedisStores {
  const { keyPrefix = DEFAULT_KEY_PREFIX, clock = systemClock, expiryGraceMs = 15 * 60_000 } = settings;
  if (!(Number.isSafeInteger(expiryGraceMs) && expiryGraceMs >= 0)) {
    throw new TypeError('expiryGraceMs must be a non-negative integer of milliseconds');
  }
  const keys = createKeys(keyPrefix);
  const ownsClient = 'url' in options;
  const redis = 'url' in options ? openClient(options.url) : options.redis;
  let closed = false;
  const run = createRun(redis, () => closed);
  const context: RedisContext = { redis, keys, clock, graceMs: expiryGraceMs, run };

  return {
    sessions: createRedisSessionStore(context),
    refreshFamilies: createRedisRefreshFamilyStore(context),
    ping: () =>
      run(async () => {
        await redis.ping();
      }),
    maxmemoryPolicy: () =>
      run(async () => {
        try {
          const reply: unknown = await redis.config('GET', 'maxmemory-policy');
          // A flat [name, value] reply; an empty one from a server that hides its settings.
          return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : null;
        } catch (error) {
          // An error reply (unknown or renamed command, NOPERM) is a refusal; a dropped connection is not.
          if (error instanceof Error && error.name === 'ReplyError') return null;
          throw error;
        }
      }),
    async close() {
      if (closed) return;
      closed = true;
      if (!ownsClient) return;
      if (redis.status === 'ready') {
        // QUIT lets Redis answer what is in flight; if it cannot be sent, just drop the socket.
        await redis.quit().catch(() => redis.disconnect());
      } else {
        redis.disconnect();
      }
    },
    redis,
  };
}
