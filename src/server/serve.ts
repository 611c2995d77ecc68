import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAuth, type Auth } from '../create-auth.js';
import type { Clock } from '../core/clock.js';
import type { AuthOptions } from '../core/options.js';
import type { AuthLogger } from '../core/logger.js';
import type { PasswordHasher } from '../core/password-hasher.js';
import { createSqliteStore, type SqliteStore } from '../stores/sqlite/index.js';
import { createApp } from './app.js';
import type { ServerConfig } from './config.js';
import { createNotes } from './notes.js';
import { loadSecret } from './secret.js';
import type { TokenOptions } from '../tokens/options.js';

export interface RunningServer {
  /** The listening URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  auth: Auth;
  store: SqliteStore;
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

export function databasePath(dataDir: string): string {
  return join(dataDir, 'coatcheck.db');
}

/** Opens the embedded store in the data directory (created with mode 0700 if missing). */
export function openDataStore(dataDir: string): SqliteStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return createSqliteStore({ path: databasePath(dataDir) });
}

/** Token settings for `createAuth`, with the secret from the environment or the data directory. */
export function tokenOptions(config: ServerConfig): TokenOptions {
  const { secret } = loadSecret({
    configured: config.tokens.secret,
    dataDir: config.dataDir,
    production: config.production,
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
  const store = openDataStore(config.dataDir);
  let auth: Auth;
  try {
    auth = createAuth({
      store,
      origin: config.origin,
      allowedOrigins: config.allowedOrigins,
      allowInsecureHttp: config.allowInsecureHttp,
      session: { idleTtl: config.sessionIdleTtl, absoluteTtl: config.sessionAbsoluteTtl },
      logger,
      tokens: tokenOptions(config),
      ...(overrides.clock ? { clock: overrides.clock } : {}),
      ...(overrides.passwordHasher ? { passwordHasher: overrides.passwordHasher } : {}),
      ...(overrides.limiters ? { limiters: overrides.limiters } : {}),
    });
  } catch (error) {
    await store.close();
    throw error;
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
  const app = createApp({ auth, notes: createNotes(store.database), logger, trustProxy: config.trustProxy });

  const server = await new Promise<Server>((resolve, reject) => {
    const onListening = (): void => resolve(listening);
    const listening = config.host
      ? app.listen(config.port, config.host, onListening)
      : app.listen(config.port, onListening);
    listening.once('error', reject);
  });
  // A slow or stalled client gets a timeout, not a worker held forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  server.keepAliveTimeout = 5_000;

  const { port } = server.address() as AddressInfo;
  const host = config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, origin: config.origin, dataDir: config.dataDir }, 'coatcheck listening');

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
