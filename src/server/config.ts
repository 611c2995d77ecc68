import { resolve } from 'node:path';
import { compileTrustProxy, trustsTooMuchOfTheInternet, type TrustProxyFunction } from './trusted-proxy-reach.js';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../tokens/key-ring.js';

/** Everything `coatcheck serve` reads from the environment, checked once at start. */
export interface ServerConfig {
  port: number;
  host: string | undefined;
  dataDir: string;
  origin: string;
  allowedOrigins: string[];
  sessionIdleTtl: number | undefined;
  sessionAbsoluteTtl: number | undefined;
  /** Express's `trust proxy`: how many proxies, or which addresses, may set `X-Forwarded-For`. */
  trustProxy: number | string | undefined;
  allowInsecureHttp: boolean;
  logLevel: string;
  production: boolean;
  /** Postgres for users, keys (and sessions unless Redis is given). */
  databaseUrl: string | undefined;
  /** Redis for sessions, refresh families and the revocation feed. */
  redisUrl: string | undefined;
  /** The Postgres schema of coatcheck's tables. */
  databaseSchema: string;
  /**
   * What coatcheck's Redis keys start with (`cc` unless set), so that deployments can share one
   * Redis. Another prefix also prefixes the revocation feed's key and channel (`revocationFeedPrefix`).
   */
  redisKeyPrefix: string | undefined;
  /** How much of the SQLite file is read through a memory map (`mmapBytes`); unset: the store's default. */
  sqliteMmapBytes: number | undefined;
  /** Run Postgres migrations at start (otherwise `coatcheck migrate` does). */
  migrateOnStart: boolean;
  /** What strict routes do while the revocation feed is disconnected. */
  revocationWhileDisconnected: 'fail-closed' | 'allow';
  tokens: {
    secret: string | undefined;
    /** COATCHECK_SECRET was set to the empty string (what `$(cat missing-file)` gives), not left unset. */
    secretSetEmpty: boolean;
    algorithm: JwtAlgorithm;
    accessTokenTtl: number | undefined;
    dangerouslyAllowLongAccessTokens: boolean;
    refreshGrace: number | undefined;
    issuer: string | undefined;
    audience: string | undefined;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, options: { min: number; max: number }): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  // Digits only: Number() would also take '1e3', '0x10' and ' 7 '.
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < options.min || value > options.max) {
    throw new ConfigError(`${name} must be a whole number from ${options.min} to ${options.max}`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false' || raw === 'no') return false;
  if (raw === '1' || raw === 'true' || raw === 'yes') return true;
  throw new ConfigError(`${name} must be 1/true/yes or 0/false/no`);
}

function algorithm(env: NodeJS.ProcessEnv): JwtAlgorithm {
  const value = env.COATCHECK_JWT_ALG || 'ES256';
  if (!(JWT_ALGORITHMS as readonly string[]).includes(value)) {
    throw new ConfigError(`COATCHECK_JWT_ALG must be one of ${JWT_ALGORITHMS.join(', ')}`);
  }
  return value as JwtAlgorithm;
}

function whileDisconnected(env: NodeJS.ProcessEnv): 'fail-closed' | 'allow' {
  const value = env.COATCHECK_REVOCATION_WHILE_DISCONNECTED || 'fail-closed';
  if (value !== 'fail-closed' && value !== 'allow') {
    throw new ConfigError('COATCHECK_REVOCATION_WHILE_DISCONNECTED must be fail-closed or allow');
  }
  return value;
}

function trustProxy(env: NodeJS.ProcessEnv): number | string | undefined {
  // Trimmed: Express would trim ' 1' to the address '1', silently trusting nobody.
  const value = env.COATCHECK_TRUST_PROXY?.trim();
  if (value === undefined || value === '') return undefined;
  // Express reads a string as addresses: '1' would mean the address 0.0.0.1, not one proxy.
  if (/^\d+$/.test(value))
    return integer({ COATCHECK_TRUST_PROXY: value }, 'COATCHECK_TRUST_PROXY', { min: 0, max: 32 });
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.includes('')) {
    throw new ConfigError('COATCHECK_TRUST_PROXY has an empty entry in its list (a stray comma?)');
  }
  // A /0 range is every address, as `true` would be (Express itself throws on it at start).
  const everyAddress = entries.some((entry) => /\/0+$/.test(entry));
  if (/^(true|false|yes|no)$/i.test(value) || everyAddress || trustsEveryone(value)) {
    throw new ConfigError(
      'COATCHECK_TRUST_PROXY must be how many proxies are in front (e.g. 1) or their addresses ' +
        '(e.g. loopback, 10.0.0.0/8); trusting every X-Forwarded-For, or those from a wide share of the internet, would let any client choose its address',
    );
  }
  return value;
}

