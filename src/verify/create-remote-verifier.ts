import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isSecureOrigin } from '../core/secure-origin.js';
import { hasDuplicateKeys } from '../tokens/duplicate-keys.js';
import { reasonFromJoseError, type InvalidTokenReason } from './invalid-token-reason.js';
import { JwksUnavailableError } from './jwks-unavailable-error.js';
import { equivalentSpellings } from './internal/equivalent-spellings.js';
import { asJwksUnavailable, fetchJwksResponse } from './internal/fetch-jwks.js';

export interface RemoteVerifierOptions {
  /** The issuer's JWKS, e.g. `https://auth.example.com/.well-known/jwks.json`. */
  jwksUrl: string | URL;
  /**
   * The `iss` tokens must carry. An origin matches with or without its trailing slash
   * (`https://auth.example.com/` is `https://auth.example.com`); anything else must match exactly.
   */
  issuer: string;
  /** The `aud` tokens must carry (a string, not an array); an origin as for `issuer`. */
  audience: string;
  /** Accepted algorithms; default the asymmetric ones coatcheck issues (never HS*: a verifier holds no secret). */
  algorithms?: string[];
  /** Seconds of clock tolerance; at most 30. Default 30. */
  clockTolerance?: number;
  /** Minimum milliseconds between JWKS fetches for unknown `kid`s. Default 30 s. */
  cooldownDuration?: number;
  /** How long a fetched JWKS is used before it is refetched. Default 10 minutes. */
  cacheMaxAge?: number;
  /**
   * The longest lifetime (`exp - iat`) accepted, in seconds; also how old `iat` may be. Default 900,
   * the most coatcheck issues without `tokens.dangerouslyAllowLongAccessTokens`.
   */
  maxTokenLifetime?: number;
  /**
   * Accept a plain-http `jwksUrl` on a host other than loopback: development only. Anyone on the
   * path could serve their own keys, and every token they sign would pass.
   */
  allowInsecureHttp?: boolean;
}

export interface VerifiedAccessToken {
  sub: string;
  sid: string;
  role: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
}

/** What `verifyWithReason` answers: the claims, or why the token was refused. */
export type RemoteVerification =
  { valid: true; claims: VerifiedAccessToken } | { valid: false; reason: InvalidTokenReason };

export interface RemoteVerifier {
  /**
   * The token's claims, or `null` when the token is not valid (answer 401). Throws
   * `JwksUnavailableError` when the JWKS could not be fetched to check it (answer 503).
   */
  verify(token: string): Promise<VerifiedAccessToken | null>;
  /** As `verify`, but says why a token was refused: for logs and diagnostics, not for clients. */
  verifyWithReason(token: string): Promise<RemoteVerification>;
}

const MAX_TOKEN_BYTES = 8 * 1024;
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'];

/** Duplicate JSON keys in the header or payload: refused before jose, which would keep the last. */
function repeatsAKey(token: string): boolean {
  const [header, payload] = token.split('.');
  try {
    return [header, payload].some(
      (segment) => segment !== undefined && hasDuplicateKeys(Buffer.from(segment, 'base64url').toString('utf8')),
    );
  } catch {
    return true;
  }
}

/**
 * Verifies coatcheck access tokens in a separate service with nothing but the issuer's public
 * keys: no secret, no database. The JWKS is fetched once, cached, and refetched (with a
 * cooldown) when a token names a key it has not seen, so key rotation needs no restart.
 *
 * A token that is not valid gives `null`; a JWKS that cannot be fetched throws
 * `JwksUnavailableError`, so an outage is a 503 rather than a 401 to every user. Either way nothing
 * is accepted. (coatcheck 0.1.0 answered `null` for an outage too.)
 *
 * @example
 * const verifier = createRemoteVerifier({ jwksUrl: 'https://auth.example.com/.well-known/jwks.json', issuer: 'https://auth.example.com', audience: 'https://auth.example.com' });
 * let claims;
 * try {
 *   claims = await verifier.verify(token); // null: answer 401
 * } catch (error) {
 *   if (error instanceof JwksUnavailableError) return unavailable(); // 503, and log error.message
 *   throw error;
 * }
 */
