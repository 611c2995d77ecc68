import { callerBug } from './connection.js';

/**
 * Where a session lives: the user whose hash slot holds it, and its id. Every index key (by session
 * id, secret hash, family id, token hash) and the expiry schedule store it as `<userId>:<sessionId>`;
 * session ids never contain `:` (`create` refuses them), so the last `:` splits it.
 */
export interface SessionRef {
  userId: string;
  sessionId: string;
}

/** The keys of one session, all in its user's hash slot, so one script may touch them together. */
export interface SessionKeys {
  session: string;
  /** The session's refresh family, named by the session (a session has at most one). */
  family: string;
  /** Every token hash the family ever had. */
  familyHashes: string;
  /** The user's session ids, scored by `createdAt`. */
  userSessions: string;
}

export interface Keys {
  /** `<prefix>:{u:<userId>}:`: the `{…}` hash tag puts every key of one user in one Cluster slot. */
  userPrefix(userId: string): string;
  /** A session key's name is `head + userId + middle + sessionId`, for a script that derives it from a ref. */
  sessionKeyParts: readonly [head: string, middle: string];
  userSessions(userId: string): string;
  /**
   * What one removal call (its `nonce`) removed, kept a minute: a script resent after its reply
   * was lost answers from it instead of finding nothing left to remove.
   */
  removalMemo(userId: string, nonce: string): string;
  of(ref: SessionRef): SessionKeys;
  /** Session id -> user id. The index keys below live in other slots, one each. */
  sessionIndex(sessionId: string): string;
  /** Cookie secret hash -> session ref. */
  secretIndex(secretHash: string): string;
  /** Family id -> session ref. */
  familyIndex(familyId: string): string;
  /** Refresh token hash (any generation) -> session ref. */
  tokenIndex(tokenHash: string): string;
  /** Sorted set of session refs by deadline (min of idle and absolute), for `deleteExpired`. */
  expiry: string;
}

/**
 * The key layout. Within a user's slot the suffix after the prefix names the kind (`ses:`, `rf:`,
 * `rfh:`, `sessions`, `done:`); index keys start with `<prefix>:` and a kind (`sid:`, `sh:`, `fid:`, `rth:`),
 * never with `{`, so no index key can collide with a user key.
 */
export function createKeys(prefix: string): Keys {
  if (prefix === '' || /[{}]/.test(prefix)) {
    throw new TypeError('keyPrefix must be a non-empty string without braces (they would change the hash slot)');
  }
  const userPrefix = (userId: string): string => `${prefix}:{u:${userId}}:`;
  return {
    sessionKeyParts: [`${prefix}:{u:`, '}:ses:'],
    userPrefix,
    userSessions: (userId) => `${userPrefix(userId)}sessions`,
    removalMemo: (userId, nonce) => `${userPrefix(userId)}done:${nonce}`,
    of: ({ userId, sessionId }) => {
      const user = userPrefix(userId);
      return {
        session: `${user}ses:${sessionId}`,
        family: `${user}rf:${sessionId}`,
        familyHashes: `${user}rfh:${sessionId}`,
        userSessions: `${user}sessions`,
      };
    },
    sessionIndex: (sessionId) => `${prefix}:sid:${sessionId}`,
    secretIndex: (secretHash) => `${prefix}:sh:${secretHash}`,
    familyIndex: (familyId) => `${prefix}:fid:${familyId}`,
    tokenIndex: (tokenHash) => `${prefix}:rth:${tokenHash}`,
    expiry: `${prefix}:expiry`,
  };
}

export function encodeRef({ userId, sessionId }: SessionRef): string {
  return `${userId}:${sessionId}`;
}

/** The ref an index entry holds, or `null` for a missing (or malformed) entry. */
export function decodeRef(value: string | null): SessionRef | null {
  if (value === null) return null;
  const at = value.lastIndexOf(':');
  if (at <= 0 || at === value.length - 1) return null;
  return { userId: value.slice(0, at), sessionId: value.slice(at + 1) };
}

/** Refuses an id that could not be told apart inside a ref or a key name: a bug in the caller. */
export function checkId(id: string, what: string): void {
  if (id === '' || id.includes(':')) throw callerBug(`The ${what} must be non-empty and contain no ":"`);
}
