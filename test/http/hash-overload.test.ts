import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuth, type Auth } from '../../src/create-auth.js';
import { createConcurrencyLimit, type ConcurrencyLimit } from '../../src/core/concurrency-limit.js';
import type { AuthLogger } from '../../src/core/logger.js';
import { createArgon2idHasher } from '../../src/core/password-hasher.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';

// Password hashing under a login flood: every verification, the unknown-email one included, takes a
// slot of the hasher's limit, and a full queue is a 503 "try again later", never a wrong password.

const ORIGIN = 'https://app.example.com';
const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

let limit: ConcurrencyLimit;
let auth: Auth;
let warnings: Record<string, unknown>[];

beforeEach(() => {
  limit = createConcurrencyLimit(1, { maxWaiting: 1 });
  warnings = [];
  const logger: AuthLogger = {
    info: () => undefined,
    warn: (fields) => warnings.push(fields),
    error: () => undefined,
  };
  auth = createAuth({
    store: createMemoryStore(),
    origin: ORIGIN,
    passwordHasher: createArgon2idHasher(CHEAP, { limit }),
    logger,
    purgeInterval: 0,
  });
});
afterEach(async () => {
  await auth.close();
});

const login = (email: string, password: string): Promise<Response> =>
  auth.handle(
    new Request(`${ORIGIN}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ email, password }),
    }),
  );

/** Fills the limit (its one slot and its one place in line) until the returned function is called. */
function saturate(): () => Promise<void> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held = [limit.run(() => gate), limit.run(() => gate)];
  expect([limit.running, limit.waiting]).toEqual([1, 1]);
  return async () => {
    release();
    await Promise.all(held);
  };
}

describe('login while password hashing is saturated', () => {
  it('an unknown email is refused like a known one: its dummy verification needs a slot too', async () => {
    await auth.createUser({ email: 'ann@example.com', password: 'a long passphrase' });
    const release = saturate();
    expect((await login('nobody@example.com', 'a long passphrase')).status).toBe(503);
    expect((await login('ann@example.com', 'a long passphrase')).status).toBe(503);
    await release();
    expect((await login('nobody@example.com', 'a long passphrase')).status).toBe(401);
    expect((await login('ann@example.com', 'a long passphrase')).status).toBe(200);
  });

  it('a full queue answers 503 store_unavailable and logs a warning without the password', async () => {
    await auth.createUser({ email: 'ann@example.com', password: 'a long passphrase' });
    const release = saturate();
    const response = await login('ann@example.com', 'a long passphrase');
    await release();
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 503, code: 'store_unavailable' });
    expect(warnings).toEqual([expect.objectContaining({ event: 'overloaded' })]);
    expect(JSON.stringify(warnings)).not.toContain('a long passphrase');
  });
});
