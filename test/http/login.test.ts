import type { SqliteStore } from '../../src/stores/sqlite/index.js';
import { createHash } from 'node:crypto';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArgon2idHasher, type PasswordHasher } from '../../src/core/password-hasher.js';
import {
  call,
  PASSWORD,
  registerAndLogin,
  SESSION_COOKIE,
  sessionCookieOf,
  startTestServer,
  uniqueEmail,
  type TestServer,
} from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

describe('POST /auth/login (session mode)', () => {
  it('sets the session cookie with exactly the flags of API.md and returns the public session id', async () => {
    const { login, session, userId } = await registerAndLogin(server);
    expect(login.status).toBe(200);
    const cookie = login.cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(cookie).toMatch(
      /^__Host-coatcheck\.sid=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=604800; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(login.body.user.id).toBe(userId);
    expect(login.body.session.id).toMatch(/^ses_/);
    expect(login.body.session.id).not.toBe(session);
    expect(login.text).not.toContain(session);
    expect(new Date(login.body.session.expiresAt).getTime()).toBe(server.clock.now() + 24 * 3600 * 1000);
  });

  it('stores only the SHA-256 of the cookie secret', async () => {
    const { session, login } = await registerAndLogin(server);
    const record = await server.store.sessions.findById(login.body.session.id);
    expect(record?.secretHash).toBe(createHash('sha256').update(session).digest('base64url'));
    const file = (server.store as SqliteStore).database.prepare('SELECT * FROM sessions').all();
    expect(JSON.stringify(file)).not.toContain(session);
  });

  it('issues a new, different session ID at every login', async () => {
    const { email, password, session } = await registerAndLogin(server);
    const again = await call(server, 'POST', '/auth/login', { json: { email, password } });
    const second = sessionCookieOf(again);
    expect(second).toBeDefined();
    expect(second).not.toBe(session);
  });

  it('never adopts a session ID the client chose (fixation), and drops a previous valid one', async () => {
    const { email, password, session: previous } = await registerAndLogin(server);
    const chosen = 'A'.repeat(43);
    const reply = await call(server, 'POST', '/auth/login', { json: { email, password }, session: chosen });
    const issued = sessionCookieOf(reply)!;
    expect(issued).not.toBe(chosen);
    expect((await call(server, 'GET', '/auth/me', { session: chosen })).status).toBe(401);
    // The browser's previous session (sent along with the login) is ended, not left behind.
    const replaced = await call(server, 'POST', '/auth/login', { json: { email, password }, session: previous });
    expect(replaced.status).toBe(200);
    expect((await call(server, 'GET', '/auth/me', { session: previous })).status).toBe(401);
  });

  it('logs in with the email in another case and with surrounding spaces', async () => {
    const email = uniqueEmail();
    await call(server, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
    const reply = await call(server, 'POST', '/auth/login', {
      json: { email: ` ${email.toUpperCase()} `, password: PASSWORD },
    });
    expect(reply.status).toBe(200);
  });

  it('treats composed and decomposed forms of a password as the same password (NFKC)', async () => {
    const email = uniqueEmail();
    const composed = 'caf\u00e9 au lait noir';
    const decomposed = 'cafe\u0301 au lait noir';
    expect((await call(server, 'POST', '/auth/register', { json: { email, password: composed } })).status).toBe(201);
    expect((await call(server, 'POST', '/auth/login', { json: { email, password: decomposed } })).status).toBe(200);
  });

  it('answers unknown email and wrong password identically: status, headers that matter, and body', async () => {
    const { email } = await registerAndLogin(server);
    const wrong = await call(server, 'POST', '/auth/login', { json: { email, password: 'not the right password' } });
    const unknown = await call(server, 'POST', '/auth/login', {
      json: { email: uniqueEmail('ghost'), password: 'not the right password' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.text).toBe(wrong.text);
    expect(unknown.headers.get('www-authenticate')).toBe(wrong.headers.get('www-authenticate'));
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="coatcheck"');
    expect(wrong.cookies).toEqual([]);
    expect(unknown.cookies).toEqual([]);
  });

  it('verifies a (dummy) password hash for unknown emails too, so a miss costs what a hit costs', async () => {
    // Counted, not timed: the timing itself is measured in the attack catalogue (row L02).
    const real = createArgon2idHasher();
    let verifications = 0;
    const counting: PasswordHasher = {
      hash: (password) => real.hash(password),
      needsRehash: (hash) => real.needsRehash(hash),
      verify: (hash, password) => {
        verifications += 1;
        return real.verify(hash, password);
      },
    };
    const counted = await startTestServer({ passwordHasher: counting });
    try {
      const { email } = await registerAndLogin(counted);
      verifications = 0;
      await call(counted, 'POST', '/auth/login', { json: { email, password: 'not the right password' } });
      expect(verifications).toBe(1);
      await call(counted, 'POST', '/auth/login', {
        json: { email: uniqueEmail('nobody'), password: 'not the right password' },
      });
      expect(verifications).toBe(2);
    } finally {
      await counted.stop();
    }
  });

  it('upgrades a legacy bcrypt hash to argon2id on the next successful login', async () => {
    const email = uniqueEmail('legacy');
    const now = server.clock.now();
    await server.store.users.create({
      id: `usr_legacy${Date.now()}`,
      email,
      name: null,
      role: 'user',
      passwordHash: await bcryptHash('legacy passphrase 1', { cost: 4 }),
      createdAt: now,
      updatedAt: now,
    });
    expect((await call(server, 'POST', '/auth/login', { json: { email, password: 'wrong passphrase' } })).status).toBe(
      401,
    );
    expect((await server.store.users.findByEmail(email))?.passwordHash).toMatch(/^\$2[aby]\$/);
    expect(
      (await call(server, 'POST', '/auth/login', { json: { email, password: 'legacy passphrase 1' } })).status,
    ).toBe(200);
    expect((await server.store.users.findByEmail(email))?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(
      (await call(server, 'POST', '/auth/login', { json: { email, password: 'legacy passphrase 1' } })).status,
    ).toBe(200);
  });

  it('answers 400 invalid_request for bad bodies and 401 for a 10 KiB password, without creating a session', async () => {
    const { email, userId } = await registerAndLogin(server);
    const before = (await server.store.sessions.listByUser(userId)).length;
    for (const json of [
      { email },
      { email, password: 1 },
      { email, password: PASSWORD, extra: true },
      { email: 'nope', password: PASSWORD },
      { email, password: PASSWORD, mode: 'cookie' },
    ]) {
      const reply = await call(server, 'POST', '/auth/login', { json });
      expect([reply.status, reply.body.code]).toEqual([400, 'invalid_request']);
    }
    const long = await call(server, 'POST', '/auth/login', { json: { email, password: 'p'.repeat(10 * 1024) } });
    expect([long.status, long.body.code]).toEqual([401, 'invalid_credentials']);
    expect((await server.store.sessions.listByUser(userId)).length).toBe(before);
  });

  it('refuses login CSRF: a foreign Origin or a cross-site Sec-Fetch-Site gets 403 and no cookie', async () => {
    const { email, password } = await registerAndLogin(server);
    const foreign: Record<string, string>[] = [
      { Origin: 'https://evil.example' },
      { Origin: 'null' },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
    ];
    for (const headers of foreign) {
      const reply = await call(server, 'POST', '/auth/login', { json: { email, password }, origin: null, headers });
      expect([reply.status, reply.body.code]).toEqual([403, 'csrf_rejected']);
      expect(reply.cookies).toEqual([]);
    }
    // A client that is not a browser sends neither header, and may log in.
    const curl = await call(server, 'POST', '/auth/login', { json: { email, password }, origin: null });
    expect(curl.status).toBe(200);
  });
});

describe('login throttling', () => {
  it('per account: 429 with Retry-After after 5 failures, also for the right password, and never permanent', async () => {
    const { email, password } = await registerAndLogin(server);
    for (let i = 0; i < 5; i++) {
      expect(
        (await call(server, 'POST', '/auth/login', { json: { email, password: `guess number ${i}` } })).status,
      ).toBe(401);
    }
    const sixth = await call(server, 'POST', '/auth/login', { json: { email, password: 'guess number 6' } });
    expect(sixth.status).toBe(401); // the 6th failure is answered, then delays start
    const blocked = await call(server, 'POST', '/auth/login', { json: { email, password } });
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('too_many_attempts');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Another account from the same address is not blocked by this account's failures.
    const other = await registerAndLogin(server);
    expect(other.login.status).toBe(200);
    server.clock.advance(retryAfter * 1000);
    expect((await call(server, 'POST', '/auth/login', { json: { email, password } })).status).toBe(200);
  });

  it('per address: many accounts tried from one address are slowed down too', async () => {
    const fresh = await startTestServer();
    try {
      let status = 0;
      for (let i = 0; i < 25 && status !== 429; i++) {
        status = (
          await call(fresh, 'POST', '/auth/login', {
            json: { email: uniqueEmail('spray'), password: 'spray password' },
          })
        ).status;
      }
      expect(status).toBe(429);
      fresh.clock.advance(16 * 60 * 1000);
      const after = await call(fresh, 'POST', '/auth/login', {
        json: { email: uniqueEmail('spray'), password: 'spray password' },
      });
      expect(after.status).toBe(401);
    } finally {
      await fresh.stop();
    }
  });

  it('guesses sent together are counted before they are checked: 6 of 40 are checked, the rest 429', async () => {
    const fresh = await startTestServer();
    try {
      const { email, password } = await registerAndLogin(fresh);
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          call(fresh, 'POST', '/auth/login', { json: { email, password: `parallel guess ${i}` } }),
        ),
      );
      const statuses = replies.map((reply) => reply.status).sort();
      expect(statuses).toEqual([...Array<number>(6).fill(401), ...Array<number>(34).fill(429)]);
      // The refused ones were not counted against the address: another account logs in at once.
      const other = await registerAndLogin(fresh);
      expect(other.login.status).toBe(200);
      fresh.clock.advance(2_000);
      expect((await call(fresh, 'POST', '/auth/login', { json: { email, password } })).status).toBe(200);
    } finally {
      await fresh.stop();
    }
  });

  it('logins that succeed do not use up the address allowance (each is counted, then given back)', async () => {
    const fresh = await startTestServer();
    try {
      const { email, password } = await registerAndLogin(fresh);
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        statuses.push((await call(fresh, 'POST', '/auth/login', { json: { email, password } })).status);
      }
      expect(new Set(statuses)).toEqual(new Set([200]));
    } finally {
      await fresh.stop();
    }
  });
});
