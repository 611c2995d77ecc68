/**
 * The issuer's JWKS could not be fetched or read (refused, timed out, not HTTP 200, not a JWK Set),
 * so a token could not be checked. Not the client's fault: answer 503, not 401. Like coatcheck's
 * `StoreUnavailableError`, it fails closed: nothing is accepted while it is thrown. `detail` says
 * what went wrong (`it answered HTTP 500`), never carrying the token; `cause` holds the original.
 */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
  readonly code = 'jwks_unavailable';
  readonly detail: string;

  constructor(detail: string, options?: { cause?: unknown }) {
    super(`Could not fetch the JWKS: ${detail}`, options);
    this.detail = detail;
  }
}