export function createRemoteVerifier(options: RemoteVerifierOptions): RemoteVerifier {
  const clockTolerance = options.clockTolerance ?? 30;
  if (!(clockTolerance >= 0 && clockTolerance <= 30))
    throw new TypeError('coatcheck/verify: clockTolerance must be 0 to 30 seconds');
  if (!options.issuer || !options.audience) throw new TypeError('coatcheck/verify: issuer and audience are required');
  const issuers = equivalentSpellings(options.issuer);
  const audiences = equivalentSpellings(options.audience);
  const algorithms = options.algorithms ?? ['ES256', 'EdDSA', 'RS256'];
  if (algorithms.some((alg) => alg.toUpperCase().startsWith('HS') || alg.toLowerCase() === 'none')) {
    throw new TypeError('coatcheck/verify: a remote verifier only accepts asymmetric algorithms');
  }
  const maxTokenLifetime = options.maxTokenLifetime ?? 900;
  if (!(Number.isInteger(maxTokenLifetime) && maxTokenLifetime > 0))
    throw new TypeError('coatcheck/verify: maxTokenLifetime must be a whole number of seconds');
  const jwksUrl = new URL(options.jwksUrl);
  const secure = jwksUrl.protocol === 'https:' || (jwksUrl.protocol === 'http:' && isSecureOrigin(jwksUrl));
  if (!secure && !(options.allowInsecureHttp === true && jwksUrl.protocol === 'http:')) {
    throw new TypeError(
      'coatcheck/verify: jwksUrl must be https (or http on loopback); plain http elsewhere needs allowInsecureHttp (development only)',
    );
  }
  const remoteKeys = createRemoteJWKSet(jwksUrl, {
    cooldownDuration: options.cooldownDuration ?? 30_000,
    cacheMaxAge: options.cacheMaxAge ?? 600_000,
    [customFetch]: fetchJwksResponse,
  });
  const keyFor: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remoteKeys(header, token);
    } catch (error) {
      throw asJwksUnavailable(error);
    }
  };
  const refused = (reason: InvalidTokenReason): RemoteVerification => ({ valid: false, reason });

  async function verifyWithReason(token: string): Promise<RemoteVerification> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES) return refused('malformed');
    if (repeatsAKey(token)) return refused('malformed');
    let payload: JWTPayload;
    try {
      const result = await jwtVerify(token, keyFor, {
        algorithms,
        issuer: issuers,
        audience: audiences,
        typ: 'at+jwt',
        clockTolerance,
        // Also refuses an `iat` in the future (beyond the tolerance).
        maxTokenAge: maxTokenLifetime,
        requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'],
      });
      if (FORBIDDEN_HEADERS.some((name) => name in result.protectedHeader)) return refused('forbidden_header');
      // As coatcheck's own verifier: our kid, our one audience as a string (jose accepts an
      // array containing it), and no lifetime longer than we issue.
      if (typeof result.protectedHeader.kid !== 'string') return refused('unknown_key');
      if (typeof result.payload.aud !== 'string' || !audiences.includes(result.payload.aud))
        return refused('audience_mismatch');
      payload = result.payload;
    } catch (error) {
      // Fail closed either way; an outage is thrown so that it is not mistaken for a bad token.
      if (error instanceof JwksUnavailableError) throw error;
      return refused(reasonFromJoseError(error));
    }
    const { sub, sid, role, jti, iat, exp, iss } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof role !== 'string' || typeof jti !== 'string')
      return refused('invalid_claims');
    if (typeof iat !== 'number' || typeof exp !== 'number' || typeof iss !== 'string') return refused('invalid_claims');
    if (exp - iat > maxTokenLifetime) return refused('lifetime_too_long');
    return { valid: true, claims: { sub, sid, role, jti, iat, exp, iss } };
  }

  return {
    verifyWithReason,
    async verify(token) {
      const verification = await verifyWithReason(token);
      return verification.valid ? verification.claims : null;
    },
  };
}
