import type { ResolvedOptions } from '../core/options.js';
import { sessionExpiresAt } from '../core/sessions.js';
import { withoutPasswordHash } from '../core/user.js';
import type { BearerVerifier, Identity } from '../http/authenticate.js';
import { AccessTokens, CLOCK_TOLERANCE_SECONDS, type AccessTokenClaims } from './access-tokens.js';
import { KeyRing } from './key-ring.js';
import type { ResolvedTokenOptions } from './options.js';
import { RefreshTokens } from './refresh-tokens.js';
import { deriveKey } from './seal.js';
import { StoreUnavailableError } from '../core/errors.js';
import type { RevocationList } from '../revocation/revocation-list.js';

// Other instances' new keys are picked up within this interval; retired keys stay valid past it.
// A third of the publish delay: every instance serves a rotated-in key well before it signs.
const KEY_RELOAD_MS = 20_000;
// Longer than the JWKS refetch cooldown of verifiers (30 s in coatcheck/verify and jose's default).
export const KEY_PUBLISH_DELAY_MS = 60_000;

/** Access tokens, refresh tokens and the key ring, assembled from the options. */
export class TokenService {
  readonly options: ResolvedTokenOptions;
  readonly ring: KeyRing;
  readonly access: AccessTokens;
  readonly refresh: RefreshTokens;
  readonly #core: ResolvedOptions;
  #ready: Promise<void> | undefined;
  #isReady = false;
  #timer: NodeJS.Timeout | undefined;

  readonly #revocations: RevocationList | null;

  constructor(core: ResolvedOptions, options: ResolvedTokenOptions, revocations: RevocationList | null = null) {
    this.#core = core;
    this.#revocations = revocations;
    this.options = options;
    this.ring = new KeyRing({
      store: core.store.signingKeys,
      sealKey: deriveKey(options.secret, 'signing-key-seal'),
      algorithm: options.algorithm,
      clock: core.clock,
      retireGraceMs: (options.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000 + 2 * KEY_RELOAD_MS,
      publishDelayMs: KEY_PUBLISH_DELAY_MS,
      logger: core.logger,
    });
    this.access = new AccessTokens({
      ring: this.ring,
      clock: core.clock,
      issuer: options.issuer,
      audience: options.audience,
      ttlSeconds: options.accessTokenTtlSeconds,
    });
    this.refresh = new RefreshTokens({
      store: core.store,
      clock: core.clock,
      graceMs: options.refreshGraceMs,
      idleTtlMs: options.refreshIdleTtlMs,
      absoluteTtlMs: options.refreshAbsoluteTtlMs,
    });
  }

  /** How long a revocation must be remembered: as long as an access token issued before it can live. */
  get revocationTtlMs(): number {
    return (this.options.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000;
  }

  /**
   * Loads (or creates) the signing keys and starts the revocation list once; later calls share
   * the same promise. A failure is retried on the next call.
   */
  ready(): Promise<void> {
    this.#ready ??= Promise.all([this.ring.init(), this.#revocations?.start()]).then(
      () => {
        this.#isReady = true;
        this.#timer ??= setInterval(() => {
          this.ring
            .reload()
            .catch(() => this.#core.logger.warn({ event: 'keys.reload_failed' }, 'reloading signing keys failed'));
        }, KEY_RELOAD_MS);
        this.#timer.unref();
      },
      (error: unknown) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#revocations?.close();
  }

  /**
   * The bearer side of `authenticateRequest`. Stateless: signature and claims only. Strict: the
   * token's session must still exist and the role is read fresh from the user record, so logout,
   * revocation and role changes take effect at once.
   */
  bearerVerifier(): BearerVerifier {
    return {
      verifyKnown: (token, { strict }) => {
        if (!this.#isReady) return undefined;
        const claims = this.access.verifyKnown(token);
        if (claims === undefined || claims === null) return claims;
        if (!strict) return identityOf(claims);
        // Strict without a feed reads the store, and a feed that is down must throw: both wait.
        const status = this.#revocations?.check(claims.sid, claims.sub, claims.iat * 1000, claims.role);
        if (status === undefined || status === 'unknown') return undefined;
        return status === 'valid' ? identityOf(claims) : null;
      },
      verify: async (token, { strict }) => {
        // Once ready, no await: this runs on every bearer request.
        if (!this.#isReady) await this.ready();
        const claims = await this.access.verify(token);
        if (!claims) return null;
        const identity = identityOf(claims);
        if (!strict) return identity;
        if (this.#revocations) {
          // No store round trip: the in-memory list, kept current by the feed, decides.
          const status = this.#revocations.check(claims.sid, claims.sub, claims.iat * 1000, claims.role);
          if (status === 'unknown')
            throw new StoreUnavailableError('Revocation state is unknown while the feed is down');
          return status === 'valid' ? identity : null;
        }
        const { store, clock } = this.#core;
        const session = await store.sessions.findById(claims.sid);
        if (!session || session.userId !== claims.sub || sessionExpiresAt(session) <= clock.now()) return null;
        const user = await store.users.findById(claims.sub);
        if (!user) return null;
        return { ...identity, role: user.role, user: withoutPasswordHash(user), session };
      },
    };
  }
}

function identityOf(claims: AccessTokenClaims): Identity {
  return {
    userId: claims.sub,
    role: claims.role,
    method: 'bearer',
    sessionId: claims.sid,
    expiresAt: claims.exp * 1000,
  };
}
