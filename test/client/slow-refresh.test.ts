import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuthClient } from '../../src/client/index.js';
import { ORIGIN, PASSWORD, startTestServer, uniqueEmail, type TestServer } from '../helpers/server.js';

// A refresh the server answers, but too late for the client's refreshTimeout: the server has
// rotated the token, and the browser drops the late answer with its new cookie. Asked again at
// once, inside the grace window, the server hands out that same successor; asked only later, the
// old token would be reuse, and the device would be ended.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/**
 * The browser's part, on a real server: a cookie jar, the Origin a page would send, and a network
 * that delays the answers to the next `slowRefreshes` refreshes by `delayMs`. An answer that
 * arrives after the request was aborted is dropped, Set-Cookie and all, as a browser drops it.
 */
function browserLikeFetch(options: { delayMs: number }) {
  const jar = new Map<string, string>();
  const state = { slowRefreshes: 0, refreshStatuses: [] as number[] };
  const fetchLikeABrowser = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url.replace(new URL(request.url).origin, server.url));
    const headers = new Headers(request.headers);
    headers.set('Origin', ORIGIN);
    if (jar.size > 0) headers.set('Cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
    const response = await fetch(url, { method: request.method, headers, body });
    const isRefresh = url.pathname === '/auth/refresh';
    if (isRefresh) state.refreshStatuses.push(response.status);
    if (isRefresh && state.slowRefreshes > 0) {
      state.slowRefreshes -= 1;
      await new Promise<void>((resolve, reject) => {
        const abort = () => reject(new DOMException('The operation was aborted.', 'AbortError'));
        if (init.signal?.aborted) return abort();
        const late = setTimeout(resolve, options.delayMs);
        init.signal?.addEventListener('abort', () => {
          clearTimeout(late);
          abort();
        });
      });
    }
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, value] = pair!.split('=') as [string, string];
      if (value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
  return { fetch: fetchLikeABrowser, state };
}

it('a refresh answered after refreshTimeout is asked again at once, and the login survives', async () => {
  const browser = browserLikeFetch({ delayMs: 1500 });
  const options = { baseUrl: ORIGIN, fetch: browser.fetch, refreshTimeout: 1000 };
  const email = uniqueEmail();
  const firstTab = createAuthClient(options);
  await firstTab.register({ email, password: PASSWORD });
  await firstTab.login({ email, password: PASSWORD, mode: 'token' });
  firstTab.close();

  // A reload: the login comes back through the refresh cookie, whose first answer is late.
  browser.state.slowRefreshes = 1;
  const reloaded = createAuthClient(options);
  await expect(reloaded.restore()).resolves.toMatchObject({ email });
  expect(browser.state.refreshStatuses).toEqual([200, 200]);

  // Well past the grace window, the cookie the second answer set is the live one: no reuse.
  server.clock.advance(11 * 60_000);
  const me = await reloaded.fetch(`${ORIGIN}/auth/me`);
  expect(me.status).toBe(200);
  expect(browser.state.refreshStatuses).toEqual([200, 200, 200]);
  reloaded.close();
});
