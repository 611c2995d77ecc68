import type { NextFunction, Request as ExpressRequest, RequestHandler, Response as ExpressResponse } from 'express';
import type { Auth } from '../create-auth.js';
import { StoreUnavailableError } from '../core/errors.js';
import type { AuthOutcome, Identity, RequestFacts } from '../http/authenticate.js';
import { MAX_BODY_BYTES } from '../http/body.js';
import { problem, securityHeaders } from '../http/respond.js';
import { ExpressRequestFacts, normalizeAddress, sendWebResponse, toWebRequest } from './web-bridge.js';

const HANDLED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `requireAuth`: who this request is. */
    auth?: Identity;
  }
}

/**
 * Mounts coatcheck's routes (`/auth/*` under the configured base path, `/healthz` and
 * `/.well-known/jwks.json`) on an Express app; every other request passes through untouched. The
 * paths are the ones the browser uses: to serve the auth routes under `/api/auth`, set
 * `basePath: '/api/auth'` (the refresh cookie's `Path` follows it) and mount the router at the
 * root. Mounted under a prefix of that path (`app.use('/api', ...)`), the auth routes still work,
 * but Express sends it no `/healthz` or `/.well-known/jwks.json`.
 *
 * @example
 * app.use(authRouter(auth));
 */
export function authRouter(auth: Auth): RequestHandler {
  const headers = securityHeaders(auth.options);
  const answer = async (req: ExpressRequest, res: ExpressResponse): Promise<void> => {
    // Methods a Web Request cannot carry (TRACE, CONNECT, ...) are none of ours: a plain 405.
    if (!HANDLED_METHODS.has(req.method)) {
      const response = problem('method_not_allowed');
      for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      await sendWebResponse(res, response, { closeConnection: true });
      return;
    }
    try {
      const { request, bodyLeftUnread } = await toWebRequest(req, auth.options.origin, MAX_BODY_BYTES);
      const response = await auth.handle(request, { clientAddress: normalizeAddress(req.ip) });
      await sendWebResponse(res, response, { closeConnection: bodyLeftUnread });
    } catch (error) {
      // A client that went away mid-body is not a server error: there is nobody left to answer.
      // Not `req.destroyed`: Node destroys every request once its body has been read.
      if (req.readableAborted || res.destroyed) return;
      auth.options.logger.error(
        { event: 'internal_error', error: error instanceof Error ? error.name : typeof error },
        'unexpected error in auth router',
      );
      const response = problem('internal_error');
      for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      await sendWebResponse(res, response, { closeConnection: true });
    }
  };
  const { basePath } = auth.options;
  let toldOfMount = false;
  // Not an async function: every request of the app passes here, and the ones that are not ours
  // should go on without a promise each (Express attaches a handler to any promise returned).
  return (req: ExpressRequest, res: ExpressResponse, next: NextFunction): Promise<void> | undefined => {
    // Mounted at the root (`req.baseUrl` empty), `req.path` is the path the browser used; under a
    // mount it is relative to it, while coatcheck's routes are the browser's paths.
    if (req.baseUrl === '' ? auth.owns(req.path) : auth.owns(pathOf(req.originalUrl))) return answer(req, res);
    // A bad mount: one that basePath is not under, hit on what would be an auth route from the
    // root (not `/api/healthz`, which is no sign of one).
    if (req.baseUrl !== '' && !toldOfMount && !isUnder(basePath, req.baseUrl) && isUnder(req.path, basePath)) {
      toldOfMount = true;
      const message = `coatcheck: authRouter is mounted at ${req.baseUrl}, so its routes are not reached at ${basePath}: mount it at the root, or set basePath to the full path (e.g. ${req.baseUrl}${basePath})`;
      // Also as a process warning: the default logger is silent, and this one is every auth route.
      auth.options.logger.error({ event: 'config.mount', mountedAt: req.baseUrl }, message);
      process.emitWarning(message, { code: 'COATCHECK_MOUNT' });
    }
    next();
    return undefined;
  };
}

const isUnder = (path: string, base: string): boolean => path === base || path.startsWith(`${base}/`);

/** The path of a request target, without its query. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

export interface RequireAuthOptions {
  /** Only these roles may pass (403 `forbidden` for others). Default: any signed-in user. */
  roles?: string[];
  /**
   * Also refuse access tokens whose session was revoked, and go by the user's current role rather
   * than the token's `role` claim (costs a store read, or with a revocation feed an in-memory
   * check that refuses tokens issued before a role change). Cookie sessions are always checked.
   */
  strict?: boolean;
}

/**
 * Guards a route: 401 when the request is nobody, 403 when it is somebody without the role (or an
 * unsafe cookie request from a foreign origin). On success `req.auth` holds the identity.
 *
 * @example
 * app.get('/api/admin', requireAuth(auth, { roles: ['admin'] }), (req, res) => res.json(req.auth?.userId));
 */
export function requireAuth(auth: Auth, options: RequireAuthOptions = {}): RequestHandler {
  if (options.roles !== undefined && (!Array.isArray(options.roles) || options.roles.length === 0)) {
    throw new TypeError('coatcheck: requireAuth roles must be a non-empty array of role names');
  }
  const roles = options.roles ? new Set(options.roles) : null;
  const strict = options.strict ?? false;
  const headers = securityHeaders(auth.options);

  const refuse = async (res: ExpressResponse, response: Response): Promise<void> => {
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    await sendWebResponse(res, response);
  };

  const conclude = (
    req: ExpressRequest,
    res: ExpressResponse,
    next: NextFunction,
    outcome: AuthOutcome,
  ): Promise<void> | undefined => {
    if (!outcome.ok) {
      const response = problem(outcome.code, { bearerRejected: outcome.code === 'invalid_token' });
      if (outcome.clearSessionCookie) response.headers.append('Set-Cookie', auth.sessionCookie.clear());
      return refuse(res, response);
    }
    if (roles && !roles.has(outcome.identity.role)) return refuse(res, problem('forbidden'));
    req.auth = outcome.identity;
    next();
    return undefined;
  };

  const authenticateThenConclude = async (
    req: ExpressRequest,
    res: ExpressResponse,
    next: NextFunction,
    facts: RequestFacts,
  ): Promise<void> => {
    let outcome;
    try {
      outcome = await auth.authenticate(facts, { strict });
    } catch (error) {
      if (error instanceof StoreUnavailableError) return refuse(res, problem('store_unavailable'));
      next(error);
      return;
    }
    return conclude(req, res, next, outcome);
  };

  // Not an async function: what is known at once (a bearer token seen before, a session read from
  // SQLite) goes on without a promise (Express attaches a handler to any promise returned).
  return (req: ExpressRequest, res: ExpressResponse, next: NextFunction): Promise<void> | undefined => {
    const facts = new ExpressRequestFacts(req);
    let known;
    try {
      known = auth.authenticateKnown(facts, { strict });
    } catch {
      // A store that failed to read: authenticate reads again and answers (503 when it is down).
      known = undefined;
    }
    if (known !== undefined) return conclude(req, res, next, known);
    return authenticateThenConclude(req, res, next, facts);
  };
}

export type { Identity };
