import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { isSecureOrigin } from '../core/secure-origin.js';
import { hasDuplicateKeys } from '../tokens/duplicate-keys.js';

export interface RemoteVerifierOptions {
  /** The issuer's JWKS, e.g. `https://auth.example.com/.well-known/jwks.json`. */
  jwksUrl: string | URL;
  issuer: string;
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
 * @example
 * const verifier = createRemoteVerifier({ jwksUrl: 'https://auth.example.com/.well-known/jwks.json', issuer: 'https://auth.example.com', audience: 'https://auth.example.com' });
 * const claims = await verifier.verify(token); // null when invalid
 */
export function createRemoteVerifier(options: RemoteVerifierOptions): {
  verify(token: string): Promise<VerifiedAccessToken | null>;
} {
  const clockTolerance = options.clockTolerance ?? 30;
  if (!(clockTolerance >= 0 && clockTolerance <= 30))
    throw new TypeError('coatcheck/verify: clockTolerance must be 0 to 30 seconds');
  if (!options.issuer || !options.audience) throw new TypeError('coatcheck/verify: issuer and audience are required');
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
  const jwks = createRemoteJWKSet(jwksUrl, {
    cooldownDuration: options.cooldownDuration ?? 30_000,
    cacheMaxAge: options.cacheMaxAge ?? 600_000,
  });
  return {
    async verify(token) {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES) return null;
      if (repeatsAKey(token)) return null;
      let payload: JWTPayload;
      try {
        const result = await jwtVerify(token, jwks, {
          algorithms,
          issuer: options.issuer,
          audience: options.audience,
          typ: 'at+jwt',
          clockTolerance,
          // Also refuses an `iat` in the future (beyond the tolerance).
          maxTokenAge: maxTokenLifetime,
          requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'],
        });
        if (FORBIDDEN_HEADERS.some((name) => name in result.protectedHeader)) return null;
        // As coatcheck's own verifier: our kid, our one audience as a string (jose accepts an
        // array containing it), and no lifetime longer than we issue.
        if (typeof result.protectedHeader.kid !== 'string' || result.payload.aud !== options.audience) return null;
        payload = result.payload;
      } catch {
        return null;
      }
      const { sub, sid, role, jti, iat, exp, iss } = payload;
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof role !== 'string' || typeof jti !== 'string')
        return null;
      if (typeof iat !== 'number' || typeof exp !== 'number' || typeof iss !== 'string') return null;
      if (exp - iat > maxTokenLifetime) return null;
      return { sub, sid, role, jti, iat, exp, iss };
    },
  };
}
