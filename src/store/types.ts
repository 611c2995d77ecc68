/**
 * The storage contract every coatcheck store implements.
 *
 * Records are plain data; times are Unix milliseconds. A store never decides policy (expiry,
 * throttling, who may revoke what): it stores, finds and deletes, and it makes the few operations
 * that must be atomic atomic. Every store passes the same conformance suite (`test/store/`).
 *
 * Failures of the backing service (connection refused, timeout) are thrown as
 * `StoreUnavailableError`, which the HTTP layer turns into 503. "Not found" is `null`, never a throw.
 */

export type Role = string;

export interface UserRecord {
  /** Opaque, stable, public identifier (`usr_…`). */
  id: string;
  /** Normalised email (see `normalizeEmail`); unique. */
  email: string;
  name: string | null;
  role: Role;
  /** PHC string: `$argon2id$…`, or a legacy `$2b$…` bcrypt hash that is upgraded on next login. */
  passwordHash: string;
  createdAt: number;
  updatedAt: number;
}

/** How a device stays logged in: a session cookie, or a refresh-token family (token/native modes). */
export type SessionMethod = 'session' | 'token';

/**
 * One logged-in device. Cookie sessions and refresh-token families both own one, so a single
 * device list (`GET /auth/sessions`) shows both and revoking it ends either.
 */
export interface SessionRecord {
  /** Public identifier (`ses_…`): listed, revoked by, and carried as the `sid` claim. Not a secret. */
  id: string;
  /** SHA-256 (base64url) of the cookie secret; `null` for token-mode sessions, which have no cookie. */
  secretHash: string | null;
  userId: string;
  method: SessionMethod;
  createdAt: number;
  lastSeenAt: number;
  /** Idle deadline; moved forward by activity (written at most once a minute). */
  idleExpiresAt: number;
  /** Hard deadline; never moves. */
  absoluteExpiresAt: number;
  userAgent: string | null;
  ip: string | null;
}

export interface UserStore {
  /** Inserts a user. Returns `null` (and writes nothing) when the email is taken; a taken id rejects. */
  create(user: UserRecord): Promise<UserRecord | null>;
  findById(id: string): Promise<UserRecord | null>;
  findByEmail(email: string): Promise<UserRecord | null>;
  /**
   * Returns false when the user does not exist, or, with `replacing`, when the stored hash is no
   * longer that one (a rehash must not undo a password change that landed meanwhile). Every store
   * must honour `replacing`, atomically: a store that ignores it lets a login's rehash write an old
   * password back over a change.
   */
  updatePasswordHash(
    id: string,
    passwordHash: string,
    updatedAt: number,
    options?: { replacing?: string },
  ): Promise<boolean>;
  /** Returns false when the user does not exist. */
  updateRole(id: string, role: Role, updatedAt: number): Promise<boolean>;
  /** Users ordered by `createdAt`, then `id`. */
  list(options?: { limit?: number; offset?: number }): Promise<UserRecord[]>;
}

