import { errors } from 'jose';
import { JwksUnavailableError } from '../jwks-unavailable-error.js';

/**
 * jose's JWKS fetch, wrapped so that a failure names its cause: jose reports a refused connection
 * and an HTTP 500 alike, with no status, and an operator needs to know which one it was.
 */
export async function fetchJwksResponse(url: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new JwksUnavailableError(describeFetchFailure(error), { cause: error });
  }
  if (response.status !== 200) {
    // jose asks for `redirect: 'manual'`: a redirect is not followed, and is worth saying so.
    const redirect = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : '';
    throw new JwksUnavailableError(`it answered HTTP ${response.status}${redirect}`);
  }
  return response;
}

function describeFetchFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'the request timed out';
  // undici puts the socket's error (ECONNREFUSED, ENOTFOUND, ...) in `cause`, or its own refusal
  // without a code ("bad port": fetch will not connect to ports such as 1 or 25).
  const cause = error instanceof Error ? error.cause : undefined;
  if (!(cause instanceof Error)) return 'the request failed';
  const code = (cause as { code?: unknown }).code;
  return `the request failed (${typeof code === 'string' ? code : cause.message})`;
}

/**
 * Sorts what jose's remote key set threw: a failure to get or read the key set becomes a
 * `JwksUnavailableError`; a key set that has no key for the token's header stays jose's error,
 * a verdict on the token.
 */
export function asJwksUnavailable(error: unknown): unknown {
  if (error instanceof JwksUnavailableError) return error;
  if (error instanceof errors.JWKSTimeout) return new JwksUnavailableError('the request timed out', { cause: error });
  if (error instanceof errors.JWKSInvalid)
    return new JwksUnavailableError('the response is not a usable JWK Set', { cause: error });
  // jose's plain JOSEError here is its "not JSON" (the status is checked above, in the fetch).
  if (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC')
    return new JwksUnavailableError('the response is not JSON', { cause: error });
  if (error instanceof errors.JOSEError) return error;
  return new JwksUnavailableError('reading it failed', { cause: error });
}
