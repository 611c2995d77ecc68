import type { InvalidTokenReason } from '../verify/index.js';

/** What `coatcheck decode --jwks` prints for each reason a token was refused. */
export const INVALID_TOKEN_MESSAGES: Record<InvalidTokenReason, string> = {
  malformed: 'not a well-formed token (or over 8 KiB, or a JSON key repeated)',
  forbidden_header: 'a header names a key (jku, x5u, jwk, x5c) or carries crit',
  algorithm_not_allowed: 'alg is not one a verifier accepts (ES256, EdDSA, RS256)',
  unknown_key: 'no kid, or no key in the JWKS with its kid',
  bad_signature: 'the signature does not match the key',
  wrong_type: 'typ is not at+jwt: not an access token',
  expired: 'expired',
  not_yet_valid: 'nbf or iat is in the future',
  lifetime_too_long: 'the lifetime (exp - iat), or the age of iat, is over 24 h',
  issuer_mismatch: 'iss is not the expected issuer',
  audience_mismatch: 'aud is not the expected audience (or is an array)',
  invalid_claims: 'a required claim (iss aud sub sid role jti iat exp) is missing or of the wrong type',
};
