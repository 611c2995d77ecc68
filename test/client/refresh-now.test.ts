import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuthClient } from '../../src/client/index.js';
import { decodeJwtPayload } from '../../src/client/decode-jwt.js';
import { ORIGIN, PASSWORD, startTestServer, uniqueEmail, type TestServer } from '../helpers/server.js';

// `refresh()`, what the demo page's "Refresh now" button calls: a new access token at once in token
// mode, and nothing at all in session mode (a refresh there would end the session).

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** A browser's cookie jar and Origin header on the real server; records the paths it was asked for. */
function jarFetch() {
  const jar = new Map<string, string>();
  const paths: string[] = [];
  const fetchWithJar = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url.replace(new URL(request.url).origin, server.url));
    paths.push(url.pathname);
    const headers = new Headers(request.headers);
    headers.set('Origin', ORIGIN);
    if (jar.size > 0) headers.set('Cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
    const response = await fetch(url, { method: request.method, headers, body });
    for (const cookie of response.headers.getSetCookie()) {
      const [name, value] = cookie.split(';')[0]!.split('=') as [string, string];
      if (value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
  return { fetch: fetchWithJar, jar, paths };
}

it('in token mode, refresh() brings a new access token and a rotated refresh cookie', async () => {
  const browser = jarFetch();
  const client = createAuthClient({ baseUrl: ORIGIN, fetch: browser.fetch });
  const email = uniqueEmail();
  await client.register({ email, password: PASSWORD });
  await client.login({ email, password: PASSWORD, mode: 'token' });
  const before = { token: client.getAccessToken()!, cookie: browser.jar.get('__Secure-coatcheck.rt') };
  const refreshed: number[] = [];
  client.on('refresh', ({ expiresIn }) => refreshed.push(expiresIn));

  await expect(client.refresh()).resolves.toBe(true);
  const after = client.getAccessToken()!;
  expect(after).not.toBe(before.token);
  expect(decodeJwtPayload(after).jti).not.toBe(decodeJwtPayload(before.token).jti);
  expect(decodeJwtPayload(after).sid).toBe(decodeJwtPayload(before.token).sid);
  expect(browser.jar.get('__Secure-coatcheck.rt')).not.toBe(before.cookie);
  expect(refreshed).toEqual([600]);
  expect((await client.fetch(`${ORIGIN}/auth/me`)).status).toBe(200);
  client.close();
});

it('in session mode, refresh() resolves false without a request, and the session stays', async () => {
  const browser = jarFetch();
  const client = createAuthClient({ baseUrl: ORIGIN, fetch: browser.fetch });
  const email = uniqueEmail();
  await client.register({ email, password: PASSWORD });
  await client.login({ email, password: PASSWORD, mode: 'session' });
  const ended: string[] = [];
  client.on('session-ended', ({ code }) => ended.push(code));

  await expect(client.refresh()).resolves.toBe(false);
  expect(browser.paths).not.toContain('/auth/refresh');
  expect(client.mode).toBe('session');
  expect(ended).toEqual([]);
  await expect(client.me()).resolves.toMatchObject({ user: { email } });
  client.close();
});

it('with nobody logged in, refresh() resolves false without a request', async () => {
  const browser = jarFetch();
  const client = createAuthClient({ baseUrl: ORIGIN, fetch: browser.fetch });
  await expect(client.refresh()).resolves.toBe(false);
  expect(browser.paths).toEqual([]);
  client.close();
});
