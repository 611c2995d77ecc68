import type { Store } from '../store/types.js';
import type { TokenOptions } from '../tokens/options.js';
import type { RevocationFeed } from '../revocation/types.js';
import { systemClock, type Clock } from './clock.js';
import { silentLogger, type AuthLogger } from './logger.js';
import { isSecureOrigin } from './secure-origin.js';
import { createArgon2idHasher, type PasswordHasher } from './password-hasher.js';
import {
  ATTEMPT_LIMITER_METHODS,
  createMemoryLimiter,
  DEFAULT_ACCOUNT_POLICY,
  DEFAULT_ADDRESS_POLICY,
  DEFAULT_REGISTRATION_POLICY,
  type AttemptLimiter,
} from './throttle.js';

export interface AuthOptions {
  store: Store;
  /** The public origin of the app, e.g. `https://app.example.com`. Decides cookie security and CSRF. */
  origin: string;
  /** Further origins whose requests are same-party (CSRF allow-list). */
  allowedOrigins?: string[];
  /** Where the auth routes live. Default `/auth`. */
  basePath?: string;
  session?: {
    /** Seconds of inactivity after which a session ends. Default 24 h. */
    idleTtl?: number;
    /** Seconds after login at which a session ends whatever happens. Default 7 days. */
    absoluteTtl?: number;
    /**
     * Activity is written at most once per this many seconds per session, so the idle deadline
     * moves in steps of it. Default a quarter of `idleTtl`, at most 60; must be shorter than `idleTtl`.
     */
    touchInterval?: number;
  };
  /**
   * Development only: serve cookies without `Secure` and without the `__Host-`/`__Secure-`
   * prefixes on a plain-http origin that is not localhost. Refused when `NODE_ENV=production`.
   */
  allowInsecureHttp?: boolean;
  /** Role given to users who register themselves. Default `user`. */
  defaultRole?: string;
  clock?: Clock;
  passwordHasher?: PasswordHasher;
  limiters?: { account?: AttemptLimiter; address?: AttemptLimiter; registration?: AttemptLimiter };
  logger?: AuthLogger;
  /** Seconds between background purges of expired records; 0 turns the purge off. Default 600. */
  purgeInterval?: number;
  /** JWT access tokens and refresh tokens (`token` and `native` login modes). Off unless given. */
  tokens?: TokenOptions;
  /**
   * Instant revocation of access tokens on strict routes across instances, with no store lookup
   * per request: an in-memory list kept current by a feed (Redis pub/sub or Postgres NOTIFY).
   * Without it, strict routes look the session up in the store.
   */
  revocation?: { feed: RevocationFeed; whileDisconnected?: 'fail-closed' | 'allow' };
}

export interface ResolvedOptions {
  store: Store;
  origin: string;
  allowedOrigins: ReadonlySet<string>;
  basePath: string;
  idleTtlMs: number;
  absoluteTtlMs: number;
  touchIntervalMs: number;
  secureCookies: boolean;
  https: boolean;
  defaultRole: string;
  clock: Clock;
  passwordHasher: PasswordHasher;
  limiters: { account: AttemptLimiter; address: AttemptLimiter; registration: AttemptLimiter };
  logger: AuthLogger;
  purgeIntervalMs: number;
}

export { isSecureOrigin };

function positiveSeconds(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback * 1000;
  if (!Number.isFinite(value) || value <= 0)
    throw new TypeError(`coatcheck: ${name} must be a positive number of seconds`);
  return Math.round(value * 1000);
}

function parseOrigin(value: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`coatcheck: ${name} must be an absolute URL such as https://app.example.com`);
  }
  const originOnly =
    url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password && !value.endsWith('//');
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !originOnly) {
    throw new TypeError(
      `coatcheck: ${name} must be an origin (scheme, host and port only), such as https://app.example.com`,
    );
  }
  return url;
}

/**
 * The origin options, checked: `origin` and `allowedOrigins` must be origins, and plain http off
 * loopback needs `allowInsecureHttp` (never with NODE_ENV=production). Exported so that
 * `coatcheck serve` can refuse them before it opens anything.
 */
