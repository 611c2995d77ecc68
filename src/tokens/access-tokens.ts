import type { Clock } from '../core/clock.js';
import { generateId } from '../core/random.js';
import type { KeyRing, LoadedKey } from './key-ring.js';
import { createPayloadVerifier, type PayloadVerifier } from './signature-verifier.js';
import { repeatsAKey } from './duplicate-keys.js';
import { createClaimsSigner, type ClaimsSigner } from './token-signer.js';
import { readTokenShape } from './token-shape.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

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
  /** Verified tokens remembered; 0 turns the cache off. Default `VERIFIED_TOKEN_CACHE_SIZE`. */
  cacheSize?: number;
}

export { MAX_TOKEN_BYTES } from './token-shape.js';
export const CLOCK_TOLERANCE_SECONDS = 30;
/** How many verified tokens each instance remembers (about 1 KB each). */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

// The largest time a Date holds (ECMAScript TimeClip); jose refuses a clock beyond it.
const MAX_DATE_MS = 8.64e15;

interface VerifiedToken {
  claims: Readonly<AccessTokenClaims>;
  nbf: number | undefined;
  kid: string;
  /** The key that verified it: a hit counts only while this is still the key of that `kid`. */
  verificationKey: LoadedKey['verificationKey'];
}

/**
 * The claims of a payload whose signature and `typ` held, if they are what coatcheck issues: our
 * issuer, our one audience (a string, not an array), every claim present with its type, `nbf`
 * absent or a number, and a lifetime no longer than configured. Time is checked separately, on
 * every use.
 */
function toClaims(
  payload: Record<string, unknown>,
  expected: { issuer: string; audience: string; ttlSeconds: number },
): { claims: AccessTokenClaims; nbf: number | undefined } | null {
  const { iss, aud, sub, sid, jti, role, iat, exp, nbf } = payload;
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' || typeof role !== 'string')
    return null;
  if (typeof iat !== 'number' || typeof exp !== 'number' || iss !== expected.issuer || aud !== expected.audience)
    return null;
  if (nbf !== undefined && typeof nbf !== 'number') return null;
  // Defence in depth: we never issue tokens living longer than configured.
  if (exp - iat > expected.ttlSeconds) return null;
  return { claims: { iss: expected.issuer, aud: expected.audience, sub, sid, jti, role, iat, exp }, nbf };
}

/**
 * Whether a token is current at `nowMs`: jose's rule with 30 s of tolerance, in whole seconds
 * (`nbf > now + 30` is not yet valid, `exp <= now - 30` has expired), and, ours, not issued in the future.
 */
function isCurrent(claims: Readonly<AccessTokenClaims>, nbf: number | undefined, nowMs: number): boolean {
  // `Math.floor(new Date(nowMs).getTime() / 1000)`, as jose computes it, without the Date.
  const now = Math.abs(nowMs) <= MAX_DATE_MS ? Math.floor(Math.trunc(nowMs) / 1000) : NaN;
  if (!Number.isFinite(now)) return false;
  if (nbf !== undefined && nbf > now + CLOCK_TOLERANCE_SECONDS) return false;
  if (claims.exp <= now - CLOCK_TOLERANCE_SECONDS) return false;
  return claims.iat <= nowMs / 1000 + CLOCK_TOLERANCE_SECONDS;
}

/** Issues and verifies (fast-jwt, both checked against jose) access tokens: JWT, `typ: at+jwt`, keys from the ring. */
export class AccessTokens {
  readonly #options: AccessTokenOptions;
  readonly #cache: VerifiedTokenCache<VerifiedToken>;
  // One fast-jwt verifier per key, made on first use; keys are imported once, so are these.
  readonly #verifiers = new WeakMap<LoadedKey['verificationKey'], PayloadVerifier>();
  readonly #signers = new WeakMap<LoadedKey['signingKey'], ClaimsSigner>();

  constructor(options: AccessTokenOptions) {
    this.#options = options;
    this.#cache = new VerifiedTokenCache(options.cacheSize ?? VERIFIED_TOKEN_CACHE_SIZE);
  }

  get ttlSeconds(): number {
    return this.#options.ttlSeconds;
  }

  /** Signs a new access token with the ring's current key. Synchronous: signing needs no I/O. */
  issue(subject: { userId: string; sessionId: string; role: string }): { token: string; claims: AccessTokenClaims } {
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
    let sign = this.#signers.get(key.signingKey);
    if (sign === undefined) {
      sign = createClaimsSigner(key);
      this.#signers.set(key.signingKey, sign);
    }
    return { token: sign({ ...claims }), claims };
  }

  /**
   * The claims of a valid token, or `null`. The header never chooses how it is verified: the
   * `kid` selects among our own keys, the algorithm must be that key's, and fast-jwt checks the
   * structure, the signature and `typ`; then `iss`, `aud` and every claim's type are checked here,
   * and `exp` and `nbf` follow jose's rule with at most 30 s of tolerance. A test compares every
   * verdict with jose's `jwtVerify`.
   *
   * A token verified twice before is found by its exact text in a bounded cache (the first
   * verification only remembers its fingerprint), and passes again only while the key that
   * verified it is still that `kid`'s key and, by the injected clock, it is still current.
   * Revocation is not decided here: strict routes check the session on every request.
   */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    const decided = this.verifyKnown(token);
    if (decided !== undefined) return decided;
    const { ring, clock } = this.#options;
    const now = clock.now();
    const shape = readTokenShape(token);
    if (shape === null) return null;
    const known = ring.peek(shape.kid);
    const key = known !== undefined && isLive(known, now) ? known : await ring.find(shape.kid);
    if (key === undefined || key.alg !== shape.alg) return null;
    const payload = this.#verifierFor(key)(token);
    if (payload === null || repeatsAKey(shape.payloadJson, payload)) return null;
    const checked = toClaims(payload, this.#options);
    if (checked === null || !isCurrent(checked.claims, checked.nbf, now)) return null;
    this.#cache.offer(token, {
      claims: checked.claims,
      nbf: checked.nbf,
      kid: key.kid,
      verificationKey: key.verificationKey,
    });
    return copyOf(checked.claims);
  }

  /**
   * `verify` for a token found in the cache, without waiting: its claims, or `null` when it is no
   * longer current. `undefined` when the cache cannot decide (not kept, or its key changed): then
   * only `verify` can.
   */
  verifyKnown(token: string): AccessTokenClaims | null | undefined {
    const cached = this.#cache.get(token);
    if (cached === undefined) return undefined;
    const now = this.#options.clock.now();
    const key = this.#options.ring.peek(cached.kid);
    if (key !== undefined && key.verificationKey === cached.verificationKey && isLive(key, now)) {
      return isCurrent(cached.claims, cached.nbf, now) ? copyOf(cached.claims) : null;
    }
    this.#cache.delete(token);
    return undefined;
  }

  #verifierFor(key: LoadedKey): PayloadVerifier {
    let verifier = this.#verifiers.get(key.verificationKey);
    if (verifier === undefined) {
      verifier = createPayloadVerifier(key);
      this.#verifiers.set(key.verificationKey, verifier);
    }
    return verifier;
  }
}

/** Callers get their own object: the cached one must not change. */
function copyOf(claims: Readonly<AccessTokenClaims>): AccessTokenClaims {
  const { iss, aud, sub, sid, jti, role, iat, exp } = claims;
  return { iss, aud, sub, sid, jti, role, iat, exp };
}

/** A key of the ring that still verifies at `now` (as `KeyRing.find` decides for a known kid). */
function isLive(key: LoadedKey, now: number): boolean {
  return key.record.expiresAt === null || key.record.expiresAt > now;
}
