import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ORIGIN, startTestServer, type TestServer } from '../helpers/server.js';
import { loginWithTokens, REFRESH_COOKIE, refreshCookieOf } from '../helpers/tokens.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const DAY = 24 * 3600_000;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const refreshWithCookie = (token: string, headers: Record<string, string> = {}) =>
  call(server, 'POST', '/auth/refresh', {
    headers: { Cookie: `${REFRESH_COOKIE}=${token}`, ...headers },
    origin: null,
  });
const refreshNative = (refreshToken: string) =>
  call(server, 'POST', '/auth/refresh', { json: { refreshToken }, origin: null });
const sidOf = (accessToken: string): string =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;

describe('login in token and native modes', () => {
  it('token mode: access token in the body, refresh token only in a Strict, HttpOnly cookie on /auth', async () => {
    const { reply } = await loginWithTokens(server, 'token');
    expect(Object.keys(reply.body).sort()).toEqual(['accessToken', 'expiresIn', 'tokenType', 'user']);
    expect(reply.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 600 });
    expect(reply.cookies).toHaveLength(1);
    expect(reply.cookies[0]).toMatch(
      /^__Secure-coatcheck\.rt=[A-Za-z0-9_-]{43}; Path=\/auth; Max-Age=604800; HttpOnly; Secure; SameSite=Strict$/,
    );
  });

  it('native mode: both tokens in the body, no cookies', async () => {
    const { reply } = await loginWithTokens(server, 'native');
    expect(reply.cookies).toEqual([]);
    expect(reply.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 600, refreshExpiresIn: 7 * 24 * 3600 });
    expect(reply.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('a token login is a device in GET /auth/sessions (method "token"), and revoking it there ends it', async () => {
    const login = await loginWithTokens(server, 'token', { headers: { 'User-Agent': 'SPA/1' } });
    const list = await call(server, 'GET', '/auth/sessions', { headers: bearer(login.accessToken) });
    expect(list.status).toBe(200);
    const device = list.body.sessions.find((s: { current: boolean }) => s.current);
    expect(device).toMatchObject({ method: 'token', userAgent: 'SPA/1', id: sidOf(login.accessToken) });
    const revoked = await call(server, 'DELETE', `/auth/sessions/${device.id}`, { headers: bearer(login.accessToken) });
    expect(revoked.status).toBe(204);
    expect((await refreshWithCookie(login.refreshToken, { Origin: ORIGIN })).body.code).toBe('invalid_refresh_token');
    // Strict routes refuse the access token at once; the stateless demo route accepts it until it expires.
    expect((await call(server, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status).toBe(401);
    expect((await call(server, 'GET', '/api/notes', { headers: bearer(login.accessToken) })).status).toBe(200);
    server.clock.advance(631_000);
    expect((await call(server, 'GET', '/api/notes', { headers: bearer(login.accessToken) })).status).toBe(401);
  });
});

describe('POST /auth/refresh', () => {
  it('rotates the refresh token on every use and issues a new access token', async () => {
    const login = await loginWithTokens(server, 'token');
    const first = await refreshWithCookie(login.refreshToken, { Origin: ORIGIN });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['accessToken', 'expiresIn', 'tokenType']);
    const next = refreshCookieOf(first)!;
    expect(next).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(next).not.toBe(login.refreshToken);
    expect(first.body.accessToken).not.toBe(login.accessToken);
    expect(sidOf(first.body.accessToken)).toBe(sidOf(login.accessToken));
    expect((await call(server, 'GET', '/auth/me', { headers: bearer(first.body.accessToken) })).status).toBe(200);
    server.clock.advance(11_000);
    const second = await refreshWithCookie(next, { Origin: ORIGIN });
    expect(second.status).toBe(200);
  });

  it('native mode rotates through the body', async () => {
    const login = await loginWithTokens(server, 'native');
    const reply = await refreshNative(login.refreshToken);
    expect(reply.status).toBe(200);
    expect(reply.cookies).toEqual([]);
    expect(reply.body.refreshToken).not.toBe(login.refreshToken);
    expect(reply.body.refreshExpiresIn).toBe(7 * 24 * 3600);
  });

  it('reuse after the grace window: 401 refresh_token_reused, and the whole family and its session are revoked', async () => {
    const login = await loginWithTokens(server, 'native');
    const rotated = await refreshNative(login.refreshToken);
    const current = rotated.body.refreshToken as string;
    server.clock.advance(10_000);
    const replay = await refreshNative(login.refreshToken);
    expect([replay.status, replay.body.code]).toEqual([401, 'refresh_token_reused']);
    // The legitimate holder's newer token is dead too, and so is the device.
    expect((await refreshNative(current)).body.code).toBe('invalid_refresh_token');
    expect(await server.store.sessions.findById(sidOf(login.accessToken))).toBeNull();
    expect((await call(server, 'GET', '/auth/me', { headers: bearer(rotated.body.accessToken) })).status).toBe(401);
  });

  it('a duplicate refresh inside the grace window gets the same successor: one chain, user stays logged in', async () => {
    const login = await loginWithTokens(server, 'token');
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => refreshWithCookie(login.refreshToken, { Origin: ORIGIN })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    const successors = new Set(replies.map((r) => refreshCookieOf(r)));
    expect(successors.size).toBe(1);
    const [successor] = [...successors] as [string];
    server.clock.advance(5_000);
    // A late tab inside the window still gets the same token.
    expect(refreshCookieOf(await refreshWithCookie(login.refreshToken, { Origin: ORIGIN }))).toBe(successor);
    server.clock.advance(60_000);
    const onward = await refreshWithCookie(successor, { Origin: ORIGIN });
    expect(onward.status).toBe(200);
    // The original token is now two rotations old: presenting it is reuse.
    server.clock.advance(60_000);
    expect((await refreshWithCookie(login.refreshToken, { Origin: ORIGIN })).body.code).toBe('refresh_token_reused');
  });

  it('with the grace window off, of 20 concurrent refreshes exactly one wins and reuse revokes the family', async () => {
    const strictServer = await startTestServer({ env: { COATCHECK_REFRESH_GRACE: '0' } });
    try {
      const login = await loginWithTokens(strictServer, 'native');
      const replies = await Promise.all(
        Array.from({ length: 20 }, () =>
          call(strictServer, 'POST', '/auth/refresh', { json: { refreshToken: login.refreshToken }, origin: null }),
        ),
      );
      const statuses = replies.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(
        replies
          .filter((r) => r.status === 401)
          .every((r) => ['refresh_token_reused', 'invalid_refresh_token'].includes(r.body.code)),
      ).toBe(true);
      expect(replies.some((r) => r.body.code === 'refresh_token_reused')).toBe(true);
      expect(await strictServer.store.sessions.findById(sidOf(login.accessToken))).toBeNull();
    } finally {
      await strictServer.stop();
    }
  });

  it('refuses garbage, unknown and missing tokens with 401 invalid_refresh_token, and clears the cookie', async () => {
    for (const token of ['garbage', 'A'.repeat(43), '']) {
      const reply = await refreshWithCookie(token, { Origin: ORIGIN });
      expect([reply.status, reply.body.code]).toEqual([401, 'invalid_refresh_token']);
      expect(reply.cookies[0]).toMatch(/^__Secure-coatcheck\.rt=; Path=\/auth; Max-Age=0;/);
    }
    const none = await call(server, 'POST', '/auth/refresh');
    expect([none.status, none.body.code]).toEqual([401, 'invalid_refresh_token']);
    const bad = await call(server, 'POST', '/auth/refresh', { json: { refresh: 'x' } });
    expect([bad.status, bad.body.code]).toEqual([400, 'invalid_request']);
  });

  it('refuses a cross-site refresh with the cookie (CSRF), without rotating', async () => {
    const login = await loginWithTokens(server, 'token');
    const foreign: Record<string, string>[] = [
      { Origin: 'https://evil.example' },
      { 'Sec-Fetch-Site': 'cross-site' },
      {},
    ];
    for (const headers of foreign) {
      const reply = await refreshWithCookie(login.refreshToken, headers);
      expect([reply.status, reply.body.code]).toEqual([403, 'csrf_rejected']);
    }
    expect((await refreshWithCookie(login.refreshToken, { Origin: ORIGIN })).status).toBe(200);
  });

  it('refuses two refresh cookies in one request', async () => {
    const a = await loginWithTokens(server, 'token');
    const b = await loginWithTokens(server, 'token');
    const reply = await call(server, 'POST', '/auth/refresh', {
      headers: { Cookie: `${REFRESH_COOKIE}=${a.refreshToken}; ${REFRESH_COOKIE}=${b.refreshToken}`, Origin: ORIGIN },
    });
    expect([reply.status, reply.body.code]).toEqual([400, 'ambiguous_credentials']);
  });

  it('a refreshed access token carries the current role', async () => {
    const login = await loginWithTokens(server, 'native');
    await server.auth.setRole(login.userId, 'admin');
    const reply = await refreshNative(login.refreshToken);
    const role = (
      JSON.parse(Buffer.from((reply.body.accessToken as string).split('.')[1]!, 'base64url').toString()) as {
        role: string;
      }
    ).role;
    expect(role).toBe('admin');
    expect((await call(server, 'GET', '/api/admin/users', { headers: bearer(reply.body.accessToken) })).status).toBe(
      200,
    );
    // Strict: a role change takes effect at once even for a token minted before it.
    await server.auth.setRole(login.userId, 'user');
    expect((await call(server, 'GET', '/api/admin/users', { headers: bearer(reply.body.accessToken) })).status).toBe(
      403,
    );
  });
});

describe('refresh family lifetimes (injected clock)', () => {
  it('ends after 7 days without a refresh', async () => {
    const login = await loginWithTokens(server, 'native');
    server.clock.advance(7 * DAY + 1000);
    expect((await refreshNative(login.refreshToken)).body.code).toBe('invalid_refresh_token');
  });

  it('ends 30 days after login however often it is refreshed', async () => {
    const login = await loginWithTokens(server, 'native');
    let token = login.refreshToken;
    for (let day = 6; day < 30; day += 6) {
      server.clock.advance(6 * DAY);
      const reply = await refreshNative(token);
      expect(reply.status).toBe(200);
      token = reply.body.refreshToken;
    }
    server.clock.advance(6 * DAY);
    expect((await refreshNative(token)).body.code).toBe('invalid_refresh_token');
  });
});

describe('logout and revocation in token mode', () => {
  it('logout with bearer and refresh cookie revokes the family and the sid at once', async () => {
    const login = await loginWithTokens(server, 'token');
    const reply = await call(server, 'POST', '/auth/logout', {
      headers: { ...bearer(login.accessToken), Cookie: `${REFRESH_COOKIE}=${login.refreshToken}` },
    });
    expect(reply.status).toBe(204);
    expect(reply.cookies.some((c) => c.startsWith(`${REFRESH_COOKIE}=; Path=/auth; Max-Age=0`))).toBe(true);
    expect((await call(server, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status).toBe(401);
    expect((await refreshWithCookie(login.refreshToken, { Origin: ORIGIN })).body.code).toBe('invalid_refresh_token');
    expect((await call(server, 'POST', '/auth/logout', { headers: bearer(login.accessToken) })).status).toBe(204);
  });

  // A request with neither Origin nor Sec-Fetch-Site (a client with a cookie jar): before, any
  // Authorization header made the cookie's CSRF refusal silent, and a 204 that cleared the cookie
  // left its family alive on the server.
  it('logout with a verified bearer also ends the cookie it carries, whatever its CSRF headers', async () => {
    const login = await loginWithTokens(server, 'token');
    const other = await loginWithTokens(server, 'token');
    const reply = await call(server, 'POST', '/auth/logout', {
      headers: { ...bearer(other.accessToken), Cookie: `${REFRESH_COOKIE}=${login.refreshToken}` },
      origin: null,
    });
    expect(reply.status).toBe(204);
    expect((await refreshWithCookie(login.refreshToken, { Origin: ORIGIN })).body.code).toBe('invalid_refresh_token');
    expect((await call(server, 'GET', '/auth/me', { headers: bearer(other.accessToken) })).status).toBe(401);
  });

  it('logout with a bearer that does not verify is no proof against CSRF: 403, and the cookie lives on', async () => {
    const login = await loginWithTokens(server, 'token');
    const reply = await call(server, 'POST', '/auth/logout', {
      headers: { ...bearer('not.a.token'), Cookie: `${REFRESH_COOKIE}=${login.refreshToken}` },
      origin: null,
    });
    expect([reply.status, reply.body.code]).toEqual([403, 'csrf_rejected']);
    expect(reply.cookies).toEqual([]);
    expect((await refreshWithCookie(login.refreshToken, { Origin: ORIGIN })).status).toBe(200);
  });

  it('native logout with the refresh token in the body revokes it', async () => {
    const login = await loginWithTokens(server, 'native');
    expect(
      (await call(server, 'POST', '/auth/logout', { json: { refreshToken: login.refreshToken }, origin: null })).status,
    ).toBe(204);
    expect((await refreshNative(login.refreshToken)).body.code).toBe('invalid_refresh_token');
  });

  it('a bearer logout with a body holding no refresh token still ends the session', async () => {
    const login = await loginWithTokens(server, 'native');
    const reply = await call(server, 'POST', '/auth/logout', { headers: bearer(login.accessToken), json: {} });
    expect(reply.status).toBe(204);
    expect((await refreshNative(login.refreshToken)).body.code).toBe('invalid_refresh_token');
  });

  it('logout-all and a password change end token sessions too', async () => {
    const login = await loginWithTokens(server, 'native');
    const second = await call(server, 'POST', '/auth/login', {
      json: { email: login.email, password: login.password, mode: 'native' },
    });
    const changed = await call(server, 'POST', '/auth/password', {
      headers: bearer(login.accessToken),
      json: { currentPassword: login.password, newPassword: 'a different passphrase' },
      origin: null,
    });
    expect(changed.status).toBe(204);
    expect((await refreshNative(second.body.refreshToken)).body.code).toBe('invalid_refresh_token');
    expect((await refreshNative(login.refreshToken)).status).toBe(200);
    const all = await call(server, 'POST', '/auth/logout-all', { headers: bearer(login.accessToken), origin: null });
    expect(all.status).toBe(204);
    expect(await server.store.sessions.listByUser(login.userId)).toEqual([]);
  });
});

describe('logs', () => {
  // SECURITY.md 3: refresh tokens (like session IDs, checked in server.test.ts) are never logged,
  // also not where a log line is most tempting: reuse detection, a refusal, logout.
  it('never contain a refresh token or an access token, in any mode or outcome', async () => {
    server.logs.length = 0;
    const secrets: string[] = [];
    const native = await loginWithTokens(server, 'native');
    secrets.push(native.refreshToken, native.accessToken);
    const rotated = await refreshNative(native.refreshToken);
    secrets.push(rotated.body.refreshToken as string, rotated.body.accessToken as string);
    server.clock.advance(10_000);
    expect((await refreshNative(native.refreshToken)).body.code).toBe('refresh_token_reused');
    const cookie = await loginWithTokens(server, 'token');
    secrets.push(cookie.refreshToken, cookie.accessToken);
    const renewed = await refreshWithCookie(cookie.refreshToken, { Origin: ORIGIN });
    expect(renewed.status).toBe(200);
    const next = refreshCookieOf(renewed)!;
    secrets.push(next);
    expect((await refreshNative('x'.repeat(43))).body.code).toBe('invalid_refresh_token');
    const logout = await call(server, 'POST', '/auth/logout', {
      headers: { ...bearer(renewed.body.accessToken as string), Cookie: `${REFRESH_COOKIE}=${next}` },
    });
    expect(logout.status).toBe(204);
    const logged = JSON.stringify(server.logs);
    expect(logged).toContain('refresh.reused');
    expect(logged).toContain('logged out');
    for (const secret of secrets) expect(logged).not.toContain(secret);
  });
});
