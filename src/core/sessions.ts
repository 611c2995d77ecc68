import type { SessionMethod, SessionRecord, SessionWithUser, Store, UserRecord } from '../store/types.js';
import type { ResolvedOptions } from './options.js';
import { generateId, generateSecret, hashSecret, isWellFormedSecret } from './random.js';
import { withoutPasswordHash } from './user.js';

/** Where a login came from, as shown in the device list. */
export interface ClientInfo {
  ip?: string | null;
  userAgent?: string | null;
}

/** A live session and its user, as `validate` returns them (the store's joined read has the same shape). */
export type ValidSession = SessionWithUser;

const MAX_USER_AGENT = 512;

/** The moment a session ends: whichever deadline comes first. */
export function sessionExpiresAt(session: SessionRecord): number {
  return Math.min(session.idleExpiresAt, session.absoluteExpiresAt);
}

/**
 * Creates, validates and ends sessions. It takes secrets and returns records; cookies and HTTP
 * are the caller's business.
 */
export class SessionManager {
  readonly #options: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /**
   * Starts a new session for `user`. Returns the record and the secret: the secret goes to the
   * client once and is never stored (the store keeps its SHA-256).
   */
  async create(
    user: Pick<UserRecord, 'id'>,
    client: ClientInfo,
    options: { method?: SessionMethod; idleTtlMs?: number; absoluteTtlMs?: number } = {},
  ): Promise<{ session: SessionRecord; secret: string | null }> {
    const now = this.#options.clock.now();
    const idleTtlMs = options.idleTtlMs ?? this.#options.idleTtlMs;
    const absoluteTtlMs = options.absoluteTtlMs ?? this.#options.absoluteTtlMs;
    const method = options.method ?? 'session';
    const secret = method === 'session' ? generateSecret() : null;
    const session: SessionRecord = {
      id: generateId('ses'),
      secretHash: secret === null ? null : hashSecret(secret),
      userId: user.id,
      method,
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: now + idleTtlMs,
      absoluteExpiresAt: now + absoluteTtlMs,
      userAgent: client.userAgent ? client.userAgent.slice(0, MAX_USER_AGENT) : null,
      ip: client.ip ?? null,
    };
    await this.#options.store.sessions.create(session);
    return { session, secret };
  }

  /**
   * The live session and its user for a cookie secret, or `null`. Extends the idle deadline, but
   * writes that to the store at most once per `touchInterval` so reads stay reads.
   */
  async validate(secret: string): Promise<ValidSession | null> {
    if (!isWellFormedSecret(secret)) return null;
    const { store, clock } = this.#options;
    const found = await findSessionWithUser(store, hashSecret(secret));
    if (!found) return null;
    const { session, user } = found;
    const now = clock.now();
    if (sessionExpiresAt(session) <= now) {
      await store.sessions.delete(session.id);
      return null;
    }
    if (now - session.lastSeenAt >= this.#options.touchIntervalMs) {
      const update = { lastSeenAt: now, idleExpiresAt: now + this.#options.idleTtlMs };
      if (!(await store.sessions.touch(session.id, update))) return null;
      Object.assign(session, update);
    }
    return { user, session };
  }

  /** Whether `validateNow` can answer at all: the store reads without I/O. */
  get validatesWithoutWaiting(): boolean {
    return this.#options.store.findSessionWithUserNow !== undefined;
  }

  /**
   * `validate` without waiting, where the store reads without I/O (`findSessionWithUserNow`) and
   * nothing needs writing: the same answer, or `undefined` when only `validate` can give it (no
   * synchronous read, an expired session to delete, a touch that is due).
   */
  validateNow(secret: string): ValidSession | null | undefined {
    const { store, clock } = this.#options;
    if (!store.findSessionWithUserNow) return undefined;
    if (!isWellFormedSecret(secret)) return null;
    const found = profileOnly(store.findSessionWithUserNow(hashSecret(secret)));
    if (!found) return null;
    const now = clock.now();
    if (sessionExpiresAt(found.session) <= now || now - found.session.lastSeenAt >= this.#options.touchIntervalMs) {
      return undefined;
    }
    return found;
  }

  /** Ends the session a cookie secret names, if any (logout). Returns the ended session. */
  async endBySecret(secret: string): Promise<SessionRecord | null> {
    if (!isWellFormedSecret(secret)) return null;
    const session = await this.#options.store.sessions.findBySecretHash(hashSecret(secret));
    if (!session) return null;
    await this.#options.store.sessions.delete(session.id);
    return session;
  }

  /** A user's live sessions, newest first. */
  async listForUser(userId: string): Promise<SessionRecord[]> {
    const now = this.#options.clock.now();
    const sessions = await this.#options.store.sessions.listByUser(userId);
    return sessions.filter((s) => sessionExpiresAt(s) > now).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Ends one of the user's sessions. False when it is not theirs or does not exist. */
  async revoke(userId: string, sessionId: string): Promise<boolean> {
    const session = await this.#options.store.sessions.findById(sessionId);
    if (!session || session.userId !== userId) return false;
    return this.#options.store.sessions.delete(sessionId);
  }

  /** Ends every session of the user, or every one but `exceptId`. Returns the ended ids. */
  revokeAll(userId: string, options: { exceptId?: string } = {}): Promise<string[]> {
    return this.#options.store.sessions.deleteByUser(userId, options);
  }
}

/** One read where the store can join; otherwise the session, then its user. */
async function findSessionWithUser(store: Store, secretHash: string): Promise<SessionWithUser | null> {
  if (store.findSessionWithUser) return profileOnly(await store.findSessionWithUser(secretHash));
  const session = await store.sessions.findBySecretHash(secretHash);
  const user = session && (await store.users.findById(session.userId));
  // The joined reads never carry the hash; neither does this one.
  return session && user ? { session, user: withoutPasswordHash(user) } : null;
}

/**
 * A store written before the join left the hash out (or in plain JavaScript) may still return the
 * whole record: the type cannot stop it, so the hash is dropped here, whoever wrote the store.
 */
function profileOnly(found: SessionWithUser | null): SessionWithUser | null {
  if (found && 'passwordHash' in found.user) return { ...found, user: withoutPasswordHash(found.user as UserRecord) };
  return found;
}