export function checkOrigins(options: Pick<AuthOptions, 'origin' | 'allowedOrigins' | 'allowInsecureHttp'>): {
  origin: URL;
  secure: boolean;
  allowedOrigins: Set<string>;
} {
  const origin = parseOrigin(options.origin, 'origin');
  const secure = isSecureOrigin(origin);
  if (!secure) {
    if (!options.allowInsecureHttp) {
      throw new TypeError(
        `coatcheck: origin ${origin.origin} is plain http on a non-loopback host; use https, or set allowInsecureHttp for local development`,
      );
    }
    if (process.env.NODE_ENV === 'production') {
      throw new TypeError('coatcheck: allowInsecureHttp is refused when NODE_ENV=production');
    }
  }
  const allowedOrigins = new Set([origin.origin]);
  for (const extra of options.allowedOrigins ?? []) allowedOrigins.add(parseOrigin(extra, 'allowedOrigins[]').origin);
  return { origin, secure, allowedOrigins };
}

/** Checks options once at setup: a developer's mistake is a TypeError now, not a 500 later. */
export function resolveOptions(options: AuthOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('coatcheck: options are required');
  if (!options.store) throw new TypeError('coatcheck: a store is required');
  if (typeof (options.store as { then?: unknown }).then === 'function') {
    // createPostgresStore is async: without its await the store is a Promise, and fails later.
    throw new TypeError('coatcheck: the store is a Promise; await createPostgresStore(...) before createAuth');
  }
  const { origin, secure, allowedOrigins } = checkOrigins(options);
  const basePath = options.basePath ?? '/auth';
  if (!/^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/.test(basePath)) {
    throw new TypeError('coatcheck: basePath must start with "/" and not end with "/", e.g. /auth');
  }
  const idleTtlMs = positiveSeconds(options.session?.idleTtl, 24 * 60 * 60, 'session.idleTtl');
  const absoluteTtlMs = positiveSeconds(options.session?.absoluteTtl, 7 * 24 * 60 * 60, 'session.absoluteTtl');
  // The idle deadline moves only on a touch: a touch interval as long as the idle timeout would
  // end a busy session at the timeout as if it were idle. By default a quarter of it, at most 60 s.
  const touchIntervalMs =
    options.session?.touchInterval === undefined
      ? Math.min(60_000, Math.floor(idleTtlMs / 4))
      : positiveSeconds(options.session.touchInterval, 60, 'session.touchInterval');
  if (touchIntervalMs >= idleTtlMs) {
    throw new TypeError('coatcheck: session.touchInterval must be shorter than session.idleTtl');
  }
  const purgeInterval = options.purgeInterval ?? 600;
  if (!Number.isFinite(purgeInterval) || purgeInterval < 0) {
    throw new TypeError('coatcheck: purgeInterval must be a number of seconds, or 0 to turn the purge off');
  }
  return {
    store: options.store,
    origin: origin.origin,
    allowedOrigins,
    basePath,
    idleTtlMs,
    absoluteTtlMs,
    touchIntervalMs,
    secureCookies: secure,
    https: origin.protocol === 'https:',
    defaultRole: options.defaultRole ?? 'user',
    clock: options.clock ?? systemClock,
    passwordHasher: options.passwordHasher ?? createArgon2idHasher(),
    limiters: {
      account: limiterOption(options.limiters?.account, 'account') ?? createMemoryLimiter(DEFAULT_ACCOUNT_POLICY),
      address: limiterOption(options.limiters?.address, 'address') ?? createMemoryLimiter(DEFAULT_ADDRESS_POLICY),
      registration:
        limiterOption(options.limiters?.registration, 'registration') ??
        createMemoryLimiter(DEFAULT_REGISTRATION_POLICY),
    },
    logger: options.logger ?? silentLogger,
    purgeIntervalMs: purgeInterval * 1000,
  };
}

/** A limiter passed in, checked now rather than as a 500 on the first login. */
function limiterOption(limiter: AttemptLimiter | undefined, name: string): AttemptLimiter | undefined {
  if (limiter === undefined) return undefined;
  const missing = ATTEMPT_LIMITER_METHODS.filter(
    (method) => typeof (limiter as unknown as Record<string, unknown>)[method] !== 'function',
  );
  if (missing.length > 0) {
    throw new TypeError(`coatcheck: limiters.${name} lacks ${missing.join(', ')} (see AttemptLimiter)`);
  }
  return limiter;
}
