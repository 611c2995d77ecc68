import Database from 'better-sqlite3';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth, type Auth } from '../../src/create-auth.js';
import { createManualClock } from '../../src/core/clock.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { createArgon2idHasher } from '../../src/core/password-hasher.js';
import { hashSecret } from '../../src/core/random.js';
import { createApp } from '../../src/server/app.js';
import { createSqliteNotes } from '../../src/server/notes.js';
import type { Store } from '../../src/store/types.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';

// Fault injection (SECURITY.md 15): a real SQLite store behind a proxy that makes its N-th call
// fail, for every N a request makes, in four ways. The request must fail closed (503
// store_unavailable, or 500 for a store that breaks its contract with a plain Error; never a 2xx,
// never a credential), and what is left in the store must be whole: a failed register leaves no
// user, a failed rotation leaves the old token usable or the family revoked, never two live
// successors, and the client's retry recovers.

const ORIGIN = 'http://localhost:3000';
const PASSWORD = 'correct horse battery staple';

/**
 * - `unavailable`: refused before it happens (connection refused).
 * - `timeout`: the driver gives up after a while; the operation did not happen.
 * - `lost-ack`: the operation happened, then the connection died before the answer.
 * - `crash`: a store bug, a plain Error instead of `StoreUnavailableError`.
 */
const KINDS = ['unavailable', 'timeout', 'lost-ack', 'crash'] as const;
type FaultKind = (typeof KINDS)[number];

interface FaultPlan {
  calls: string[];
  armed: { at: number; kind: FaultKind } | null;
}

/** Wraps every part of `inner` so that the `plan.armed.at`-th call (counted from arming) fails. */
function withFaults(inner: Store, plan: FaultPlan): Store {
  const wrap = <T extends object>(part: T, name: string): T =>
    new Proxy(part, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const index = plan.calls.push(`${name}.${String(property)}`) - 1;
          const kind = plan.armed?.at === index ? plan.armed.kind : null;
          const run = () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (kind === 'unavailable') throw new StoreUnavailableError('connection refused (injected)');
          if (kind === 'timeout') {
            await new Promise((resolve) => setTimeout(resolve, 20));
            throw new StoreUnavailableError('timed out (injected)');
          }
          if (kind === 'crash') throw new Error('driver exploded (injected)');
          const result = await run();
          if (kind === 'lost-ack') throw new StoreUnavailableError('connection reset after the write (injected)');
          return result;
        };
      },
    });
  return {
    users: wrap(inner.users, 'users'),
    sessions: wrap(inner.sessions, 'sessions'),
    refreshFamilies: wrap(inner.refreshFamilies, 'refreshFamilies'),
    signingKeys: wrap(inner.signingKeys, 'signingKeys'),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

interface World {
  auth: Auth;
  db: Database.Database;
  plan: FaultPlan;
  clock: ReturnType<typeof createManualClock>;
}

function createWorld(): World {
  const db = new Database(':memory:');
  const plan: FaultPlan = { calls: [], armed: null };
  const clock = createManualClock(Date.now());
  const auth = createAuth({
    store: withFaults(createSqliteStore({ database: db }), plan),
    origin: ORIGIN,
    clock,
    passwordHasher: createArgon2idHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }),
    tokens: { secret: 'fault-injection-secret-0123456789abcdef' },
    purgeInterval: 0,
  });
  return { auth, db, plan, clock };
}

interface Answer {
  status: number;
  body: any;
  cookies: string[];
}

async function request(
  world: World,
  method: string,
  path: string,
  options: { json?: unknown; cookie?: string; bearer?: string } = {},
): Promise<Answer> {
  const headers = new Headers({ Origin: ORIGIN });
  if (options.json !== undefined) headers.set('Content-Type', 'application/json');
  if (options.cookie) headers.set('Cookie', options.cookie);
  if (options.bearer) headers.set('Authorization', `Bearer ${options.bearer}`);
  const response = await world.auth.handle(
    new Request(`${ORIGIN}${path}`, {
      method,
      headers,
      ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
    }),
    { clientAddress: '127.0.0.1' },
  );
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : undefined,
    cookies: response.headers.getSetCookie(),
  };
}

