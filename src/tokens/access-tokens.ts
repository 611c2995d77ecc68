import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Clock } from '../core/clock.js';
import { generateId } from '../core/random.js';
import { hasDuplicateKeys } from './duplicate-keys.js';
import type { KeyRing } from './key-ring.js';

/** The claims of a coatcheck access token: who, which session, which role; nothing personal. */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  jti: string;
  role: string;
  iat: number;
  exp: number;
}

export interface AccessTokenOptions {
  ring: KeyRing;
  clock: Clock;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/** Tokens over this size are refused before any parsing. */
export const MAX_TOKEN_BYTES = 8 * 1024;
export const CLOCK_TOLERANCE_SECONDS = 30;

const SEGMENT = /^[A-Za-z0-9_-]+$/;
// Headers that would let a token name its own key: we never use them, so a token carrying one is forged or confused.
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'];
const KID = /^[A-Za-z0-9_-]{1,64}$/;

function decodeSegment(segment: string): { json: string; value: unknown } | null {
  if (!SEGMENT.test(segment)) return null;
  try {
    const json = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url'));
    return { json, value: JSON.parse(json) as unknown };
  } catch {
    return null;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Issues and verifies access tokens (JWT, `typ: at+jwt`) with jose, keys from the ring. */
export class AccessTokens {
  readonly #options: AccessTokenOptions;

  constructor(options: AccessTokenOptions) {
    this.#options = options;
  }

  get ttlSeconds(): number {
    return this.#options.ttlSeconds;
  }

  async issue(subject: {
    userId: string;
    sessionId: string;
    role: string;
  }): Promise<{ token: string; claims: AccessTokenClaims }> {
    const { ring, clock, issuer, audience, ttlSeconds } = this.#options;
    const key = ring.current();
    const iat = Math.floor(clock.now() / 1000);
    const claims: AccessTokenClaims = {
      iss: issuer,
      aud: audience,
      sub: subject.userId,
      sid: subject.sessionId,
      jti: generateId('at'),
      role: subject.role,
      iat,
      exp: iat + ttlSeconds,
    };
    const token = await new SignJWT({ sid: claims.sid, role: claims.role })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(claims.iss)
      .setAudience(claims.aud)
      .setSubject(claims.sub)
      .setJti(claims.jti)
      .setIssuedAt(claims.iat)
      .setExpirationTime(claims.exp)
      .sign(key.signingKey);
    return { token, claims };
  }

  /**
   * The claims of a valid token, or `null`. The header never chooses how it is verified: the
   * `kid` selects among our own keys, the algorithm must be that key's, and jose checks the
   * signature, `typ`, `iss`, `aud`, `exp` and `nbf` with at most 30 s of tolerance.
   */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    if (token.length > MAX_TOKEN_BYTES) return null;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const header = decodeSegment(parts[0]!);
    const payload = decodeSegment(parts[1]!);
    if (!header || !payload || !isPlainObject(header.value) || !isPlainObject(payload.value)) return null;
    if (hasDuplicateKeys(header.json) || hasDuplicateKeys(payload.json)) return null;
    const { kid, alg } = header.value;
    if (FORBIDDEN_HEADERS.some((name) => name in (header.value as object))) return null;
    if (typeof kid !== 'string' || !KID.test(kid) || typeof alg !== 'string') return null;
    const key = await this.#options.ring.find(kid);
    if (!key || key.alg !== alg) return null;
    let verified: JWTPayload;
    try {
      ({ payload: verified } = await jwtVerify(token, key.verificationKey, {
        algorithms: [key.alg],
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        typ: 'at+jwt',
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.#options.clock.now()),
        requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'],
      }));
    } catch {
      return null;
    }
    const { sub, sid, jti, role, iat, exp, iss } = verified;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' || typeof role !== 'string')
      return null;
    if (typeof iat !== 'number' || typeof exp !== 'number' || typeof iss !== 'string') return null;
    // Defence in depth: we never issue tokens dated in the future or living longer than configured.
    const now = this.#options.clock.now() / 1000;
    if (iat > now + CLOCK_TOLERANCE_SECONDS || exp - iat > this.#options.ttlSeconds) return null;
    return { iss, aud: this.#options.audience, sub, sid, jti, role, iat, exp };
  }
}
