import type { AccountManager } from '../core/accounts.js';
import { AuthError } from '../core/errors.js';
import type { ResolvedOptions } from '../core/options.js';
import type { UserProfile } from '../store/types.js';
import { sessionExpiresAt, type SessionManager } from '../core/sessions.js';
import { toPublicUser, withoutPasswordHash } from '../core/user.js';
import { authenticateRequest, type BearerVerifier, type Identity } from './authenticate.js';
import { readJsonObject } from './body.js';
import { cookieValues } from './cookies.js';
import { passesCsrfCheck } from './csrf.js';
import { beginPasswordAttempt } from './password-attempts.js';
import { refuseUnlessPasswordStillHolds } from './password-still-holds.js';
import { json, noContent, problem } from './respond.js';
import { changePasswordBody, loginBody, parseBody, registerBody } from './schemas.js';
import type { AuthCookie } from './session-cookie.js';
import type { TokenService } from '../tokens/token-service.js';
import { endTokenSessions, loginWithTokens, requireTokens, verifiedBearer } from './token-routes.js';

export interface RouteDeps {
  options: ResolvedOptions;
  accounts: AccountManager;
  sessions: SessionManager;
  cookie: AuthCookie;
  refreshCookie: AuthCookie;
  bearer: BearerVerifier | null;
  tokens: TokenService | null;
}

export interface RouteInput {
  request: Request;
  /** Path parameters, e.g. `id` of `/sessions/:id`. */
  params: Record<string, string>;
  clientAddress: string | null;
}

export type RouteHandler = (input: RouteInput, deps: RouteDeps) => Promise<Response>;

const iso = (ms: number): string => new Date(ms).toISOString();
const header = (request: Request) => (name: string) => request.headers.get(name);

function requireLoginCsrf(request: Request, deps: RouteDeps): void {
  // Login CSRF: a foreign page must not log the victim into the attacker's account.
  if (!passesCsrfCheck(header(request), deps.options.allowedOrigins, { requireHeader: false })) {
    throw new AuthError('csrf_rejected', 'The request did not come from an allowed origin.');
  }
}

/** Runs `next` for an authenticated request, or answers the refusal. */
async function withIdentity(
  input: RouteInput,
  deps: RouteDeps,
  next: (identity: Identity & { user: UserProfile }) => Promise<Response>,
): Promise<Response> {
  const outcome = await authenticateRequest({ method: input.request.method, header: header(input.request) }, deps, {
    strict: true,
  });
  if (outcome.ok) {
    // Bearer tokens carry no personal data: the auth routes load the user they answer about.
    const record = outcome.identity.user ? null : await deps.options.store.users.findById(outcome.identity.userId);
    const user = outcome.identity.user ?? (record && withoutPasswordHash(record));
    if (user) return next({ ...outcome.identity, user });
    return problem('invalid_token', { bearerRejected: true });
  }
  const response = problem(outcome.code, { bearerRejected: outcome.code === 'invalid_token' });
  if (outcome.clearSessionCookie) response.headers.append('Set-Cookie', deps.cookie.clear());
  return response;
}

function clearAuthCookies(deps: RouteDeps): Headers {
  const headers = new Headers();
  headers.append('Set-Cookie', deps.cookie.clear());
  if (deps.tokens) headers.append('Set-Cookie', deps.refreshCookie.clear());
  return headers;
}

const addressKey = (input: RouteInput): string => `address:${input.clientAddress ?? 'unknown'}`;

export const register: RouteHandler = async (input, deps) => {
  requireLoginCsrf(input.request, deps);
  const body = parseBody(registerBody, await readJsonObject(input.request));
  const wait = await deps.options.limiters.registration.take(addressKey(input), deps.options.clock.now());
  if (wait > 0) return problem('too_many_attempts', { retryAfter: wait });
  const user = await deps.accounts.register(body);
  deps.options.logger.info({ event: 'user.registered', userId: user.id }, 'user registered');
  return json(201, { user: toPublicUser(user) });
};

export const login: RouteHandler = async (input, deps) => {
  requireLoginCsrf(input.request, deps);
  const body = parseBody(loginBody, await readJsonObject(input.request));
  const mode = body.mode ?? 'session';
  if (mode !== 'session') requireTokens(deps);
  const email = deps.accounts.normalizeLoginEmail(body.email);
  const keys = { account: `account:${email}`, address: addressKey(input) };
  const attempt = await beginPasswordAttempt(deps.options, keys, { countAddress: true });
  if (typeof attempt === 'number') return problem('too_many_attempts', { retryAfter: attempt });

  const user = await deps.accounts
    .verifyCredentials({ email, password: body.password })
    .catch(async (error: unknown) => {
      await attempt.undone();
      throw error;
    });
  const { clock, logger } = deps.options;
  if (!user) {
    logger.info({ event: 'login.failed' }, 'login failed');
    return problem('invalid_credentials');
  }
  await attempt.succeeded();
  if (mode !== 'session') return loginWithTokens(user, body.password, mode, input, deps);

  // The browser's previous session, if any, is replaced rather than left behind.
  const previous = cookieValues(input.request.headers.get('cookie'), deps.cookie.name);
  if (previous.length === 1) await deps.sessions.endBySecret(previous[0]!);

  const { session, secret } = await deps.sessions.create(user, {
    ip: input.clientAddress,
    userAgent: input.request.headers.get('user-agent'),
  });
  const refused = await refuseUnlessPasswordStillHolds(deps, user, body.password, session.id);
  if (refused) return refused;
  logger.info({ event: 'login.succeeded', userId: user.id, method: 'session' }, 'login succeeded');
  const expiresAt = sessionExpiresAt(session);
  return json(
    200,
    { user: toPublicUser(user), session: { id: session.id, expiresAt: iso(expiresAt) } },
    { 'Set-Cookie': deps.cookie.set(secret!, session.absoluteExpiresAt, clock.now()) },
  );
};