const cookieValue = (answer: Answer, name: string): string | undefined =>
  answer.cookies.find((c) => c.startsWith(`${name}=`))?.split(';', 1)[0];

let counter = 0;
async function user(world: World): Promise<{ email: string; id: string }> {
  const email = `fault${++counter}@example.com`;
  const created = await world.auth.createUser({ email, password: PASSWORD });
  return { email, id: created.id };
}

async function login(world: World, email: string, mode: 'session' | 'token' | 'native' = 'session') {
  const answer = await request(world, 'POST', '/auth/login', { json: { email, password: PASSWORD, mode } });
  expect(answer.status).toBe(200);
  return {
    answer,
    cookie: cookieValue(answer, '__Host-coatcheck.sid'),
    refreshCookie: cookieValue(answer, '__Secure-coatcheck.rt'),
    accessToken: answer.body.accessToken as string | undefined,
    refreshToken: answer.body.refreshToken as string | undefined,
    sessionId: (answer.body.session?.id as string | undefined) ?? undefined,
  };
}

/** Token devices whose refresh family is missing: a device nobody can ever refresh. */
const orphanTokenSessions = (world: World, userId: string): unknown[] =>
  world.db
    .prepare(
      `SELECT s.id FROM sessions s LEFT JOIN refresh_families f ON f.session_id = s.id
       WHERE s.user_id = ? AND s.method = 'token' AND f.id IS NULL`,
    )
    .all(userId);

interface Scenario<State> {
  name: string;
  ok: number;
  prepare(world: World): Promise<State>;
  act(world: World, state: State): Promise<Answer>;
  /** With faults off: the records are whole, and the client's retry gets it done. */
  recover(world: World, state: State, fault: { kind: FaultKind; call: string }): Promise<void>;
}

// Infers each scenario's state type from its `prepare`.
const scenario = <State>(s: Scenario<State>): Scenario<unknown> => s;

