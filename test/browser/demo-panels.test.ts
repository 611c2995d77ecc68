import { expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { call } from '../helpers/server.js';
import {
  describeBrowser,
  loginThroughPage,
  openDemo,
  pageFetchStatus,
  waitForSignedOut,
  watch,
  type BrowserContext,
  useChromiumAndServer,
  accessTokenOf,
} from './harness.js';

// The demo page's panels for roles and strict routes, the signing keys, and refresh rotation.

const partOf = (token: string, index: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8'));

const refreshCookieOf = async (context: BrowserContext): Promise<string | undefined> =>
  (await context.cookies()).find((c) => c.name === '__Secure-coatcheck.rt')?.value;

describeBrowser('the demo page panels in Chromium', () => {
  const opened = useChromiumAndServer();

  it('roles: a user sees the strict admin route answer 403 forbidden; after set-role, the list', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    const seen = watch(page);
    await openDemo(page, opened.server);
    const { email } = await loginThroughPage(page, { mode: 'token' });

    await expect.poll(() => page.locator('#roles-status').textContent()).toBe('403 forbidden');
    expect(await page.locator('#roles-explain').isVisible()).toBe(true);
    expect(await page.locator('#roles-command').textContent()).toBe(
      `npx coatcheck users set-role --email ${email} --role admin`,
    );
    expect(await page.locator('#roles-users').isVisible()).toBe(false);

    // The operator runs the very command the page shows, on the server's data directory.
    const setRole = runCli(['users', 'set-role', '--email', email, '--role', 'admin'], {
      env: { COATCHECK_DATA_DIR: opened.server.dataDir },
    });
    expect(setRole.status, setRole.stderr).toBe(0);
    // The page's access token still says "user": the strict route goes by the role in the store.
    expect(partOf((await accessTokenOf(page))!, 1).role).toBe('user');
    await page.getByRole('button', { name: 'Ask again' }).click();
    await expect.poll(() => page.locator('#roles-status').textContent()).toMatch(/^200: your role is admin; \d+ user/);
    expect(await page.locator('#roles-explain').isVisible()).toBe(false);
    expect(await page.locator('#roles-users').isVisible()).toBe(true);
    expect(await page.locator('#roles-users li').allTextContents()).toContain(`${email} (admin)`);
    expect(seen.cspViolations).toEqual([]);
    await context.close();
  });

  it('roles: in session mode too, the 403 and then the list after the role is given', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, opened.server);
    const { email } = await loginThroughPage(page, { mode: 'session' });
    await expect.poll(() => page.locator('#roles-status').textContent()).toBe('403 forbidden');
    const userId = await page.evaluate<string>(`import('/app.js').then(({ client }) => client.user.id)`);
    expect(await opened.server.auth.setRole(userId, 'admin')).toBe(true);
    await page.getByRole('button', { name: 'Ask again' }).click();
    await expect.poll(() => page.locator('#roles-users li').allTextContents()).toContain(`${email} (admin)`);
    await context.close();
  });

  it("keys: lists the JWKS and marks the key whose kid is in the token's header, also after a rotation", async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, opened.server);
    await loginThroughPage(page, { mode: 'token' });
    const jwks = (await call(opened.server, 'GET', '/.well-known/jwks.json')).body as { keys: Array<{ kid: string }> };
    const rows = page.locator('#key-rows tr');
    await expect.poll(() => rows.count()).toBe(jwks.keys.length);
    expect(await page.locator('#key-rows tr td:first-child').allTextContents()).toEqual(jwks.keys.map((k) => k.kid));

    const kid = partOf((await accessTokenOf(page))!, 0).kid;
    const marked = page.locator('#key-rows tr.signed-this');
    expect(await marked.count()).toBe(1);
    expect(await marked.locator('td').allTextContents()).toEqual([kid, 'ES256', 'EC / P-256', "yes: the token's kid"]);

    // A rotation: the new key is listed at once, and the current token's key stays marked.
    await opened.server.auth.tokens!.ring.rotate();
    await page.getByRole('button', { name: 'Reload everything' }).click();
    await expect.poll(() => rows.count()).toBe(jwks.keys.length + 1);
    expect(await marked.locator('td').first().textContent()).toBe(kid);
    // Once the new key signs (a minute later), a refreshed token names it, and the mark follows.
    opened.server.clock.advance(61_000);
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await expect.poll(() => page.locator('#rotation-result').isVisible()).toBe(true);
    const newKid = partOf((await accessTokenOf(page))!, 0).kid;
    expect(newKid).not.toBe(kid);
    await expect.poll(() => marked.locator('td').first().textContent()).toBe(newKid);
    expect(await rows.count()).toBe(jwks.keys.length + 1);

    // A key the page has not listed yet signs the next token: the page fetches the list again.
    await opened.server.auth.tokens!.ring.rotate();
    opened.server.clock.advance(61_000);
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await expect.poll(async () => partOf((await accessTokenOf(page))!, 0).kid).not.toBe(newKid);
    const thirdKid = partOf((await accessTokenOf(page))!, 0).kid;
    await expect.poll(() => marked.locator('td').first().textContent()).toBe(thirdKid);
    expect(await rows.count()).toBe(jwks.keys.length + 2);
    await context.close();
  });

  it('keys and rotation in session mode: no token to mark, nothing to refresh', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, opened.server);
    await loginThroughPage(page, { mode: 'session' });
    await expect.poll(() => page.locator('#key-rows tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#key-rows tr.signed-this').count()).toBe(0);
    expect(await page.locator('#key-rows tr td:last-child').allTextContents()).toContain(
      'no token here (session mode)',
    );
    expect(await page.locator('#rotation-none').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Refresh now' }).isVisible()).toBe(false);
    await context.close();
  });

  it('refresh now: a new access token and refresh cookie; calls still work; the old cookie is reuse', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    const seen = watch(page);
    await openDemo(page, opened.server);
    await loginThroughPage(page, { mode: 'token' });
    const before = (await accessTokenOf(page))!;
    const oldCookie = await refreshCookieOf(context);
    expect(await page.locator('#rotation-result').isVisible()).toBe(false);

    await page.getByRole('button', { name: 'Refresh now' }).click();
    await expect.poll(() => page.locator('#rotation-result').isVisible()).toBe(true);
    const after = (await accessTokenOf(page))!;
    expect(after).not.toBe(before);
    const jtiRow = await page.locator('#rotation-rows tr').first().locator('td').allTextContents();
    expect(jtiRow).toEqual(['jti', partOf(before, 1).jti, partOf(after, 1).jti]);
    expect(jtiRow[1]).not.toBe(jtiRow[2]);
    // The inspector shows the new token, and calls go on with it.
    expect(JSON.parse((await page.locator('#token-payload').textContent())!).jti).toBe(partOf(after, 1).jti);
    expect(await page.locator('#rotation-check').textContent()).toBe('GET /auth/me with the new token: 200.');
    expect(await pageFetchStatus(page, '/api/notes')).toBe(200);
    expect(await pageFetchStatus(page, '/auth/me')).toBe(200);
    const newCookie = await refreshCookieOf(context);
    expect(newCookie).toBeDefined();
    expect(newCookie).not.toBe(oldCookie);
    expect(seen.cspViolations).toEqual([]);

    // What the panel says of the old cookie: replayed after the grace window, it ends the family.
    opened.server.clock.advance(11_000);
    const replay = await call(opened.server, 'POST', '/auth/refresh', {
      headers: { Cookie: `__Secure-coatcheck.rt=${oldCookie}` },
      origin: opened.server.url,
    });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('refresh_token_reused');
    // ... and this page's own login with it, at its next refresh.
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await waitForSignedOut(page);
    expect(await page.locator('#status').textContent()).toMatch(/^Your session has ended/);
    await context.close();
  });
});
