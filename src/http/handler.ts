import { AuthError, OverloadedError, StoreUnavailableError } from '../core/errors.js';
import { getOnly, problem, json, securityHeaders } from './respond.js';
import * as routes from './routes.js';
import * as tokenRoutes from './token-routes.js';
import type { RouteDeps, RouteHandler } from './routes.js';

export interface RequestContext {
  /** The client's address as the adapter determined it (honouring its proxy settings). */
  clientAddress?: string | null;
}

interface Route {
  method: string;
  /** Path under the base path; `:id` matches one segment. */
  pattern: string;
  handler: RouteHandler;
}

const JWKS_PATH = '/.well-known/jwks.json';

const AUTH_ROUTES: Route[] = [
  { method: 'POST', pattern: '/register', handler: routes.register },
  { method: 'POST', pattern: '/login', handler: routes.login },
  { method: 'POST', pattern: '/refresh', handler: tokenRoutes.refresh },
  { method: 'POST', pattern: '/logout', handler: routes.logout },
  { method: 'POST', pattern: '/logout-all', handler: routes.logoutAll },
  { method: 'GET', pattern: '/me', handler: routes.me },
  { method: 'GET', pattern: '/sessions', handler: routes.listSessions },
  { method: 'DELETE', pattern: '/sessions/:id', handler: routes.revokeSession },
  { method: 'POST', pattern: '/password', handler: routes.changePassword },
];

function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const have = path.split('/');
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const actual = have[i]!;
    if (part.startsWith(':')) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(actual)) return null;
      params[part.slice(1)] = actual;
    } else if (part !== actual) {
      return null;
    }
  }
  return params;
}

/**
 * The framework-neutral HTTP layer: a `Request` in, a `Response` out. Adapters (Express, and later
 * Fastify and Hono) only translate to and from it.
 */
export function createHandler(deps: RouteDeps): {
  handle: (request: Request, context?: RequestContext) => Promise<Response>;
  owns: (pathname: string) => boolean;
} {
  const { basePath, logger, store } = deps.options;
  const headers = securityHeaders(deps.options);

  function owns(pathname: string): boolean {
    return (
      pathname === '/healthz' || pathname === JWKS_PATH || pathname === basePath || pathname.startsWith(`${basePath}/`)
    );
  }

  async function healthz(request: Request): Promise<Response> {
    if (request.method !== 'GET' && request.method !== 'HEAD') return getOnly();
    try {
      await store.ping();
      return json(200, { status: 'ok' });
    } catch {
      return json(503, { status: 'unavailable' });
    }
  }

  async function dispatch(request: Request, context: RequestContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/healthz') return healthz(request);
    if (url.pathname === JWKS_PATH) {
      return tokenRoutes.jwks({ request, params: {}, clientAddress: context.clientAddress ?? null }, deps);
    }
    if (!owns(url.pathname)) return problem('not_found');
    const path = url.pathname.slice(basePath.length) || '/';
    const allowed: string[] = [];
    for (const route of AUTH_ROUTES) {
      const params = matchPattern(route.pattern, path);
      if (!params) continue;
      // HEAD is GET without the body (RFC 9110): monitors and caches may ask it of any GET route.
      const headOfGet = request.method === 'HEAD' && route.method === 'GET';
      if (route.method === request.method || headOfGet) {
        const response = await route.handler({ request, params, clientAddress: context.clientAddress ?? null }, deps);
        return headOfGet ? withoutBody(response) : response;
      }
      allowed.push(...(route.method === 'GET' ? ['GET', 'HEAD'] : [route.method]));
    }
    if (allowed.length === 0) return problem('not_found');
    const response = problem('method_not_allowed');
    response.headers.set('Allow', allowed.join(', '));
    return response;
  }

  /** The answer to a HEAD: a GET's status and headers, its length, and no body. */
  async function withoutBody(response: Response): Promise<Response> {
    const headers = new Headers(response.headers);
    headers.set('Content-Length', String((await response.arrayBuffer()).byteLength));
    return new Response(null, { status: response.status, headers });
  }

  async function handle(request: Request, context: RequestContext = {}): Promise<Response> {
    let response: Response;
    try {
      response = await dispatch(request, context);
    } catch (error) {
      if (error instanceof AuthError) {
        response = problem(error.code, {
          detail: error.message,
          ...(error.errors ? { errors: error.errors } : {}),
          ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {}),
        });
      } else if (error instanceof StoreUnavailableError) {
        logger.error({ event: 'store.unavailable', error: error.message }, 'store unavailable');
        response = problem('store_unavailable');
      } else if (error instanceof OverloadedError) {
        // The same "try again later" as a store outage: the client cannot tell them apart, nor need to.
        logger.warn({ event: 'overloaded', error: error.message }, 'overloaded');
        response = problem('store_unavailable');
      } else {
        // The message may quote input (a password, a token), so only the type and the frames are logged.
        const name = error instanceof Error ? error.name : typeof error;
        const frames = error instanceof Error ? error.stack?.split('\n').slice(1).join('\n') : undefined;
        logger.error({ event: 'internal_error', error: name, frames }, 'unexpected error in auth handler');
        response = problem('internal_error');
      }
    }
    for (const [name, value] of Object.entries(headers)) {
      if (!response.headers.has(name)) response.headers.set(name, value);
    }
    return response;
  }

  return { handle, owns };
}
