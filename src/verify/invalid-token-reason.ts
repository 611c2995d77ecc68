import { errors } from 'jose';

/**
 * Why a token was refused, for logs and diagnostics (`coatcheck decode`). A client should be told
 * no more than 401 `invalid_token`: the reason helps whoever probes for a way in as much as it
 * helps the user.
 */
export type InvalidTokenReason =
  /** Not a compact JWS, over 8 KiB, or with a JSON key repeated in its header or payload. */
  | 'malformed'
  /** A header that names a key (`jku`, `x5u`, `jwk`, `x5c`) or `crit`. */
  | 'forbidden_header'
  /** `alg` is not in `algorithms`. */
  | 'algorithm_not_allowed'
  /** No `kid`, or no key in the JWKS with that `kid` and a type that fits `alg`. */
  | 'unknown_key'
  /** The signature does not match the key. */
  | 'bad_signature'
  /** `typ` is not `at+jwt`: not an access token. */
  | 'wrong_type'
  | 'expired'
  /** `nbf` or `iat` is ahead of now (beyond the clock tolerance). */
  | 'not_yet_valid'
  /** `exp - iat`, or the age of `iat`, is over `maxTokenLifetime`. */
  | 'lifetime_too_long'
  | 'issuer_mismatch'
  /** `aud` is not the audience, or is an array. */
  | 'audience_mismatch'
  /** A required claim (`iss aud sub sid role jti iat exp`) is missing or of the wrong type. */
  | 'invalid_claims';

/** The reason for what jose's `jwtVerify` threw (a `JwksUnavailableError` is sorted out before). */
export function reasonFromJoseError(error: unknown): InvalidTokenReason {
  if (error instanceof errors.JWTExpired) return error.claim === 'exp' ? 'expired' : 'lifetime_too_long';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason !== 'check_failed') return 'invalid_claims';
    switch (error.claim) {
      case 'iss':
        return 'issuer_mismatch';
      case 'aud':
        return 'audience_mismatch';
      case 'typ':
        return 'wrong_type';
      case 'nbf':
      case 'iat':
        return 'not_yet_valid';
      default:
        return 'invalid_claims';
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm_not_allowed';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return 'unknown_key';
  return 'malformed';
}
