import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createAuth, type Auth } from '../create-auth.js';
import type { Clock } from '../core/clock.js';
import { checkOrigins, type AuthOptions } from '../core/options.js';
import type { AuthLogger } from '../core/logger.js';
import type { PasswordHasher } from '../core/password-hasher.js';
import type { Store } from '../store/types.js';
import { createApp } from './app.js';
import { ConfigError, type ServerConfig } from './config.js';
import { checkRedisEvictionPolicy, openStores } from './open-stores.js';
import { inServeTerms } from './option-names.js';
import { loadSecret } from './secret.js';
import { checkAccessTokenLifetime, type TokenOptions } from '../tokens/options.js';

export interface RunningServer {
  /** The listening URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  auth: Auth;
  store: Store;
  server: Server;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes the store. */
  close(options?: { graceMs?: number }): Promise<void>;
}

export function createLogger(level: string): AuthLogger & { level: string } {
  return pino({
    level,
    base: { service: 'coatcheck' },
    // Defence in depth: even if a field like these slipped into a log call, it is not written.
    redact: {
      paths: [
        'password',
        'newPassword',
        'currentPassword',
        'token',
        'refreshToken',
        'accessToken',
        'cookie',
        'authorization',
        '*.password',
        '*.cookie',
        '*.authorization',
      ],
      censor: '[redacted]',
    },
  });
}

/**
 * What makes COATCHECK_SECRET required (no secret file in the data directory), if anything:
 * instances sharing a database must share the secret that seals its keys.
 */
export function secretRequiredBy(config: ServerConfig): string | undefined {
  return config.production ? 'NODE_ENV=production' : config.databaseUrl ? 'DATABASE_URL' : undefined;
}

/** Token settings for `createAuth`, with the secret from the environment or the data directory. */
export function tokenOptions(config: ServerConfig): TokenOptions {
  const { secret } = loadSecret({
    configured: config.tokens.secret,
    dataDir: config.dataDir,
    required: secretRequiredBy(config),
  });
  const { accessTokenTtl, refreshGrace, issuer, audience } = config.tokens;
  return {
    secret,
    algorithm: config.tokens.algorithm,
    dangerouslyAllowLongAccessTokens: config.tokens.dangerouslyAllowLongAccessTokens,
    ...(accessTokenTtl !== undefined ? { accessTokenTtl } : {}),
    ...(refreshGrace !== undefined ? { refreshGrace } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    ...(audience !== undefined ? { audience } : {}),
  };
}

/** Starts `coatcheck serve`: the store, the auth layer, the app, and the HTTP listener. */
export async function startServer(
  config: ServerConfig,
  overrides: {
    clock?: Clock;
    passwordHasher?: PasswordHasher;
    logger?: AuthLogger;
    limiters?: AuthOptions['limiters'];
  } = {},
): Promise<RunningServer> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  // Refused before anything is opened: a wrong setting must not leave a data directory behind.
  try {
    checkOrigins(config);
    checkAccessTokenLifetime(config.tokens);
  } catch (error) {
    throw inServeTerms(error);
  }
  // The secret too (its length, whether one is required): a ConfigError before the store opens.
  const tokens = tokenOptions(config);
  const { store, notes, feed, kind, redis } = await openStores(
    config,
    overrides.clock ? { clock: overrides.clock } : {},
  );
  let auth: Auth;
  try {
    auth = createAuth({
      store,
      ...(feed ? { revocation: { feed, whileDisconnected: config.revocationWhileDisconnected } } : {}),
      origin: config.origin,
      allowedOrigins: config.allowedOrigins,
      allowInsecureHttp: config.allowInsecureHttp,
      session: { idleTtl: config.sessionIdleTtl, absoluteTtl: config.sessionAbsoluteTtl },
      logger,
      tokens,
      ...(overrides.clock ? { clock: overrides.clock } : {}),
      ...(overrides.passwordHasher ? { passwordHasher: overrides.passwordHasher } : {}),
      ...(overrides.limiters ? { limiters: overrides.limiters } : {}),
    });
  } catch (error) {
    await feed?.close();
    await store.close();
    throw inServeTerms(error);
  }
  try {
    // Signing keys are loaded (or created, on first start) before the first request.
    await auth.ready();
  } catch (error) {
    await auth.close();
    await store.close();
    throw error;
  }
  if (auth.options.secureCookies === false) {
    logger.warn(
      { origin: config.origin },
      'plain http on a non-loopback origin: cookies are NOT Secure (development only)',
    );
  }
  const app = createApp({ auth, notes, logger, trustProxy: config.trustProxy });

  let server: Server;
  try {
    server = await listen(app, config);
  } catch (error) {
    await auth.close();
    await store.close();
    throw error;
  }
  // A slow or stalled client gets a timeout, not a worker held forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  server.keepAliveTimeout = 5_000;

  const { port } = server.address() as AddressInfo;
  const host = config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const where = kind.startsWith('sqlite') ? { dataDir: config.dataDir } : {};
  // `url` is where this machine reaches the server; `listening` says who else can (HOST unset: anyone
  // who can reach this machine's port, as Node listens on every interface).
  const listening = config.host ?? 'all interfaces';
  logger.info(
    { url, listening, origin: config.origin, stores: kind, ...where },
    `coatcheck listening; open ${config.origin}`,
  );

  // In the background: a Redis that is down now must not hold the start (requests fail closed).
  if (redis) void checkRedisEvictionPolicy(redis, logger);

  let closing: Promise<void> | undefined;
  const close = ({ graceMs = 10_000 } = {}): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await stopped;
      clearTimeout(timer);
      await auth.close();
      await store.close();
    })();
    return closing;
  };

  return { url, port, auth, store, server, close };
}

/**
 * Listens on the configured port and host. A port in use or an address this machine does not have
 * is the operator's to fix, so it is a `ConfigError` naming the cause, not Node's error. (Express 5
 * hands a listen error to the callback, and would otherwise resolve a server that never listened.)
 */
function listen(app: ReturnType<typeof createApp>, config: ServerConfig): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const onListening = (error?: Error): void => {
      if (error) reject(listenError(error, config));
      else resolve(listening);
    };
    const listening = config.host
      ? app.listen(config.port, config.host, onListening)
      : app.listen(config.port, onListening);
  });
}

function listenError(error: Error, config: ServerConfig): Error {
  const where = config.host === undefined ? `port ${config.port}` : `${config.host} port ${config.port}`;
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new ConfigError(`${where} is already in use (another server?): set PORT to a free port`);
    case 'EACCES':
      return new ConfigError(`${where} needs privileges this process lacks: set PORT above 1023`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EINVAL':
      return new ConfigError(`cannot listen on ${where}: HOST is not an address of this machine`);
    default:
      return error;
  }
}
