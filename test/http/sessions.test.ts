import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, registerAndLogin, SESSION_COOKIE, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const HOUR = 3600_000;

describe('GET /auth/me', () => {
  it('answers who the session is, and until when', async () => {
    const { session, login, email } = await registerAndLogin(server);
    const reply = await call(server, 'GET', '/auth/me', { session });
    expect(reply.status).toBe(200);
    expect(reply.body.user.email).toBe(email);
    expect(reply.body.auth).toEqual({
      method: 'session',
      sessionId: login.body.session.id,
      expiresAt: login.body.session.expiresAt,
    });
    expect(reply.headers.get('cache-control')).toBe('no-store');
  });

  it('answers 401 with WWW-Authenticate for no cookie, garbage, and a well-formed unknown ID', async () => {
    for (const session of [undefined, 'garbage', '%00%0d%0a', 'A'.repeat(43), 'a'.repeat(4096)]) {
      const reply = await call(server, 'GET', '/auth/me', session === undefined ? {} : { session });
      expect(reply.status).toBe(401);
      expect(reply.body.code).toBe('unauthenticated');
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="coatcheck"');
    }
  });

  it('tells the browser to drop a cookie that names no live session', async () => {
    const reply = await call(server, 'GET', '/auth/me', { session: 'B'.repeat(43) });
    expect(reply.cookies).toEqual([`${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`]);
  });

  it('refuses two session cookies in one request instead of picking one', async () => {
    const a = await registerAndLogin(server);
    const b = await registerAndLogin(server);
    const reply = await call(server, 'GET', '/auth/me', {
      session: a.session,
      headers: { Cookie: `${SESSION_COOKIE}=${b.session}` },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('ambiguous_credentials');
  });

  it('ignores an unprefixed cookie of the same name (cookie tossing from a subdomain)', async () => {
    const a = await registerAndLogin(server);
    const b = await registerAndLogin(server);
    const reply = await call(server, 'GET', '/auth/me', {
      session: a.session,
      headers: { Cookie: `coatcheck.sid=${b.session}` },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.user.email).toBe(a.email);
  });

  it('lets a bearer token alone decide: an invalid bearer is 401 even beside a valid cookie', async () => {
    const { session } = await registerAndLogin(server);
    for (const authorization of ['Bearer abc.def.ghi', 'bearer x', 'BEARER ' + 'a'.repeat(9000), 'Bearer']) {
      const reply = await call(server, 'GET', '/auth/me', { session, headers: { Authorization: authorization } });
      expect(reply.status).toBe(401);
      expect(reply.body.code).toBe('invalid_token');
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="coatcheck", error="invalid_token"');
    }
  });
});

describe('HEAD of the GET routes', () => {
  it('answers as GET would, headers and length, without the body; GET-only routes allow it', async () => {
    const { session } = await registerAndLogin(server);
    for (const path of ['/auth/me', '/auth/sessions']) {
      const get = await call(server, 'GET', path, { session });
      const head = await call(server, 'HEAD', path, { session });
      expect([path, head.status, head.text]).toEqual([path, 200, '']);
      expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(get.text)));
      expect(head.headers.get('cache-control')).toBe(get.headers.get('cache-control'));
    }
    const anonymous = await call(server, 'HEAD', '/auth/me');
    expect([anonymous.status, anonymous.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="coatcheck"']);
    const post = await call(server, 'POST', '/auth/me', { session });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });
});

describe('session lifetime (injected clock)', () => {
  it('activity extends the idle deadline; 24 h of inactivity ends the session', async () => {
    const { session } = await registerAndLogin(server);
    server.clock.advance(23 * HOUR);
    expect((await call(server, 'GET', '/auth/me', { session })).status).toBe(200);
    server.clock.advance(23 * HOUR); // 46 h after login, 23 h after the last activity
    expect((await call(server, 'GET', '/auth/me', { session })).status).toBe(200);
    server.clock.advance(24 * HOUR);
    expect((await call(server, 'GET', '/auth/me', { session })).status).toBe(401);
  });

  it('ends a session 7 days after login however active it is', async () => {
    const { session } = await registerAndLogin(server);
    for (let i = 0; i < 7 * 2 - 1; i++) {
      server.clock.advance(12 * HOUR);
      expect((await call(server, 'GET', '/auth/me', { session })).status).toBe(200);
    }
    server.clock.advance(12 * HOUR);
    expect((await call(server, 'GET', '/auth/me', { session })).status).toBe(401);
  });

  it('writes activity at most once a minute per session', async () => {
    const { session, login } = await registerAndLogin(server);
    const id = login.body.session.id as string;
    const first = (await server.store.sessions.findById(id))!.lastSeenAt;
    server.clock.advance(30_000);
    await call(server, 'GET', '/auth/me', { session });
    expect((await server.store.sessions.findById(id))!.lastSeenAt).toBe(first);
    server.clock.advance(31_000);
    await call(server, 'GET', '/auth/me', { session });
    expect((await server.store.sessions.findById(id))!.lastSeenAt).toBe(first + 61_000);
  });

  it('keeps a busy session alive under the shortest idle timeout serve accepts (60 s)', async () => {
    // With a touch only every 60 s, the idle deadline never moved before the session ended at it.
    const short = await startTestServer({ env: { COATCHECK_SESSION_IDLE_TTL: '60' } });
    try {
      const { session } = await registerAndLogin(short);
      for (let second = 10; second <= 180; second += 10) {
        short.clock.advance(10_000);
        expect([second, (await call(short, 'GET', '/auth/me', { session })).status]).toEqual([second, 200]);
      }
      short.clock.advance(60_000);
      expect((await call(short, 'GET', '/auth/me', { session })).status).toBe(401);
    } finally {
      await short.stop();
    }
  });

  it('purges expired sessions from the store', async () => {
    const { login } = await registerAndLogin(server);
    server.clock.advance(25 * HOUR);
    expect(await server.auth.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await server.store.sessions.findById(login.body.session.id)).toBeNull();
  });
});

describe('GET /auth/sessions and DELETE /auth/sessions/:id', () => {
  it('lists each device with its details and marks the current one', async () => {
    const first = await registerAndLogin(server, { headers: { 'User-Agent': 'Phone/1.0' } });
    const second = await call(server, 'POST', '/auth/login', {
      json: { email: first.email, password: first.password },
      headers: { 'User-Agent': 'Laptop/2.0' },
    });
    const reply = await call(server, 'GET', '/auth/sessions', { session: first.session });
    expect(reply.status).toBe(200);
    expect(reply.body.sessions).toHaveLength(2);
    const byAgent = Object.fromEntries(reply.body.sessions.map((s: { userAgent: string }) => [s.userAgent, s]));
    expect(Object.keys(byAgent).sort()).toEqual(['Laptop/2.0', 'Phone/1.0']);
    expect(byAgent['Phone/1.0']).toMatchObject({
      id: first.login.body.session.id,
      method: 'session',
      current: true,
      ip: '127.0.0.1',
    });
    expect(byAgent['Laptop/2.0']).toMatchObject({ id: second.body.session.id, current: false });
    for (const s of reply.body.sessions) {
      expect(Object.keys(s).sort()).toEqual([
        'createdAt',
        'current',
        'expiresAt',
        'id',
        'ip',
        'lastSeenAt',
        'method',
        'userAgent',
      ]);
      expect(reply.text).not.toContain(first.session);
    }
  });

  it("revokes another device at once, and 404s for unknown ids and for other users' ids", async () => {
    const me = await registerAndLogin(server);
    const myOther = await call(server, 'POST', '/auth/login', { json: { email: me.email, password: me.password } });
    const otherCookie = myOther.cookies[0]!.split(';')[0]!.split('=')[1]!;
    const stranger = await registerAndLogin(server);

    const foreign = await call(server, 'DELETE', `/auth/sessions/${stranger.login.body.session.id}`, {
      session: me.session,
    });
    expect([foreign.status, foreign.body.code]).toEqual([404, 'not_found']);
    expect((await call(server, 'GET', '/auth/me', { session: stranger.session })).status).toBe(200);
    expect((await call(server, 'DELETE', '/auth/sessions/ses_doesnotexist', { session: me.session })).status).toBe(404);
    expect((await call(server, 'DELETE', '/auth/sessions/..%2f..%2fetc', { session: me.session })).status).toBe(404);

    const revoked = await call(server, 'DELETE', `/auth/sessions/${myOther.body.session.id}`, { session: me.session });
    expect(revoked.status).toBe(204);
    expect((await call(server, 'GET', '/auth/me', { session: otherCookie })).status).toBe(401);
    expect((await call(server, 'GET', '/auth/me', { session: me.session })).status).toBe(200);
  });

  it('revoking the current session ends it and clears the cookie', async () => {
    const me = await registerAndLogin(server);
    const reply = await call(server, 'DELETE', `/auth/sessions/${me.login.body.session.id}`, { session: me.session });
    expect(reply.status).toBe(204);
    expect(reply.cookies[0]).toMatch(/Max-Age=0/);
    expect((await call(server, 'GET', '/auth/me', { session: me.session })).status).toBe(401);
  });
});

describe('POST /auth/logout and /auth/logout-all', () => {
  it('logout ends the session, clears the cookie with Max-Age=0, and is idempotent', async () => {
    const { session } = await registerAndLogin(server);
    const reply = await call(server, 'POST', '/auth/logout', { session });
    expect(reply.status).toBe(204);
    expect(reply.cookies).toEqual([
      `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`,
      '__Secure-coatcheck.rt=; Path=/auth; Max-Age=0; HttpOnly; Secure; SameSite=Strict',
    ]);
    expect((await call(server, 'GET', '/auth/me', { session })).status).toBe(401);
    expect((await call(server, 'POST', '/auth/logout', { session })).status).toBe(204);
    expect((await call(server, 'POST', '/auth/logout')).status).toBe(204);
  });

  it('logout ends the session whatever body comes with it ({} from an HTTP client, text, a bad token)', async () => {
    const bodies: { json?: unknown; raw?: string; headers?: Record<string, string> }[] = [
      { json: {} },
      { json: { refreshToken: 42 } },
      { json: { refreshToken: 'not-a-token' } },
      { raw: '{', headers: { 'Content-Type': 'application/json' } },
      { raw: 'bye', headers: { 'Content-Type': 'text/plain' } },
    ];
    for (const { headers, ...body } of bodies) {
      const { session } = await registerAndLogin(server);
      const reply = await call(server, 'POST', '/auth/logout', { session, headers, ...body });
      expect([reply.status, reply.cookies[0]]).toEqual([204, expect.stringMatching(/^__Host-[^=]+=; .*Max-Age=0/)]);
      expect((await call(server, 'GET', '/auth/me', { session })).status).toBe(401);
    }
  });

  it("logout-all ends every session of the user and no one else's", async () => {
    const me = await registerAndLogin(server);
    const second = await call(server, 'POST', '/auth/login', { json: { email: me.email, password: me.password } });
    const secondCookie = second.cookies[0]!.split(';')[0]!.split('=')[1]!;
    const stranger = await registerAndLogin(server);
    const reply = await call(server, 'POST', '/auth/logout-all', { session: me.session });
    expect(reply.status).toBe(204);
    expect((await call(server, 'GET', '/auth/me', { session: me.session })).status).toBe(401);
    expect((await call(server, 'GET', '/auth/me', { session: secondCookie })).status).toBe(401);
    expect(await server.store.sessions.listByUser(me.userId)).toEqual([]);
    expect((await call(server, 'GET', '/auth/me', { session: stranger.session })).status).toBe(200);
    expect((await call(server, 'POST', '/auth/logout-all')).status).toBe(401);
  });
});
