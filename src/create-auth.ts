import { AccountManager, type RegisterInput } from './core/accounts.js';
import { resolveOptions, type AuthOptions, type ResolvedOptions } from './core/options.js';
import { SessionManager } from './core/sessions.js';
import {
  authenticateKnownRequest,
  authenticateRequest,
  type AuthOutcome,
  type RequestFacts,
} from './http/authenticate.js';
import { createRefreshCookie } from './http/refresh-cookie.js';
import { resolveTokenOptions } from './tokens/options.js';
import { TokenService } from './tokens/token-service.js';
import { CLOCK_TOLERANCE_SECONDS } from './tokens/access-tokens.js';
import { observeRevocations } from './revocation/observe-store.js';
import { RevocationList } from './revocation/revocation-list.js';
import { roleChangeEvent } from './revocation/role-change.js';
import { createHandler, type RequestContext } from './http/handler.js';
import { createSessionCookie, type AuthCookie } from './http/session-cookie.js';
import type { UserProfile } from './store/types.js';
import { withoutPasswordHash } from './core/user.js';

export interface Auth {
  readonly options: ResolvedOptions;
  readonly accounts: AccountManager;
  readonly sessions: SessionManager;
  readonly sessionCookie: AuthCookie;
  /** Access and refresh tokens and the key ring; `null` unless `tokens` was configured. */
  readonly tokens: TokenService | null;
  /**
   * Resolves once the signing keys are loaded (created on first start). A no-op without tokens.
   * Rejects with `UnreadableSigningKeysError` while keys still signing in the store were sealed
   * under another secret (see `KeyRing.init`).
   */
  ready(): Promise<void>;
  /** Answers every coatcheck route (`/auth/*`, `/healthz`): a `Request` in, a `Response` out. */
  handle(request: Request, context?: RequestContext): Promise<Response>;
  /** True when `pathname` belongs to coatcheck, so an adapter can pass everything else on. */
  owns(pathname: string): boolean;
  /**
   * Who a request is: for route guards in adapters. Unsafe cookie-authenticated requests must pass
   * the CSRF rule. `strict` also refuses access tokens of revoked sessions.
   */
  authenticate(request: RequestFacts, options?: { strict?: boolean }): Promise<AuthOutcome>;
  /**
   * `authenticate`'s outcome when it is known without waiting (a bearer token verified before, a
   * session from a store that reads without I/O), else `undefined`. Guards try it first so that
   * most requests cost no promise. May throw `StoreUnavailableError`; `authenticate` then decides.
   */
  authenticateKnown(request: RequestFacts, options?: { strict?: boolean }): AuthOutcome | undefined;
  /**
   * Creates a user (for operators: CLI, seeding, admin code). Answers the profile, never the
   * password hash: app code that sends it on (`res.json(user)`) cannot leak it.
   */
  createUser(input: RegisterInput): Promise<UserProfile>;
  /**
   * Changes a user's role: cookie sessions and strict routes see it on the next request; a
   * non-strict route goes by the access token's `role` claim until the token is renewed.
   */
  setRole(userId: string, role: string): Promise<boolean>;
  /** Deletes expired records now (also done in the background every `purgeInterval`). */
  purgeExpired(): Promise<number>;
  /** Stops background work. The store stays open: whoever opened it closes it. */
  close(): Promise<void>;
}

/**
 * Creates the auth layer.
 *
 * @example
 * const auth = createAuth({ store: createSqliteStore({ path: './data/coatcheck.db' }), origin: 'https://app.example.com' });
 * const response = await auth.handle(new Request('https://app.example.com/auth/me', { headers }));
 */
export function createAuth(options: AuthOptions): Auth {
  const base = resolveOptions(options);
  const tokenOptions = options.tokens ? resolveTokenOptions(options.tokens, base.origin) : null;
  const revocations =
    tokenOptions && options.revocation
      ? new RevocationList({
          feed: options.revocation.feed,
          clock: base.clock,
          logger: base.logger,
          ...(options.revocation.whileDisconnected ? { whileDisconnected: options.revocation.whileDisconnected } : {}),
        })
      : null;
  const revocationTtlMs = tokenOptions ? (tokenOptions.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000 : 0;
  const resolved: ResolvedOptions = revocations
    ? {
        ...base,
        store: observeRevocations(base.store, (sessionIds) =>
          revocations.publish({ sessionIds, users: [], expiresAt: base.clock.now() + revocationTtlMs }),
        ),
      }
    : base;
  const accounts = new AccountManager(resolved);
  const sessions = new SessionManager(resolved);
  const sessionCookie = createSessionCookie(resolved);
  const tokens = tokenOptions ? new TokenService(resolved, tokenOptions, revocations) : null;
  const deps = {
    options: resolved,
    accounts,
    sessions,
    cookie: sessionCookie,
    refreshCookie: createRefreshCookie(resolved),
    bearer: tokens ? tokens.bearerVerifier() : null,
    tokens,
  };
  const handler = createHandler(deps);

  // Expired sessions (with their refresh families) and signing keys no token can still need.
  const purgeExpired = async (): Promise<number> => {
    const now = resolved.clock.now();
    const sessionsPurged = await resolved.store.sessions.deleteExpired(now);
    return sessionsPurged + (await resolved.store.signingKeys.deleteExpired(now));
  };
  let timer: NodeJS.Timeout | undefined;
  if (resolved.purgeIntervalMs > 0) {
    timer = setInterval(() => {
      purgeExpired().then(
        (count) => {
          if (count > 0) resolved.logger.info({ event: 'purge', count }, 'expired sessions purged');
        },
        () => resolved.logger.warn({ event: 'purge.failed' }, 'purging expired sessions failed; will retry'),
      );
    }, resolved.purgeIntervalMs);
    // The purge must never keep a process alive on its own.
    timer.unref();
  }

  return {
    options: resolved,
    accounts,
    sessions,
    sessionCookie,
    tokens,
    ready: () => (tokens ? tokens.ready() : Promise.resolve()),
    handle: handler.handle,
    owns: handler.owns,
    authenticate: (request, settings = {}) => authenticateRequest(request, deps, { strict: settings.strict ?? false }),
    authenticateKnown: (request, settings = {}) =>
      authenticateKnownRequest(request, deps, { strict: settings.strict ?? false }),
    createUser: async (input) => withoutPasswordHash(await accounts.register(input)),
    async setRole(userId, role) {
      const changed = await accounts.setRole(userId, role);
      if (changed && revocations && tokenOptions) {
        await revocations.publish(
          roleChangeEvent(userId, role, resolved.clock.now(), tokenOptions.accessTokenTtlSeconds),
        );
      }
      return changed;
    },
    purgeExpired,
    async close() {
      if (timer) clearInterval(timer);
      await tokens?.close();
    },
  };
}
