import type { ErrorCode, FieldError } from '../core/errors.js';
import { problemBody, statusOf, wwwAuthenticate } from './problem.js';

/**
 * Headers on every response of the auth routes: nothing here is cacheable, sniffable, frameable
 * or worth a referrer.
 */
export function securityHeaders(options: { https: boolean }): Record<string, string> {
  const headers: Record<string, string> = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    'X-Frame-Options': 'DENY',
  };
  if (options.https) headers['Strict-Transport-Security'] = 'max-age=31536000; includeSubDomains';
  return headers;
}

export function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  const response = new Response(JSON.stringify(body), { status, headers });
  response.headers.set('Content-Type', 'application/json; charset=utf-8');
  return response;
}

export function noContent(headers: HeadersInit = {}): Response {
  return new Response(null, { status: 204, headers });
}

/** An RFC 9457 problem response for `code`, with `WWW-Authenticate` on every 401. */
export function problem(
  code: ErrorCode,
  options: { detail?: string; errors?: FieldError[]; retryAfter?: number; bearerRejected?: boolean } = {},
): Response {
  const status = statusOf(code);
  const response = new Response(JSON.stringify(problemBody(code, options)), { status });
  response.headers.set('Content-Type', 'application/problem+json; charset=utf-8');
  if (status === 401) response.headers.set('WWW-Authenticate', wwwAuthenticate(code, options));
  if (options.retryAfter !== undefined) response.headers.set('Retry-After', String(options.retryAfter));
  return response;
}

/** The 405 of a GET-only route: RFC 9110 (and docs/api.md) want it to say what is allowed. */
export function getOnly(): Response {
  const response = problem('method_not_allowed');
  response.headers.set('Allow', 'GET, HEAD');
  return response;
}
