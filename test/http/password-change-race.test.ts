import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArgon2idHasher, type PasswordHasher } from '../../src/core/password-hasher.js';
import { call, registerAndLogin, sessionCookieOf, startTestServer, type TestServer } from '../helpers/server.js';

// A login that checks the old password while that password is being changed: the change ends
// every other session, so the login's must not survive it, however the two overlap. The hasher
// holds one verification (the login's) until the change has finished: the real order of events
// when an attacker who knows the old password keeps logging in while its owner changes it.

const NEW_PASSWORD = 'a brand new passphrase';
const real = createArgon2idHasher({ memoryCost: 19456, timeCost: 1, parallelism: 1 });
let held: { password: string; reached: () => void; release: Promise<void> } | undefined;
let rehashEverything = false;
let verifications = 0;

const holdingHasher: PasswordHasher = {
  hash: (password) => real.hash(password),
  needsRehash: (hash) => rehashEverything || real.needsRehash(hash),
  async verify(hash, password) {
    verifications += 1;
    const verdict = await real.verify(hash, password);
    const gate = held;
    if (gate && gate.password === password) {
      held = undefined;
      gate.reached();
      await gate.release;
    }
    return verdict;
  },
};

/** Arms the hold for the next verification of `password`; resolves once one is held. */
function holdNextVerification(password: string): { reached: Promise<void>; release: () => void } {
  let reached!: () => void;
  let release!: () => void;
  const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
  held = { password, reached, release: new Promise<void>((resolve) => (release = resolve)) };
  return { reached: reachedPromise, release };
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ passwordHasher: holdingHasher });
});
afterAll(async () => {
  await server.stop();
});

async function changePassword(session: string, currentPassword: string): Promise<number> {
  const reply = await call(server, 'POST', '/auth/password', {
    session,
    json: { currentPassword, newPassword: NEW_PASSWORD },
  });
  return reply.status;
}

describe('a login with the old password, overlapping a password change', () => {
  for (const mode of ['session', 'native'] as const) {
    it(`${mode} mode: is refused, and leaves no session behind`, async () => {
      const owner = await registerAndLogin(server);
      const gate = holdNextVerification(owner.password);
      const attacker = call(server, 'POST', '/auth/login', {
        json: { email: owner.email, password: owner.password, mode },
      });
      await gate.reached;
      expect(await changePassword(owner.session, owner.password)).toBe(204);
      gate.release();
      const reply = await attacker;
      expect([reply.status, reply.body.code, reply.cookies]).toEqual([401, 'invalid_credentials', []]);
      const left = await server.store.sessions.listByUser(owner.userId);
      expect(left.map((session) => session.id)).toEqual([owner.login.body.session.id]);
    });
  }

  it('a login whose session is made between the change ending the others and storing the hash is ended too', async () => {
    const owner = await registerAndLogin(server);
    const users = server.store.users;
    const update = users.updatePasswordHash.bind(users);
    let stored!: () => void;
    const storing = new Promise<void>((resolve) => (stored = resolve));
    let proceed!: () => void;
    const proceeding = new Promise<void>((resolve) => (proceed = resolve));
    // The change's write of the new hash waits until the login has answered.
    users.updatePasswordHash = async (...args) => {
      stored();
      await proceeding;
      return update(...args);
    };
    try {
      const gate = holdNextVerification(owner.password);
      const attacker = call(server, 'POST', '/auth/login', { json: { email: owner.email, password: owner.password } });
      await gate.reached;
      const change = changePassword(owner.session, owner.password);
      await storing;
      gate.release();
      // Made after the others ended, checked before the new hash exists: it gets its cookie...
      const reply = await attacker;
      expect(reply.status).toBe(200);
      proceed();
      expect(await change).toBe(204);
      // ...and the change, once done, has ended it.
      expect((await call(server, 'GET', '/auth/me', { session: sessionCookieOf(reply)! })).status).toBe(401);
    } finally {
      users.updatePasswordHash = update;
    }
  });

  it('a rehash of the old password, due at that login, does not undo the change', async () => {
    const owner = await registerAndLogin(server);
    rehashEverything = true;
    try {
      const gate = holdNextVerification(owner.password);
      const attacker = call(server, 'POST', '/auth/login', { json: { email: owner.email, password: owner.password } });
      await gate.reached;
      expect(await changePassword(owner.session, owner.password)).toBe(204);
      gate.release();
      expect((await attacker).status).toBe(401);
    } finally {
      rehashEverything = false;
    }
    const login = (password: string) => call(server, 'POST', '/auth/login', { json: { email: owner.email, password } });
    expect((await login(owner.password)).status).toBe(401);
    expect((await login(NEW_PASSWORD)).status).toBe(200);
  });

  it('a login that is not overlapped by any change is not slowed by a second verification', async () => {
    const owner = await registerAndLogin(server);
    verifications = 0;
    const reply = await call(server, 'POST', '/auth/login', { json: { email: owner.email, password: owner.password } });
    expect([reply.status, verifications]).toEqual([200, 1]);
  });
});

/** Makes the next call of `object[method]` wait until released; resolves `reached` when it is called. */
function holdNextCall<T extends object, K extends keyof T>(object: T, method: K) {
  const original = object[method] as (...args: unknown[]) => Promise<unknown>;
  let reached!: () => void;
  let release!: () => void;
  const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  (object as Record<K, unknown>)[method] = async (...args: unknown[]) => {
    (object as Record<K, unknown>)[method] = original;
    reached();
    await released;
    return original.apply(object, args);
  };
  return { reached: reachedPromise, release };
}

describe('a login overlapping "log out everywhere"', () => {
  it('native mode: ended before its refresh family is stored, it is 401 unauthenticated (not a 500)', async () => {
    const owner = await registerAndLogin(server);
    const gate = holdNextCall(server.store.refreshFamilies, 'create');
    const login = call(server, 'POST', '/auth/login', {
      json: { email: owner.email, password: owner.password, mode: 'native' },
    });
    await gate.reached;
    expect((await call(server, 'POST', '/auth/logout-all', { session: owner.session })).status).toBe(204);
    gate.release();
    const reply = await login;
    expect([reply.status, reply.body.code, reply.body.accessToken]).toEqual([401, 'unauthenticated', undefined]);
    expect(await server.store.sessions.listByUser(owner.userId)).toEqual([]);
  });

  it('session mode: ended before the login answers, it is 401 unauthenticated with no cookie', async () => {
    const owner = await registerAndLogin(server);
    // The login's second look at the user, after its session exists.
    const gate = holdNextCall(server.store.users, 'findById');
    const login = call(server, 'POST', '/auth/login', { json: { email: owner.email, password: owner.password } });
    await gate.reached;
    expect((await call(server, 'POST', '/auth/logout-all', { session: owner.session })).status).toBe(204);
    gate.release();
    const reply = await login;
    expect([reply.status, reply.body.code, reply.cookies]).toEqual([401, 'unauthenticated', []]);
    expect(await server.store.sessions.listByUser(owner.userId)).toEqual([]);
  });
});
