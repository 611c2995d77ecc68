import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuthClient } from '../../src/client/index.js';
import { decodeJwtPayload } from '../../src/client/decode-jwt.js';
import { jarFetch as jarFetchOn } from '../helpers/jar-fetch.js';
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

const jarFetch = () => jarFetchOn(server);

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
