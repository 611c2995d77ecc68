import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { expect } from 'vitest';
import { createAuth, type Auth } from '../../src/create-auth.js';
import { createManualClock } from '../../src/core/clock.js';
import { createArgon2idHasher } from '../../src/core/password-hasher.js';
import { createMemoryLimiter, DEFAULT_ACCOUNT_POLICY } from '../../src/core/throttle.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { deriveKey, unseal } from '../../src/tokens/seal.js';

// The in-process world the fuzz properties run in: `auth.handle(new Request(...))` on the memory
// store, with a cheap argon2id (the cost is not what is fuzzed) and throttles that never close
// (so generated logins reach the password check instead of stopping at 429).

/** Each property's run count in `npm test`, times `FUZZ_SCALE` (`npm run fuzz` sets 25). */
export function runs(base: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? '1');
  return Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** fast-check parameters: the run count, and `FUZZ_SEED` to replay a failure. */
export function fuzzParameters(base: number): { numRuns: number; seed?: number } {
  const seed = process.env.FUZZ_SEED;
  return { numRuns: runs(base), ...(seed ? { seed: Number(seed) } : {}) };
}

/** A test timeout that grows with the run count. */
export const timeoutFor = (base: number, msPerRun: number): number => Math.max(20_000, runs(base) * msPerRun * 3);

/**
 * Runs a side-effect-free call and expects it under `limitMs`. A call over the limit is timed
 * again, up to twice, and the fastest counts: slowness that the input causes (backtracking,
 * super-linear parsing) repeats, a pause of this shared 2-core machine (another test file hashing
 * passwords, a collection) does not. Returns the first call's result.
 */
export async function quickly<T>(call: () => Promise<T>, limitMs: number): Promise<T> {
  let started = performance.now();
  const result = await call();
  let fastest = performance.now() - started;
  for (let again = 0; again < 2 && fastest >= limitMs; again += 1) {
    started = performance.now();
    await call();
    fastest = Math.min(fastest, performance.now() - started);
  }
  expect(fastest).toBeLessThan(limitMs);
  return result;
}

export const ORIGIN = 'http://localhost:3000';
export const SESSION_COOKIE = '__Host-coatcheck.sid';
export const REFRESH_COOKIE = '__Secure-coatcheck.rt';
const SECRET = 'fuzz-world-secret-0123456789abcdef0123456789';

export interface FuzzWorld {
  auth: Auth;
  clock: ReturnType<typeof createManualClock>;
  /** `internal_error` events logged: must stay empty (no exception escapes into a 500). */
  internalErrors: unknown[];
  victim: {
    email: string;
    password: string;
    userId: string;
    cookie: string;
    accessToken: string;
    refreshToken: string;
  };
  /** Our current signing key, unsealed (to sign fuzzed claims "as us"). */
  key: { kid: string; alg: string; key: KeyObject };
  issuer: string;
}

export interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
  ms: number;
}

export async function handle(
  world: FuzzWorld,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<Answer> {
  const withBody = init.body !== undefined && method !== 'GET' && method !== 'HEAD';
  const started = performance.now();
  const response = await world.auth.handle(
    new Request(`${ORIGIN}${path}`, {
      method,
      headers: init.headers ?? {},
      ...(withBody ? { body: init.body as BodyInit } : {}),
    }),
    { clientAddress: '127.0.0.1' },
  );
  const text = await response.text();
  const ms = performance.now() - started;
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, headers: response.headers, ms };
}

export const KNOWN_CODES = new Set([
  'invalid_request',
  'invalid_json',
  'unsupported_media_type',
  'payload_too_large',
  'weak_password',
  'email_taken',
  'invalid_credentials',
  'unauthenticated',
  'invalid_token',
  'invalid_refresh_token',
  'refresh_token_reused',
  'ambiguous_credentials',
  'forbidden',
  'csrf_rejected',
  'not_found',
  'method_not_allowed',
  'too_many_attempts',
]);

/** What every answer to generated input must be: a 4xx with a stable code (or a 2xx), quickly. */
export function expectWellFormed(answer: Answer, limitMs = 1000): void {
  expect(answer.status).toBeLessThan(500);
  if (answer.status >= 400 && answer.body !== undefined) expect(KNOWN_CODES).toContain(answer.body.code);
  expect(answer.text).not.toMatch(/node_modules|\bat [\w.<>]+ \(|ZodError|SyntaxError|TypeError/);
  expect(answer.ms).toBeLessThan(limitMs);
}

export async function createFuzzWorld(): Promise<FuzzWorld> {
  const clock = createManualClock(Date.now());
  const internalErrors: unknown[] = [];
  const open = createMemoryLimiter({ ...DEFAULT_ACCOUNT_POLICY, freeAttempts: 1_000_000_000 });
  const auth = createAuth({
    store: createMemoryStore(),
    origin: ORIGIN,
    clock,
    passwordHasher: createArgon2idHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }),
    limiters: { account: open, address: open, registration: open },
    logger: {
      info: () => undefined,
      warn: () => undefined,
      error: (fields) => {
        if (fields.event === 'internal_error') internalErrors.push(fields);
      },
    },
    tokens: { secret: SECRET },
    purgeInterval: 0,
  });
  await auth.ready();
  const email = 'victim@example.com';
  const password = 'the victim passphrase';
  const user = await auth.createUser({ email, password });
  const world = { auth, clock, internalErrors } as FuzzWorld;
  const json = { 'Content-Type': 'application/json', Origin: ORIGIN };
  const session = await handle(world, 'POST', '/auth/login', {
    headers: json,
    body: JSON.stringify({ email, password }),
  });
  const native = await handle(world, 'POST', '/auth/login', {
    headers: json,
    body: JSON.stringify({ email, password, mode: 'native' }),
  });
  const cookie = /__Host-coatcheck\.sid=([^;]+)/.exec(session.headers.get('set-cookie') ?? '')![1]!;
  const current = auth.tokens!.ring.current();
  const jwk = JSON.parse(
    (await unseal(current.record.privateJwkSealed, deriveKey(SECRET, 'signing-key-seal')))!,
  ) as JWK;
  return Object.assign(world, {
    victim: {
      email,
      password,
      userId: user.id,
      cookie,
      accessToken: native.body.accessToken as string,
      refreshToken: native.body.refreshToken as string,
    },
    key: { kid: current.kid, alg: current.alg, key: createPrivateKey({ key: jwk as never, format: 'jwk' }) },
    issuer: ORIGIN,
  });
}

/** `text` as an HTTP header value can carry it (Latin-1, no NUL, CR or LF), and as the server then reads it. */
export function headerSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = text.replace(/[^\u0001-\u0009\u000b\u000c\u000e-\u00ff]/g, '');
  return new Headers({ 'x-value': cleaned }).get('x-value') ?? '';
}

/** The decoded bytes of a compact JWS's three parts (base64url has slack in its last character). */
export function decodedParts(token: string): string[] | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) return null;
  return parts.map((part) => Buffer.from(part, 'base64url').toString('hex'));
}
