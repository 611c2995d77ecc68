import { expect, it } from 'vitest';
import { uniqueEmail } from '../helpers/server.js';
import {
  describeBrowser,
  loginThroughPage,
  openDemo,
  pageFetchStatus,
  storageOf,
  waitForSignedIn,
  waitForSignedOut,
  watch,
  type Page,
  useChromiumAndServer,
} from './harness.js';

/** Past the 10-minute access token and the verifier's 30 s tolerance, on the server's clock only. */
const EXPIRE_ACCESS_TOKENS = 11 * 60_000;

/**
 * Presses "Reload everything" and waits for all panels. The click is dispatched to the element, as a
 * user's would be: Playwright's actionability checks wait for animation frames, which a background
 * tab does not get.
 */
const reloadPanels = async (page: Page): Promise<void> => {
  await page.locator('#status').evaluate((status) => (status.textContent = ''));
  await page.getByRole('button', { name: 'Reload everything' }).dispatchEvent('click');
  await expect.poll(() => page.locator('#status').textContent()).toBe('Reloaded from the server.');
};

/** On a page with two devices listed: revokes the one that is not its own, and waits until it is gone. */
const revokeTheOtherDevice = async (page: Page): Promise<void> => {
  await reloadPanels(page);
  await page
    .locator('#devices li:not(.current)')
    .getByRole('button', { name: /^Revoke/ })
    .click();
  await expect.poll(() => page.locator('#devices li').count()).toBe(1);
};

