import { AuthError, StoreUnavailableError } from '../core/errors.js';
import { toPublicUser } from '../core/user.js';
import type { UserRecord } from '../store/types.js';
import { familyExpiresAt } from '../tokens/refresh-tokens.js';
import type { TokenService } from '../tokens/token-service.js';
import type { AccessTokenClaims } from '../tokens/access-tokens.js';
import { hasBody, readJsonObject } from './body.js';
import { cookieValues } from './cookies.js';
import { passesCsrfCheck } from './csrf.js';
import { endedBeforeAnswering, refuseUnlessPasswordStillHolds } from './password-still-holds.js';
import { getOnly, json, problem } from './respond.js';
import type { RouteDeps, RouteHandler, RouteInput } from './routes.js';
import { parseBody, refreshBody } from './schemas.js';

export function requireTokens(deps: RouteDeps): TokenService {
  if (!deps.tokens) {
    throw new AuthError('invalid_request', 'The request is invalid.', {
      errors: [{ path: 'mode', message: 'This server does not offer this login mode.' }],
    });
  }
  return deps.tokens;
}

/** Login in `token` mode (refresh token in an HttpOnly cookie) or `native` mode (both in the body). */
export async function loginWithTokens(
  user: UserRecord,
  password: string,
  mode: 'token' | 'native',
  input: RouteInput,
  deps: RouteDeps,
): Promise<Response> {
  const tokens = requireTokens(deps);
  await tokens.ready();
  const { session } = await deps.sessions.create(
    user,
    { ip: input.clientAddress, userAgent: input.request.headers.get('user-agent') },
    { method: 'token', idleTtlMs: tokens.options.refreshIdleTtlMs, absoluteTtlMs: tokens.options.refreshAbsoluteTtlMs },
  );
  const started = await tokens.refresh.start(session).catch(async (error: unknown) => {
    // A device without a refresh family could never be used: do not leave one in the device list.
    const deleted = await deps.options.store.sessions.delete(session.id).catch(() => undefined);
    // Already gone, and the store answering: a "log out everywhere" ended it before its family was
    // stored (every store refuses a family whose session is missing).
    if (deleted === false && !(error instanceof StoreUnavailableError)) return null;
    throw error;
  });
  if (started === null) return endedBeforeAnswering();
  const { token: refreshToken, family } = started;
  const refused = await refuseUnlessPasswordStillHolds(deps, user, password, session.id);
  if (refused) return refused;
  const { token: accessToken } = tokens.access.issue({ userId: user.id, sessionId: session.id, role: user.role });
  deps.options.logger.info({ event: 'login.succeeded', userId: user.id, method: mode }, 'login succeeded');
  const now = deps.options.clock.now();
  const body = { user: toPublicUser(user), accessToken, tokenType: 'Bearer', expiresIn: tokens.access.ttlSeconds };
  if (mode === 'native') {
    return json(200, { ...body, refreshToken, refreshExpiresIn: Math.floor((familyExpiresAt(family) - now) / 1000) });
  }
  // Re-set at every refresh, so the cookie can end when the family would (idle or absolute), as
  // native mode's refreshExpiresIn says; the session cookie, never re-set, must last to the absolute.
  return json(200, body, { 'Set-Cookie': deps.refreshCookie.set(refreshToken, familyExpiresAt(family), now) });
}

/**
 * The refresh token of a request: the cookie (token mode) or the JSON body (native mode). With
 * `bodyMayBeAnything` (logout), a body that holds no refresh token counts as none instead of
 * being refused: logout answers 204 whatever was or was not valid, and a client's `{}` must not
 * keep its session alive.
 */
async function readRefreshToken(
  input: RouteInput,
  deps: RouteDeps,
  { bodyMayBeAnything = false, provenByBearer = false }: { bodyMayBeAnything?: boolean; provenByBearer?: boolean } = {},
): Promise<{ token: string; via: 'cookie' | 'body' } | Response | null> {
  const cookies = cookieValues(input.request.headers.get('cookie'), deps.refreshCookie.name);
  if (cookies.length > 1) return problem('ambiguous_credentials');
  if (cookies.length === 1) {
    // The cookie is sent by the browser on its own, so the CSRF rule applies as to any cookie,
    // unless the request also carries a valid access token, which no forging page can have.
    if (
      !provenByBearer &&
      !passesCsrfCheck((name) => input.request.headers.get(name), deps.options.allowedOrigins, { requireHeader: true })
    ) {
      return problem('csrf_rejected');
    }
    return { token: cookies[0]!, via: 'cookie' };
  }
  if (!hasBody(input.request)) return null;
  if (bodyMayBeAnything) {
    const body = await readJsonObject(input.request).catch((error: unknown) => {
      if (error instanceof AuthError) return null;
      throw error;
    });
    return typeof body?.refreshToken === 'string' ? { token: body.refreshToken, via: 'body' } : null;
  }
  const body = parseBody(refreshBody, await readJsonObject(input.request));
  return { token: body.refreshToken, via: 'body' };
}

