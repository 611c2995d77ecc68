import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../../src/core/clock.js';
import type { AuthLogger } from '../../src/core/logger.js';
import type { PasswordHasher } from '../../src/core/password-hasher.js';
import { createMemoryLimiter, DEFAULT_REGISTRATION_POLICY } from '../../src/core/throttle.js';
import { readConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

/** The public origin test servers are configured with; browsers would send it as `Origin`. */
export const ORIGIN = 'http://localhost:3000';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

export interface TestServer extends RunningServer {
  clock: ReturnType<typeof createManualClock>;
  dataDir: string;
  logs: LogLine[];
  /** Stops the server; `keepData` leaves the data directory for a restart test. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** A real `coatcheck serve` on an ephemeral port, with a temp data dir and a controllable clock. */
export async function startTestServer(
  options: {
    dataDir?: string;
    env?: Record<string, string>;
    config?: Partial<ServerConfig>;
    /** Keep the production registration limit (10 per address per hour); off by default in tests. */
    realRegistrationLimit?: boolean;
    passwordHasher?: PasswordHasher;
    /** Where the server's manual clock starts (default: now). */
    clockStart?: number;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'coatcheck-test-'));
  const config: ServerConfig = {
    ...readConfig({ PORT: '0', LOG_LEVEL: 'silent', COATCHECK_ORIGIN: ORIGIN, ...options.env }),
    dataDir,
    host: '127.0.0.1',
    ...options.config,
  };
  const clock = createManualClock(options.clockStart ?? Date.now());
  const logs: LogLine[] = [];
  const logger: AuthLogger = {
    info: (fields, message) => logs.push({ level: 'info', fields, message }),
    warn: (fields, message) => logs.push({ level: 'warn', fields, message }),
    error: (fields, message) => logs.push({ level: 'error', fields, message }),
  };
  const limiters = options.realRegistrationLimit
    ? {}
    : { registration: createMemoryLimiter({ ...DEFAULT_REGISTRATION_POLICY, freeAttempts: 1_000_000 }) };
  const running = await startServer(config, {
    clock,
    logger,
    limiters,
    ...(options.passwordHasher ? { passwordHasher: options.passwordHasher } : {}),
  });
  return {
    ...running,
    clock,
    dataDir,
    logs,
    async stop({ keepData = false } = {}) {
      await running.close({ graceMs: 1000 });
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or `undefined` for an empty one. */
  body: any;
  text: string;
  /** `Set-Cookie` header values. */
  cookies: string[];
}

export interface CallOptions {
  json?: unknown;
  /** A raw body (sent as is, with the given headers). */
  raw?: string;
  headers?: Record<string, string>;
  /** Session cookie value to send as `__Host-coatcheck.sid`. */
  session?: string;
  /** Send `Origin: ORIGIN` (default for unsafe methods). */
  origin?: string | null;
}

export const SESSION_COOKIE = '__Host-coatcheck.sid';

/** One HTTP request to the test server with the real fetch client. */
export async function call(
  server: { url: string },
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(method);
  const origin = options.origin === undefined ? (unsafe ? ORIGIN : null) : options.origin;
  if (origin !== null && headers.Origin === undefined) headers.Origin = origin;
  if (options.session !== undefined) {
    headers.Cookie = [headers.Cookie, `${SESSION_COOKIE}=${options.session}`].filter(Boolean).join('; ');
  }
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] ??= 'application/json';
  } else if (options.raw !== undefined) {
    body = options.raw;
  }
  const response = await fetch(`${server.url}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    body: parsed,
    text,
    cookies: response.headers.getSetCookie(),
  };
}

/** The value of the session cookie a response set, or `undefined`. */
export function sessionCookieOf(reply: Reply): string | undefined {
  const cookie = reply.cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  return cookie?.slice(SESSION_COOKIE.length + 1).split(';', 1)[0];
}

let counter = 0;
/** A fresh, valid email for each call. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}.${process.pid}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

/** Registers a user and logs in; returns the session cookie value and the login reply. */
export async function registerAndLogin(
  server: { url: string },
  options: { email?: string; password?: string; headers?: Record<string, string> } = {},
): Promise<{ email: string; password: string; session: string; login: Reply; userId: string }> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? PASSWORD;
  const registered = await call(server, 'POST', '/auth/register', { json: { email, password } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const login = await call(server, 'POST', '/auth/login', {
    json: { email, password },
    headers: options.headers ?? {},
  });
  const session = sessionCookieOf(login);
  if (login.status !== 200 || !session) throw new Error(`login failed: ${login.status} ${login.text}`);
  return { email, password, session, login, userId: (registered.body as { user: { id: string } }).user.id };
}