describeBrowser('token mode in Chromium: silent refresh, tabs, revocation', () => {
  const opened = useChromiumAndServer();

  it('an expired token is renewed silently: concurrent 401s share exactly one /auth/refresh', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    const seen = watch(page);
    await openDemo(page, opened.server);
    await loginThroughPage(page, { mode: 'token' });
    await reloadPanels(page);

    opened.server.clock.advance(EXPIRE_ACCESS_TOKENS);
    const from = seen.requests.length;
    const responses: { path: string; status: number }[] = [];
    page.on('response', (r) => responses.push({ path: new URL(r.url()).pathname, status: r.status() }));
    await reloadPanels(page);

    const paths = seen.requests.slice(from).map((r) => new URL(r.url()).pathname);
    expect(paths.filter((p) => p === '/auth/refresh')).toHaveLength(1);
    // Each of the three authenticated calls: refused once, then retried once with the new token.
    for (const path of ['/auth/me', '/api/notes', '/auth/sessions']) {
      expect([path, responses.filter((r) => r.path === path).map((r) => r.status)]).toEqual([path, [401, 200]]);
    }
    expect(responses.find((r) => r.path === '/auth/refresh')?.status).toBe(200);
    expect(await storageOf(page)).toBe('');

    // A POST meets an expired token too: it is sent again, body and all, after the refresh.
    opened.server.clock.advance(EXPIRE_ACCESS_TOKENS);
    const refreshesBefore = seen.count('/auth/refresh');
    await page.getByLabel('New note').fill('sent twice, stored once');
    await page.getByRole('button', { name: 'Add note' }).click();
    await expect.poll(() => page.locator('#notes li').allTextContents()).toEqual(['sent twice, stored once']);
    const posts = responses.filter((r) => r.path === '/api/notes').slice(2);
    expect(posts.map((r) => r.status)).toEqual([401, 201, 200]);
    expect(seen.count('/auth/refresh')).toBe(refreshesBefore + 1);
    await context.close();
  });

  it('renews ahead of expiry, at about 80% of the token life, without any 401', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await page.clock.install();
    const seen = watch(page);
    await openDemo(page, opened.server);
    await loginThroughPage(page, { mode: 'token' });
    const before = seen.count('/auth/refresh');
    await page.clock.runFor(7 * 60_000); // 70% of 10 minutes: too early
    expect(seen.count('/auth/refresh')).toBe(before);
    const renewed = page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/refresh');
    await page.clock.runFor(60_000 + 1000); // past 80%
    expect((await renewed).status()).toBe(200);
    await expect.poll(() => page.locator('#token-countdown').textContent()).toMatch(/^(9|10) min/);
    await reloadPanels(page);
    expect(seen.requests.filter((r) => r.url().includes('/auth/refresh'))).toHaveLength(before + 1);
    await context.close();
  });

  for (const locks of ['with Web Locks', 'without Web Locks (server grace window)'] as const) {
    it(`two tabs refreshing at the same moment both stay logged in (${locks})`, async () => {
      const context = await opened.browser.newContext();
      if (locks !== 'with Web Locks') {
        await context.addInitScript(() =>
          Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined }),
        );
      }
      const a = await context.newPage();
      const seenA = watch(a);
      await openDemo(a, opened.server);
      const { email } = await loginThroughPage(a, { mode: 'token' });
      // A second tab, opened later, finds the login through the shared refresh cookie.
      const b = await context.newPage();
      const seenB = watch(b);
      await openDemo(b, opened.server);
      await waitForSignedIn(b, email);
      expect(await b.evaluate(() => typeof navigator.locks)).toBe(locks === 'with Web Locks' ? 'object' : 'undefined');

      opened.server.clock.advance(EXPIRE_ACCESS_TOKENS);
      const [fromA, fromB] = [seenA.count('/auth/refresh'), seenB.count('/auth/refresh')];
      // When each tab's refresh left and when its answer came back, in the order the browser reports.
      const timeline: string[] = [];
      for (const [tab, page] of [
        ['a', a],
        ['b', b],
      ] as const) {
        page.on('request', (r) => r.url().endsWith('/auth/refresh') && timeline.push(`${tab} sent`));
        page.on('response', (r) => r.url().endsWith('/auth/refresh') && timeline.push(`${tab} answered`));
      }
      await Promise.all([reloadPanels(a), reloadPanels(b)]);
      expect([seenA.count('/auth/refresh') - fromA, seenB.count('/auth/refresh') - fromB]).toEqual([1, 1]);
      if (locks === 'with Web Locks') {
        // One tab at a time: the second refresh leaves only after the first was answered.
        expect(timeline[1]).toBe(timeline[0]!.replace('sent', 'answered'));
      }
      expect(await a.locator('#signed-in').isVisible()).toBe(true);
      expect(await b.locator('#signed-in').isVisible()).toBe(true);
      // Neither refresh was taken for a stolen token's replay.
      expect(opened.server.logs.filter((l) => l.fields.event === 'refresh.reused')).toEqual([]);
      // And both still work afterwards, on strict routes too.
      expect([await pageFetchStatus(a, '/auth/me'), await pageFetchStatus(b, '/auth/me')]).toEqual([200, 200]);
      await context.close();
    });
  }

  it('logout in one tab logs out the other tab at once, without a reload', async () => {
    const context = await opened.browser.newContext();
    const a = await context.newPage();
    await openDemo(a, opened.server);
    const { email } = await loginThroughPage(a, { mode: 'token' });
    const b = await context.newPage();
    await openDemo(b, opened.server);
    await waitForSignedIn(b, email);
    const seenB = watch(b);

    await a.bringToFront();
    await a.getByRole('button', { name: 'Log out', exact: true }).click();
    await waitForSignedOut(a);
    await waitForSignedOut(b);
    expect(await b.locator('#status').textContent()).toBe('Logged out in another tab.');
    expect(await b.evaluate(`import('/app.js').then(({ client }) => client.getAccessToken())`)).toBeNull();
    expect(seenB.requests).toEqual([]);
    // The cookies are gone too: a reload finds nobody.
    await b.reload();
    await expect.poll(() => b.locator('#status').textContent()).toBe('Not logged in.');
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });

  it('a login as someone else in another tab logs this tab out, instead of acting as them', async () => {
    const context = await opened.browser.newContext();
    const a = await context.newPage();
    await openDemo(a, opened.server);
    const first = await loginThroughPage(a, { mode: 'token' });
    const b = await context.newPage();
    await openDemo(b, opened.server);
    await waitForSignedIn(b, first.email);
    const loginInB = (email: string, register: boolean, mode = 'token') =>
      b.evaluate(
        `import('/app.js').then(async ({ client }) => {
          const credentials = { email: ${JSON.stringify(email)}, password: ${JSON.stringify(first.password)} };
          if (${register}) await client.register(credentials);
          await client.login({ ...credentials, mode: ${JSON.stringify(mode)} });
        })`,
      );
    // The same user again in B leaves A as it is, and so does someone else in session mode (A's
    // refresh cookie is not the one that login replaces).
    await loginInB(first.email, false);
    await loginInB(uniqueEmail('session-user'), true, 'session');
    await a.waitForTimeout(200);
    expect(await a.locator('#signed-in').isVisible()).toBe(true);

    await loginInB(uniqueEmail('other-user'), true);
    await waitForSignedOut(a);
    expect(await a.locator('#status').textContent()).toBe(
      'Another tab logged in as someone else: reload to continue as them.',
    );
    expect(await a.evaluate(`import('/app.js').then(({ client }) => client.getAccessToken())`)).toBeNull();
    await context.close();
  });

  it('a login that ends in one tab leaves a tab of the other mode logged in: its cookie is another device', async () => {
    const context = await opened.browser.newContext();
    const a = await context.newPage();
    const b = await context.newPage();
    await Promise.all([openDemo(a, opened.server), openDemo(b, opened.server)]);
    // A logs in with a session cookie; B, still on the login form, in token mode: two devices.
    await a.bringToFront();
    const { email } = await loginThroughPage(a, { mode: 'session' });
    await b.bringToFront();
    await loginThroughPage(b, { mode: 'token', email, register: false });

    // A revokes B's device; B's next call finds its refresh family gone and ends its login.
    await a.bringToFront();
    await revokeTheOtherDevice(a);
    await b.bringToFront();
    expect(await pageFetchStatus(b, '/auth/me')).toBe(401);
    await waitForSignedOut(b);
    expect(await b.locator('#status').textContent()).toMatch(/^Your session has ended \(invalid_refresh_token\)/);

    // A's session cookie was never touched: A must not be shown as logged out.
    await a.waitForTimeout(300);
    expect(await a.locator('#signed-in').isVisible()).toBe(true);
    expect(await a.locator('#status').textContent()).not.toMatch(/ended/);
    expect(await pageFetchStatus(a, '/auth/me')).toBe(200);
    await context.close();
  });

  it('a device revoked from another browser ends with session-ended on its next call, once', async () => {
    const contextA = await opened.browser.newContext();
    const contextB = await opened.browser.newContext();
    const a = await contextA.newPage();
    const b = await contextB.newPage();
    await Promise.all([openDemo(a, opened.server), openDemo(b, opened.server)]);
    const { email } = await loginThroughPage(a, { mode: 'session' });
    await loginThroughPage(b, { mode: 'token', email, register: false });
    const seenB = watch(b);
    await b.evaluate(`import('/app.js').then(({ client }) => {
      window.ended = [];
      client.on('session-ended', (detail) => window.ended.push(detail));
    })`);

    await revokeTheOtherDevice(a);

    // /api/notes is stateless: B's token still reads it until it expires. /auth/me is strict.
    expect(await pageFetchStatus(b, '/api/notes')).toBe(200);
    expect(await pageFetchStatus(b, '/auth/me')).toBe(401);
    expect(await b.evaluate('window.ended')).toEqual([{ code: 'invalid_refresh_token', status: 401 }]);
    await waitForSignedOut(b);
    expect(seenB.count('/auth/refresh')).toBe(1);
    // Logged out now: later calls are not retried, and no refresh is attempted again.
    expect(await pageFetchStatus(b, '/auth/me')).toBe(401);
    await b.waitForTimeout(200);
    expect(seenB.count('/auth/refresh')).toBe(1);
    expect(await b.evaluate('window.ended')).toHaveLength(1);
    await Promise.all([contextA.close(), contextB.close()]);
  });
});