/** Express's reading of the list, refused as a ConfigError when it is unreadable or trusts too much. */
function trustsEveryone(value: string): boolean {
  let trusts: TrustProxyFunction;
  try {
    trusts = compileTrustProxy(value);
  } catch (error) {
    throw new ConfigError(`COATCHECK_TRUST_PROXY: ${error instanceof Error ? error.message : String(error)}`);
  }
  return trustsTooMuchOfTheInternet(trusts);
}

function redisKeyPrefix(env: NodeJS.ProcessEnv): string | undefined {
  const value = env.COATCHECK_REDIS_PREFIX;
  if (value === undefined || value === '') return undefined;
  // Braces would move keys to other cluster hash slots; the rest keeps keys readable in redis-cli.
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(value)) {
    throw new ConfigError('COATCHECK_REDIS_PREFIX must be 1 to 64 of the characters A-Z a-z 0-9 _ . : -');
  }
  return value;
}

function defaultOrigin(port: number): string {
  // Cookies, CSRF and the token issuer are all bound to the origin, which must be known before listening.
  if (port === 0) throw new ConfigError('PORT=0 (any free port) needs COATCHECK_ORIGIN, the URL users will open');
  return `http://localhost:${port}`;
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function readConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const port = integer(env, 'PORT', { min: 0, max: 65535 }) ?? 3000;
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}`);
  return {
    port,
    host: env.HOST || undefined,
    dataDir: resolve(env.COATCHECK_DATA_DIR || './data'),
    origin: env.COATCHECK_ORIGIN || defaultOrigin(port),
    allowedOrigins: (env.COATCHECK_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    sessionIdleTtl: integer(env, 'COATCHECK_SESSION_IDLE_TTL', { min: 60, max: 365 * 24 * 3600 }),
    sessionAbsoluteTtl: integer(env, 'COATCHECK_SESSION_ABSOLUTE_TTL', { min: 60, max: 5 * 365 * 24 * 3600 }),
    trustProxy: trustProxy(env),
    allowInsecureHttp: flag(env, 'COATCHECK_ALLOW_INSECURE_HTTP'),
    logLevel,
    production: env.NODE_ENV === 'production',
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    databaseSchema: env.COATCHECK_DATABASE_SCHEMA || 'public',
    redisKeyPrefix: redisKeyPrefix(env),
    sqliteMmapBytes: integer(env, 'COATCHECK_SQLITE_MMAP_BYTES', { min: 0, max: 2 ** 40 }),
    migrateOnStart: flag(env, 'COATCHECK_MIGRATE_ON_START'),
    revocationWhileDisconnected: whileDisconnected(env),
    tokens: {
      secret: env.COATCHECK_SECRET || undefined,
      secretSetEmpty: env.COATCHECK_SECRET === '',
      algorithm: algorithm(env),
      accessTokenTtl: integer(env, 'COATCHECK_ACCESS_TOKEN_TTL', { min: 10, max: 24 * 3600 }),
      dangerouslyAllowLongAccessTokens: flag(env, 'COATCHECK_DANGEROUSLY_ALLOW_LONG_ACCESS_TOKENS'),
      refreshGrace: integer(env, 'COATCHECK_REFRESH_GRACE', { min: 0, max: 300 }),
      issuer: env.COATCHECK_ISSUER || undefined,
      audience: env.COATCHECK_AUDIENCE || undefined,
    },
  };
}
