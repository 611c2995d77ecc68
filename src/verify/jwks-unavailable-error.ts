/**
 * The issuer's JWKS could not be fetched or read (refused, timed out, not HTTP 200, not a JWK Set),
 * so a token could not be checked. Not the client's fault: answer 503, not 401. Like coatcheck's
 * `StoreUnavailableError`, it fails closed: nothing is accepted while it is thrown. The message
 * says what went wrong with the fetch and never carries the token; `cause` holds the original.
 */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
  readonly code = 'jwks_unavailable';

  constructor(message: string, options?: { cause?: unknown }) {
    super(`The JWKS is unavailable: ${message}`, options);
  }
}
