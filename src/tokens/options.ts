import { JWT_ALGORITHMS, type JwtAlgorithm } from './key-ring.js';

/** Access tokens live this long unless `tokens.accessTokenTtl` says otherwise. */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 600;

export interface TokenOptions {
  /**
   * At least 32 bytes of secret (e.g. 64 hex characters). Seals private signing keys at rest and
   * enables the `token` and `native` login modes.
   */
  secret: string;
  /** Default ES256. EdDSA is as good; RS256 is a compatibility option; HS256 keeps verification in-house. */
  algorithm?: JwtAlgorithm;
  /** Seconds. Default 600 (10 minutes); at most 900 unless `dangerouslyAllowLongAccessTokens`. */
  accessTokenTtl?: number;
  /** An access token cannot be revoked on stateless routes: lifetimes over 15 minutes need this opt-in. */
  dangerouslyAllowLongAccessTokens?: boolean;
  /** Seconds in which a rotated refresh token may be presented again (two tabs at once). Default 10, at most 300. */
  refreshGrace?: number;
  /** Seconds without a refresh after which a refresh family ends. Default 7 days. */
  refreshIdleTtl?: number;
  /** Seconds after login at which a refresh family ends. Default 30 days. */
  refreshAbsoluteTtl?: number;
  /** `iss` of issued tokens. Default: the origin. */
  issuer?: string;
  /** `aud` of issued tokens. Default: the issuer. */
  audience?: string;
}

export interface ResolvedTokenOptions {
  secret: string;
  algorithm: JwtAlgorithm;
  accessTokenTtlSeconds: number;
  refreshGraceMs: number;
  refreshIdleTtlMs: number;
  refreshAbsoluteTtlMs: number;
  issuer: string;
  audience: string;
}

export const MIN_SECRET_BYTES = 32;
const MAX_SAFE_ACCESS_TTL = 15 * 60;

function seconds(value: number | undefined, fallback: number, name: string, min = 1, max = Infinity): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
    throw new TypeError(`coatcheck: tokens.${name} must be a whole number of seconds ${range}`);
  }
  return value;
}

/**
 * Inside the grace window a rotated refresh token still gets its successor, so reuse goes unseen:
 * a window as long as the time between refreshes would hide theft for good. Five minutes, as
 * `coatcheck serve` allows, covers any honest duplicate (two tabs, a retried request).
 */
const MAX_REFRESH_GRACE = 300;

/**
 * The access-token lifetime in seconds, checked: over 15 minutes only with the loud opt-in.
 * Exported so that `coatcheck serve` can refuse it before it opens anything.
 */
export function checkAccessTokenLifetime(
  options: Pick<TokenOptions, 'accessTokenTtl' | 'dangerouslyAllowLongAccessTokens'>,
): number {
  const ttl = seconds(options.accessTokenTtl, DEFAULT_ACCESS_TOKEN_TTL_SECONDS, 'accessTokenTtl');
  if (ttl > MAX_SAFE_ACCESS_TTL && !options.dangerouslyAllowLongAccessTokens) {
    throw new TypeError(
      'coatcheck: tokens.accessTokenTtl over 900 s (15 minutes) needs tokens.dangerouslyAllowLongAccessTokens: revoked sessions keep working on stateless routes until their tokens expire',
    );
  }
  return ttl;
}

export function resolveTokenOptions(options: TokenOptions, origin: string): ResolvedTokenOptions {
  if (options.secret === undefined || options.secret === '') {
    throw new TypeError(
      'coatcheck: tokens.secret is missing (at least 32 bytes, e.g. openssl rand -hex 32); omit `tokens` for cookie sessions only',
    );
  }
  if (typeof options.secret !== 'string' || Buffer.byteLength(options.secret) < MIN_SECRET_BYTES) {
    throw new TypeError(`coatcheck: tokens.secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  const algorithm = options.algorithm ?? 'ES256';
  if (!JWT_ALGORITHMS.includes(algorithm)) {
    throw new TypeError(`coatcheck: tokens.algorithm must be one of ${JWT_ALGORITHMS.join(', ')}`);
  }
  const accessTokenTtlSeconds = checkAccessTokenLifetime(options);
  const refreshIdleTtlMs = seconds(options.refreshIdleTtl, 7 * 24 * 3600, 'refreshIdleTtl') * 1000;
  const refreshAbsoluteTtlMs = seconds(options.refreshAbsoluteTtl, 30 * 24 * 3600, 'refreshAbsoluteTtl') * 1000;
  const issuer = options.issuer ?? origin;
  if (issuer.trim() === '') throw new TypeError('coatcheck: tokens.issuer must not be empty');
  const audience = options.audience ?? issuer;
  if (audience.trim() === '') throw new TypeError('coatcheck: tokens.audience must not be empty');
  return {
    secret: options.secret,
    algorithm,
    accessTokenTtlSeconds,
    refreshGraceMs: seconds(options.refreshGrace, 10, 'refreshGrace', 0, MAX_REFRESH_GRACE) * 1000,
    refreshIdleTtlMs,
    refreshAbsoluteTtlMs,
    issuer,
    audience,
  };
}