export const refresh: RouteHandler = async (input, deps) => {
  const tokens = deps.tokens;
  if (!tokens) return problem('not_found');
  await tokens.ready();
  const presented = await readRefreshToken(input, deps);
  if (presented instanceof Response) return presented;
  const refusal = (code: 'invalid_refresh_token' | 'refresh_token_reused'): Response => {
    const response = problem(code);
    if (presented?.via === 'cookie') response.headers.append('Set-Cookie', deps.refreshCookie.clear());
    return response;
  };
  if (!presented) return refusal('invalid_refresh_token');

  const outcome = await tokens.refresh.rotate(presented.token);
  const { store, clock, logger } = deps.options;
  if (outcome.kind === 'reused') {
    // Someone replayed a rotated token: the thief or the victim, we cannot tell; end the device.
    await store.sessions.delete(outcome.family.sessionId);
    logger.warn({ event: 'refresh.reused', userId: outcome.family.userId }, 'refresh token reuse: family revoked');
    return refusal('refresh_token_reused');
  }
  if (outcome.kind === 'invalid') return refusal('invalid_refresh_token');

  const { family } = outcome;
  const user = await store.users.findById(family.userId);
  const now = clock.now();
  const touched = user
    ? await store.sessions.touch(family.sessionId, { lastSeenAt: now, idleExpiresAt: family.idleExpiresAt })
    : false;
  if (!user || !touched) return refusal('invalid_refresh_token');
  const { token: accessToken } = tokens.access.issue({
    userId: user.id,
    sessionId: family.sessionId,
    role: user.role,
  });
  const body = { accessToken, tokenType: 'Bearer', expiresIn: tokens.access.ttlSeconds };
  if (presented.via === 'body') {
    return json(200, {
      ...body,
      refreshToken: outcome.token,
      refreshExpiresIn: Math.floor((familyExpiresAt(family) - now) / 1000),
    });
  }
  return json(200, body, { 'Set-Cookie': deps.refreshCookie.set(outcome.token, familyExpiresAt(family), now) });
};

/** The claims of the request's bearer token when it verifies, else `null` (no tokens, none sent, invalid). */
export async function verifiedBearer(input: RouteInput, deps: RouteDeps): Promise<AccessTokenClaims | null> {
  const tokens = deps.tokens;
  const authorization = input.request.headers.get('authorization');
  const bearer = authorization ? /^bearer +(\S+)$/i.exec(authorization)?.[1] : undefined;
  if (!tokens || !bearer) return null;
  await tokens.ready();
  return tokens.access.verify(bearer);
}

/**
 * Ends the sessions named by a verified bearer token and a refresh token (cookie or body), for
 * logout. Returns a refusal, before anything is ended, or `null` when done.
 */
export async function endTokenSessions(
  input: RouteInput,
  deps: RouteDeps,
  bearer: AccessTokenClaims | null,
): Promise<Response | null> {
  const tokens = deps.tokens;
  if (!tokens) return null;
  await tokens.ready();
  const ended = new Set<string>();
  if (bearer) ended.add(bearer.sid);
  const presented = await readRefreshToken(input, deps, { bodyMayBeAnything: true, provenByBearer: bearer !== null });
  if (presented instanceof Response) return presented;
  if (presented) {
    const family = await tokens.refresh.lookup(presented.token);
    if (family) ended.add(family.sessionId);
  }
  for (const sessionId of ended) {
    if (await deps.options.store.sessions.delete(sessionId)) {
      deps.options.logger.info({ event: 'logout', method: 'token' }, 'logged out');
    }
  }
  return null;
}

export const jwks: RouteHandler = async (input, deps) => {
  if (input.request.method !== 'GET' && input.request.method !== 'HEAD') return getOnly();
  const tokens = deps.tokens;
  if (!tokens) return json(200, { keys: [] }, { 'Cache-Control': 'public, max-age=300' });
  await tokens.ready();
  // Short enough that a rotated-in key reaches verifiers well before tokens signed by it are common.
  return json(200, tokens.ring.jwks(), { 'Cache-Control': 'public, max-age=300' });
};