const SCENARIOS: Scenario<unknown>[] = [
  scenario({
    name: 'POST /auth/register',
    ok: 201,
    prepare: () => Promise.resolve({ email: `fault-register${++counter}@example.com` }),
    act: (world, { email }) => request(world, 'POST', '/auth/register', { json: { email, password: PASSWORD } }),
    async recover(world, { email }, fault) {
      const stored = await world.auth.options.store.users.findByEmail(email);
      if (fault.kind === 'lost-ack') {
        // The insert happened before the connection died: the account is whole and usable.
        expect(stored?.passwordHash).toMatch(/^\$argon2id\$/);
        expect((await request(world, 'POST', '/auth/login', { json: { email, password: PASSWORD } })).status).toBe(200);
      } else {
        expect(stored).toBeNull();
        const retry = await request(world, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
        expect(retry.status).toBe(201);
      }
    },
  }),
  ...(['session', 'token', 'native'] as const).map((mode) =>
    scenario({
      name: `POST /auth/login (${mode} mode)`,
      ok: 200,
      prepare: (world) => user(world),
      act: (world, { email }) => request(world, 'POST', '/auth/login', { json: { email, password: PASSWORD, mode } }),
      async recover(world, { email, id }, fault) {
        const sessions = await world.auth.options.store.sessions.listByUser(id);
        if (fault.kind !== 'lost-ack') expect(sessions).toEqual([]);
        // A session row whose insert succeeded but whose answer was lost cannot be told apart from
        // a failed insert without an atomic session-and-family write in the store (not there yet):
        // it holds no credential and ends with its idle deadline. Every other fault leaves no orphan.
        if (!(fault.kind === 'lost-ack' && fault.call === 'sessions.create')) {
          expect(orphanTokenSessions(world, id)).toEqual([]);
        }
        expect(
          (await request(world, 'POST', '/auth/login', { json: { email, password: PASSWORD, mode } })).status,
        ).toBe(200);
      },
    }),
  ),
  ...(['token', 'native'] as const).map((mode) =>
    scenario({
      name: `POST /auth/refresh (${mode} mode)`,
      ok: 200,
      async prepare(world) {
        const { email, id } = await user(world);
        const done = await login(world, email, mode);
        return { id, token: (done.refreshCookie?.split('=')[1] ?? done.refreshToken)! };
      },
      act: (world, { token }) =>
        mode === 'token'
          ? request(world, 'POST', '/auth/refresh', { cookie: `__Secure-coatcheck.rt=${token}` })
          : request(world, 'POST', '/auth/refresh', { json: { refreshToken: token } }),
      async recover(world, { token }) {
        // The client retries at once with the token it still holds (inside the grace window).
        const retry = await request(world, 'POST', '/auth/refresh', { json: { refreshToken: token } });
        expect(retry.status).toBe(200);
        const successor = retry.body.refreshToken as string;
        const family = await world.auth.options.store.refreshFamilies.findByTokenHash(hashSecret(successor));
        // One chain: whichever request rotated, the successor the client holds is the only live token.
        expect([family?.generation, family?.currentHash]).toEqual([1, hashSecret(successor)]);
        world.clock.advance(11_000);
        expect((await request(world, 'POST', '/auth/refresh', { json: { refreshToken: successor } })).status).toBe(200);
      },
    }),
  ),
  scenario({
    name: 'POST /auth/logout (session cookie)',
    ok: 204,
    async prepare(world) {
      const { email } = await user(world);
      return { cookie: (await login(world, email)).cookie! };
    },
    act: (world, { cookie }) => request(world, 'POST', '/auth/logout', { cookie }),
    async recover(world, { cookie }) {
      const retry = await request(world, 'POST', '/auth/logout', { cookie });
      expect(retry.status).toBe(204);
      expect((await request(world, 'GET', '/auth/me', { cookie })).status).toBe(401);
    },
  }),
  scenario({
    name: 'POST /auth/logout-all (two devices)',
    ok: 204,
    async prepare(world) {
      const { email, id } = await user(world);
      return { id, cookie: (await login(world, email)).cookie!, other: (await login(world, email)).cookie! };
    },
    act: (world, { cookie }) => request(world, 'POST', '/auth/logout-all', { cookie }),
    async recover(world, { id, cookie, other }) {
      // Atomic: both devices or neither.
      const alive = [
        (await request(world, 'GET', '/auth/me', { cookie })).status,
        (await request(world, 'GET', '/auth/me', { cookie: other })).status,
      ];
      expect([
        [200, 200],
        [401, 401],
      ]).toContainEqual(alive);
      if (alive[0] === 200) expect((await request(world, 'POST', '/auth/logout-all', { cookie })).status).toBe(204);
      expect(await world.auth.options.store.sessions.listByUser(id)).toEqual([]);
    },
  }),
  scenario({
    name: 'GET /auth/me (session cookie, due for an activity write)',
    ok: 200,
    async prepare(world) {
      const { email } = await user(world);
      const { cookie } = await login(world, email);
      world.clock.advance(61_000);
      return { cookie: cookie! };
    },
    act: (world, { cookie }) => request(world, 'GET', '/auth/me', { cookie }),
    async recover(world, { cookie }) {
      expect((await request(world, 'GET', '/auth/me', { cookie })).status).toBe(200);
    },
  }),
  scenario({
    name: 'GET /auth/me (bearer, strict)',
    ok: 200,
    async prepare(world) {
      const { email } = await user(world);
      return { token: (await login(world, email, 'native')).accessToken! };
    },
    act: (world, { token }) => request(world, 'GET', '/auth/me', { bearer: token }),
    async recover(world, { token }) {
      expect((await request(world, 'GET', '/auth/me', { bearer: token })).status).toBe(200);
    },
  }),
  scenario({
    name: 'DELETE /auth/sessions/:id (another device of mine)',
    ok: 204,
    async prepare(world) {
      const { email } = await user(world);
      const mine = await login(world, email);
      const other = await login(world, email);
      return { cookie: mine.cookie!, other: other.cookie!, otherId: other.sessionId! };
    },
    act: (world, { cookie, otherId }) => request(world, 'DELETE', `/auth/sessions/${otherId}`, { cookie }),
    async recover(world, { cookie, other, otherId }) {
      const retry = await request(world, 'DELETE', `/auth/sessions/${otherId}`, { cookie });
      expect([204, 404]).toContain(retry.status);
      expect((await request(world, 'GET', '/auth/me', { cookie: other })).status).toBe(401);
      expect((await request(world, 'GET', '/auth/me', { cookie })).status).toBe(200);
    },
  }),
  scenario({
    name: 'POST /auth/password (another device must end with the old password)',
    ok: 204,
    async prepare(world) {
      const { email } = await user(world);
      return { email, cookie: (await login(world, email)).cookie!, other: (await login(world, email)).cookie! };
    },
    act: (world, { cookie }) =>
      request(world, 'POST', '/auth/password', {
        cookie,
        json: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
      }),
    async recover(world, { email, other }) {
      const changed =
        (await request(world, 'POST', '/auth/login', { json: { email, password: 'a brand new passphrase' } }))
          .status === 200;
      const otherAlive = (await request(world, 'GET', '/auth/me', { cookie: other })).status === 200;
      // Never the new password with the old device still in: the user changed it to shut that device out.
      expect({ changed, otherAlive }).not.toEqual({ changed: true, otherAlive: true });
    },
  }),
];

const credentialsIn = (answer: Answer): string[] =>
  answer.cookies.filter((c) => !/=;/.test(c)).concat(answer.body?.accessToken ? ['accessToken'] : []);

describe('fault injection: every store call of every request fails in turn, four ways', () => {
  const world = createWorld();
  beforeAll(() => world.auth.ready());
  afterAll(async () => {
    await world.auth.close();
    world.db.close();
  });

  for (const s of SCENARIOS) {
    it(`${s.name}: fails closed at each store call, leaves whole records, and the retry recovers`, async () => {
      // A clean run tells how many store calls the request makes.
      const clean = await s.prepare(world);
      world.plan.calls = [];
      expect((await s.act(world, clean)).status).toBe(s.ok);
      const calls = [...world.plan.calls];
      expect(calls.length).toBeGreaterThan(0);

      for (const [at, call] of calls.entries()) {
        for (const kind of KINDS) {
          const state = await s.prepare(world);
          world.plan.calls = [];
          world.plan.armed = { at, kind };
          let answer: Answer;
          try {
            answer = await s.act(world, state);
          } finally {
            world.plan.armed = null;
          }
          const where = `${call} (#${at}) ${kind}`;
          const expected = kind === 'crash' ? [500, 'internal_error'] : [503, 'store_unavailable'];
          expect([where, answer.status, answer.body?.code]).toEqual([where, ...expected]);
          expect([where, credentialsIn(answer)]).toEqual([where, []]);
          await s.recover(world, state, { kind, call });
        }
      }
    });
  }
});

describe('fault injection through the Express guard of coatcheck serve (real HTTP)', () => {
  const world = createWorld();
  let server: Server;
  let url: string;
  beforeAll(async () => {
    await world.auth.ready();
    const app = createApp({
      auth: world.auth,
      notes: createSqliteNotes(world.db),
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await world.auth.close();
    world.db.close();
  });

  it('answers 503 on /api/notes (cookie) and /api/admin/users (strict bearer) while the store fails, never 200', async () => {
    const { email, id } = await user(world);
    await world.auth.setRole(id, 'admin');
    const { cookie } = await login(world, email);
    const { accessToken } = await login(world, email, 'native');
    const routes: [string, Record<string, string>][] = [
      ['/api/notes', { Cookie: cookie! }],
      ['/api/admin/users', { Authorization: `Bearer ${accessToken!}` }],
    ];
    for (const [path, headers] of routes) {
      for (const kind of ['unavailable', 'timeout'] as const) {
        world.plan.calls = [];
        world.plan.armed = { at: 0, kind };
        const response = await fetch(`${url}${path}`, { headers });
        world.plan.armed = null;
        const body = (await response.json()) as { code: string };
        expect([path, kind, response.status, body.code]).toEqual([path, kind, 503, 'store_unavailable']);
      }
      expect((await fetch(`${url}${path}`, { headers })).status).toBe(200);
    }
  });
});
