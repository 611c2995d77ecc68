import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuthClient } from '../../src/client/index.js';
import { jarFetch as jarFetchOn } from '../helpers/jar-fetch.js';
import { ORIGIN, PASSWORD, startTestServer, uniqueEmail, type TestServer } from '../helpers/server.js';

// `restore()` after a reload in token mode: the session-cookie check answers 401, the refresh cookie
// brings a new access token, and `/me` says who it is. When that last `/me` fails, the login is
// alive all the same: asking again must find it, not answer "nobody".

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** The jar-backed client's fetch; `failNextMe` answers one bearer `/me` with a 503. */
function jarFetch() {
  const state = { failNextMe: false };
  const browser = jarFetchOn(server, (url, request) => {
    // The fault a healthy server will not produce on cue: the store down for exactly this request.
    if (!state.failNextMe || url.pathname !== '/auth/me' || !request.headers.has('authorization')) return undefined;
    state.failNextMe = false;
    const problem = { type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'store_unavailable' };
    return new Response(JSON.stringify(problem), {
      status: 503,
      headers: { 'Content-Type': 'application/problem+json' },
    });
  });
  return { fetch: browser.fetch, state };
}

it('a restore whose last /me failed finds the login when asked again', async () => {
  const browser = jarFetch();
  const email = uniqueEmail();
  const first = createAuthClient({ baseUrl: ORIGIN, fetch: browser.fetch });
  await first.register({ email, password: PASSWORD });
  await first.login({ email, password: PASSWORD, mode: 'token' });
  first.close();

  // The page reloaded: a new client, the same cookie jar.
  const client = createAuthClient({ baseUrl: ORIGIN, fetch: browser.fetch });
  browser.state.failNextMe = true;
  await expect(client.restore()).rejects.toMatchObject({ code: 'store_unavailable' });
  await expect(client.restore()).resolves.toMatchObject({ email });
  expect(client.mode).toBe('token');
  expect((await client.fetch(`${ORIGIN}/auth/me`)).status).toBe(200);
  client.close();
});
