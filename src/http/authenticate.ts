import type { ErrorCode } from '../core/errors.js';
import type { ResolvedOptions } from '../core/options.js';
import { sessionExpiresAt, type SessionManager, type ValidSession } from '../core/sessions.js';
import type { SessionRecord, UserProfile } from '../store/types.js';
import type { AuthCookie } from './session-cookie.js';
import { cookieValues } from './cookies.js';
import { isUnsafeMethod, passesCsrfCheck } from './csrf.js';

/** Who a request is, and how it proved it. */
export interface Identity {
  userId: string;
  /** The role at the time of the check: from the user record (session) or the token's claim (bearer). */
  role: string;
  method: 'session' | 'bearer';
  sessionId: string;
  /** Unix ms at which this credential stops working. */
  expiresAt: number;
  /**
   * The user (without the password hash): always for sessions; for bearer tokens only when it was
   * looked up.
   */
  user?: UserProfile;
  /** The session record, when the credential was a session cookie. */
  session?: SessionRecord;
}

/** Verifies bearer access tokens; the token layer provides it. Returns `null` for any bad token. */
export interface BearerVerifier {
  verify(token: string, options: { strict: boolean }): Promise<Identity | null>;
  /**
   * `verify`'s answer when it can be had without waiting (a token verified before), else
   * `undefined`. Guards call it first, so the common request costs no promise.
   */
  verifyKnown?(token: string, options: { strict: boolean }): Identity | null | undefined;
}

export type AuthOutcome =
  | { ok: true; identity: Identity }
  | {
      ok: false;
      code: Extract<ErrorCode, 'unauthenticated' | 'invalid_token' | 'ambiguous_credentials' | 'csrf_rejected'>;
      /** The session cookie named a session that no longer exists: tell the browser to drop it. */
      clearSessionCookie: boolean;
    };

/** What `authenticate` reads of a request; `header` is always called as a method of this object. */
export interface RequestFacts {
  method: string;
  /** A header's value (repeated headers joined), or null when absent; `name` is lower-case. */
  header(name: string): string | null;
}

// RFC 6750 b64token, with a case-insensitive scheme and one or more spaces.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_BEARER_LENGTH = 8 * 1024;
const NOT_BEARER = Symbol('not a bearer header');

type AuthenticateDeps = {
  options: ResolvedOptions;
  sessions: SessionManager;
  cookie: AuthCookie;
  bearer: BearerVerifier | null;
};

/** The token of a bearer `Authorization` header, `null` for a malformed one, `NOT_BEARER` for none. */
function bearerTokenOf(authorization: string | null): string | null | typeof NOT_BEARER {
  if (authorization === null || !/^bearer(\s|$)/i.test(authorization)) return NOT_BEARER;
  const match = authorization.length <= MAX_BEARER_LENGTH + 16 ? BEARER.exec(authorization) : null;
  const token = match?.[1];
  return token && token.length <= MAX_BEARER_LENGTH ? token : null;
}

function refused(code: Exclude<AuthOutcome, { ok: true }>['code']): AuthOutcome {
  return { ok: false, code, clearSessionCookie: false };
}

/**
 * The session cookie's secret, or the outcome when it is decided before any store read: no
 * cookie, two of them, or an unsafe method that fails the CSRF rule.
 */
function cookieSecretOf(request: RequestFacts, deps: AuthenticateDeps): string | AuthOutcome {
  const values = cookieValues(request.header('cookie'), deps.cookie.name);
  if (values.length === 0) return refused('unauthenticated');
  if (values.length > 1) return refused('ambiguous_credentials');
  if (
    isUnsafeMethod(request.method) &&
    // Called as a method: an adapter's facts may be a class instance (Express's is).
    !passesCsrfCheck((name) => request.header(name), deps.options.allowedOrigins, { requireHeader: true })
  ) {
    return refused('csrf_rejected');
  }
  return values[0]!;
}

function sessionOutcome(valid: ValidSession | null): AuthOutcome {
  if (!valid) return { ok: false, code: 'unauthenticated', clearSessionCookie: true };
  return {
    ok: true,
    identity: {
      userId: valid.user.id,
      role: valid.user.role,
      user: valid.user,
      method: 'session',
      sessionId: valid.session.id,
      expiresAt: sessionExpiresAt(valid.session),
      session: valid.session,
    },
  };
}

function bearerOutcome(identity: Identity | null): AuthOutcome {
  return identity ? { ok: true, identity } : refused('invalid_token');
}

/**
 * `authenticateRequest`'s outcome when it is known without waiting: a bearer token the verifier
 * has seen before, or, with a store that reads without I/O, a session or a cookie request refused
 * before any read. `undefined` for the rest: then call `authenticateRequest`, which decides the same way.
 */
export function authenticateKnownRequest(
  request: RequestFacts,
  deps: AuthenticateDeps,
  settings: { strict: boolean },
): AuthOutcome | undefined {
  const token = bearerTokenOf(request.header('authorization'));
  if (token !== NOT_BEARER) {
    if (deps.bearer?.verifyKnown === undefined) return undefined;
    if (token === null) return bearerOutcome(null);
    const identity = deps.bearer.verifyKnown(token, settings);
    return identity === undefined ? undefined : bearerOutcome(identity);
  }
  // A store that cannot read without waiting leaves every cookie to authenticateRequest: parsing
  // the cookie and checking CSRF here would only be done twice.
  if (!deps.sessions.validatesWithoutWaiting) return undefined;
  const secret = cookieSecretOf(request, deps);
  if (typeof secret !== 'string') return secret;
  const valid = deps.sessions.validateNow(secret);
  return valid === undefined ? undefined : sessionOutcome(valid);
}

/**
 * Decides who a request is. A bearer token, when present, alone decides (an invalid one is a 401
 * even beside a valid cookie). Otherwise the session cookie does, after the CSRF rule for unsafe
 * methods, which runs before any store read.
 */
export async function authenticateRequest(
  request: RequestFacts,
  deps: AuthenticateDeps,
  settings: { strict: boolean },
): Promise<AuthOutcome> {
  const token = bearerTokenOf(request.header('authorization'));
  if (token !== NOT_BEARER) {
    const identity = token !== null && deps.bearer ? await deps.bearer.verify(token, settings) : null;
    return bearerOutcome(identity);
  }

  const secret = cookieSecretOf(request, deps);
  return typeof secret === 'string' ? sessionOutcome(await deps.sessions.validate(secret)) : secret;
}