export const logout: RouteHandler = async (input, deps) => {
  // A valid access token proves the request is no forgery (no cross-site page can have one): the
  // cookies it carries are then ended whatever its Origin. Without one, every refusal comes before
  // anything is ended.
  const bearer = await verifiedBearer(input, deps);
  if (!bearer) {
    // Even without any cookie, a cross-site page must not get a response that clears the visitor's
    // cookies (a cross-site form sends none, yet its Set-Cookie would apply). Bearer logouts are exempt.
    const sentBearer = /^bearer\s/i.test(input.request.headers.get('authorization') ?? '');
    if (!sentBearer && !passesCsrfCheck(header(input.request), deps.options.allowedOrigins, { requireHeader: false })) {
      return problem('csrf_rejected');
    }
  }
  const values = cookieValues(input.request.headers.get('cookie'), deps.cookie.name);
  if (
    values.length > 0 &&
    !bearer &&
    !passesCsrfCheck(header(input.request), deps.options.allowedOrigins, { requireHeader: true })
  ) {
    return problem('csrf_rejected');
  }
  if (values.length > 1) return problem('ambiguous_credentials');
  const refused = await endTokenSessions(input, deps, bearer);
  if (refused) return refused;
  if (values.length === 1) {
    const ended = await deps.sessions.endBySecret(values[0]!);
    if (ended) deps.options.logger.info({ event: 'logout', userId: ended.userId }, 'logged out');
  }
  return noContent(clearAuthCookies(deps));
};

export const logoutAll: RouteHandler = (input, deps) =>
  withIdentity(input, deps, async (identity) => {
    const ended = await deps.sessions.revokeAll(identity.user.id);
    deps.options.logger.info(
      { event: 'logout.all', userId: identity.user.id, count: ended.length },
      'logged out everywhere',
    );
    return noContent(clearAuthCookies(deps));
  });

export const me: RouteHandler = (input, deps) =>
  withIdentity(input, deps, (identity) =>
    Promise.resolve(
      json(200, {
        user: toPublicUser(identity.user),
        auth: { method: identity.method, sessionId: identity.sessionId, expiresAt: iso(identity.expiresAt) },
      }),
    ),
  );

export const listSessions: RouteHandler = (input, deps) =>
  withIdentity(input, deps, async (identity) => {
    const sessions = await deps.sessions.listForUser(identity.user.id);
    return json(200, {
      sessions: sessions.map((s) => ({
        id: s.id,
        method: s.method,
        createdAt: iso(s.createdAt),
        lastSeenAt: iso(s.lastSeenAt),
        expiresAt: iso(sessionExpiresAt(s)),
        userAgent: s.userAgent,
        ip: s.ip,
        current: s.id === identity.sessionId,
      })),
    });
  });

export const revokeSession: RouteHandler = (input, deps) =>
  withIdentity(input, deps, async (identity) => {
    const id = input.params.id ?? '';
    if (!(await deps.sessions.revoke(identity.user.id, id))) return problem('not_found');
    deps.options.logger.info({ event: 'session.revoked', userId: identity.user.id }, 'session revoked');
    return id === identity.sessionId && identity.method === 'session'
      ? noContent({ 'Set-Cookie': deps.cookie.clear() })
      : noContent();
  });

export const changePassword: RouteHandler = (input, deps) =>
  withIdentity(input, deps, async (identity) => {
    const body = parseBody(changePasswordBody, await readJsonObject(input.request));
    const keys = { account: `account:${identity.user.email}`, address: addressKey(input) };
    const attempt = await beginPasswordAttempt(deps.options, keys, { countAddress: false });
    if (typeof attempt === 'number') return problem('too_many_attempts', { retryAfter: attempt });
    let ended: string[] = [];
    try {
      // Other devices end before the new hash is written: a store failure in between leaves the old
      // password with fewer devices (the retry finishes), never the new password with all of them.
      await deps.accounts.changePassword(identity.user, body.currentPassword, body.newPassword, {
        beforeUpdate: async () => {
          ended = await deps.sessions.revokeAll(identity.user.id, { exceptId: identity.sessionId });
        },
      });
    } catch (error) {
      // A wrong current password was counted; anything else (a weak new one, a store failure) was not a guess.
      if (!(error instanceof AuthError && error.code === 'invalid_credentials')) await attempt.undone();
      throw error;
    }
    await attempt.succeeded();
    // A login that checked the old password meanwhile may have made its session after the first
    // ending: it ends here, or, made later still, sees the new hash and ends itself. A store
    // failure here is a 503 like any other, though the new password is stored: the user's retry
    // with the old one gets 401, and the new one works.
    ended.push(...(await deps.sessions.revokeAll(identity.user.id, { exceptId: identity.sessionId })));
    deps.options.logger.info(
      { event: 'password.changed', userId: identity.user.id, endedSessions: ended.length },
      'password changed',
    );
    return noContent();
  });