export interface SessionStore {
  /**
   * Inserts a session for an existing user. Ids and secret hashes are unique; a collision rejects
   * with a plain `Error` (a bug in the caller, so a 500, never a silent overwrite).
   */
  create(session: SessionRecord): Promise<void>;
  findById(id: string): Promise<SessionRecord | null>;
  findBySecretHash(secretHash: string): Promise<SessionRecord | null>;
  /** Records activity. Returns false when the session no longer exists. */
  touch(id: string, update: { lastSeenAt: number; idleExpiresAt: number }): Promise<boolean>;
  /** Every session of the user, expired ones included (the caller filters by time), by `createdAt` then `id`. */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /**
   * Deletes one session. Returns false when it did not exist. Every delete below also deletes the
   * refresh family of each deleted session, with all its token hashes, in the same atomic step.
   */
  delete(id: string): Promise<boolean>;
  /**
   * Deletes every session of the user except `exceptId`, in one atomic step, and returns the ids
   * it deleted (the token layer revokes their access tokens by `sid`).
   */
  deleteByUser(userId: string, options?: { exceptId?: string }): Promise<string[]>;
  /** Deletes sessions whose idle or absolute deadline is at or before `now`; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

/**
 * A chain of refresh tokens issued to one device (a token-mode session). Only the newest token is
 * live; every earlier one stays known (by hash) so that presenting it again reveals theft.
 */
export interface RefreshFamilyRecord {
  /** `rfm_…`; not secret. */
  id: string;
  /** The session this family keeps alive; deleting the session deletes the family. */
  sessionId: string;
  userId: string;
  /** SHA-256 (base64url) of the live refresh token. */
  currentHash: string;
  /** SHA-256 of the token the live one replaced, or `null` before the first rotation. */
  previousHash: string | null;
  /**
   * The live token sealed under a key derived from the previous token (never from its hash), so a
   * duplicate refresh with the previous token inside the grace window receives the same successor
   * instead of starting a second chain. `null` before the first rotation.
   */
  successorSealed: string | null;
  /** When the live token was issued by a rotation. */
  rotatedAt: number | null;
  /** Number of rotations so far. */
  generation: number;
  createdAt: number;
  lastUsedAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

export interface RotateRefreshFamily {
  currentHash: string;
  previousHash: string;
  successorSealed: string;
  rotatedAt: number;
  lastUsedAt: number;
  idleExpiresAt: number;
}

export interface RefreshFamilyStore {
  /** Inserts a family and indexes its current token hash. */
  create(family: RefreshFamilyRecord): Promise<void>;
  findById(id: string): Promise<RefreshFamilyRecord | null>;
  /** The family that issued a token with this hash, at any generation, or `null`. */
  findByTokenHash(tokenHash: string): Promise<RefreshFamilyRecord | null>;
  /**
   * Atomic compare-and-swap: replaces the live token only if the family's `currentHash` is still
   * `expectedCurrentHash`, indexes the new hash, and increments `generation`. Two concurrent
   * rotations of one token: exactly one returns true.
   */
  rotate(familyId: string, expectedCurrentHash: string, next: RotateRefreshFamily): Promise<boolean>;
}

/** A signing key of the access-token key ring, shared by every instance through the store. */
export interface SigningKeyRecord {
  /** Key id, carried in each token's `kid` header. */
  kid: string;
  alg: string;
  /** The public JWK (JSON), or `null` for HMAC keys, which have no public part. */
  publicJwk: string | null;
  /** The private JWK, sealed (JWE, A256GCM) under a key derived from the configured secret. */
  privateJwkSealed: string;
  createdAt: number;
  /** When a newer key replaced it for signing; `null` while it signs. */
  retiredAt: number | null;
  /** After this, no token it signed can still be valid: it leaves the JWKS and verification. */
  expiresAt: number | null;
}

export interface SigningKeyStore {
  /** Every key, oldest first. */
  list(): Promise<SigningKeyRecord[]>;
  create(key: SigningKeyRecord): Promise<void>;
  /**
   * Retires every key still signing that comes before `newest` in `list`'s order (`createdAt`,
   * then `kid`); returns the kids it retired. Never a key that comes after it: of several
   * instances rotating (or creating a first key) at once, the last key in that order survives
   * whatever order their calls land in.
   */
  retireOlderThan(
    newest: Pick<SigningKeyRecord, 'kid' | 'createdAt'>,
    retiredAt: number,
    expiresAt: number,
  ): Promise<string[]>;
  /** Deletes keys whose `expiresAt` is at or before `now`; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

/**
 * A user as a request carries it (`req.auth.user`): the record without its password hash, so that
 * an app which serializes what it was handed cannot leak the hash, and the per-request read does not
 * fetch it. Code that needs the hash reads `users.findById`.
 */
export type UserProfile = Omit<UserRecord, 'passwordHash'>;

export interface SessionWithUser {
  session: SessionRecord;
  user: UserProfile;
}

/**
 * The whole store. Later stores add `refreshFamilies` and `signingKeys` beside these; a store may
 * be composed from parts (users in Postgres, sessions in Redis).
 */
export interface Store {
  users: UserStore;
  sessions: SessionStore;
  refreshFamilies: RefreshFamilyStore;
  signingKeys: SigningKeyStore;
  /**
   * Optional: the session with this secret hash and its user, in one read (a join: one statement,
   * one round trip), or `null` when either is missing. Cookie validation runs on every request, so
   * a store whose sessions and users share a database should offer it; `SessionManager` falls back
   * to `sessions.findBySecretHash` then `users.findById` without it. `composeStore` leaves it out
   * when sessions and users come from different backends.
   */
  findSessionWithUser?(secretHash: string): Promise<SessionWithUser | null>;
  /**
   * Optional: `findSessionWithUser` without waiting, for a store that reads without I/O waits
   * (SQLite, memory). Guards try it first, so that a cookie request costs no promise. Throws
   * `StoreUnavailableError` when the store cannot be read. Offered only beside `findSessionWithUser`.
   */
  findSessionWithUserNow?(secretHash: string): SessionWithUser | null;
  /** Throws `StoreUnavailableError` when the backing service cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
