import { join } from 'node:path';
import { expect, it } from 'vitest';
import { PASSWORD } from '../helpers/server.js';
import {
  describeBrowser,
  ensureOutputDir,
  loginThroughPage,
  openDemo,
  storageOf,
  waitForSignedIn,
  waitForSignedOut,
  watch,
  type Page,
  useChromiumAndServer,
  accessTokenOf,
} from './harness.js';

const indexedDbNames = (page: Page): Promise<string[]> =>
  page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));

describeBrowser('the demo page in Chromium', () => {
  const opened = useChromiumAndServer();

  it('logs in in session mode: the HttpOnly cookie is set but invisible to document.cookie and storage', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    const seen = watch(page);
    await openDemo(page, opened.server);
    expect(await page.locator('#status').textContent()).toBe('Not logged in.');
    const { email } = await loginThroughPage(page, { mode: 'session' });

    const sid = (await context.cookies()).find((c) => c.name === '__Host-coatcheck.sid');
    expect(sid).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.locator('#document-cookie').textContent()).toBe('"" (empty)');
    expect(await storageOf(page)).toBe('');
    expect(await accessTokenOf(page)).toBeNull();
    expect(await page.locator('#token-none').isVisible()).toBe(true);
    expect(await page.locator('#whoami-method').textContent()).toBe('session cookie');

    // The cookie panel lists the server's cookies with their flags, and which ones came along.
    const rows = page.locator('#cookie-rows tr');
    await expect.poll(() => rows.count()).toBe(2);
    const cells = (row: number): Promise<string[]> => rows.nth(row).locator('td').allTextContents();
    const flags = (row: number): Promise<string[]> => rows.nth(row).locator('.flags li').allTextContents();
    expect((await cells(0))[0]).toBe('__Host-coatcheck.sid');
    expect(await flags(0)).toEqual(['Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax']);
    expect((await cells(0))[3]).toBe('yes');
    expect((await cells(1))[0]).toBe('__Secure-coatcheck.rt');
    expect(await flags(1)).toEqual(['Path=/auth', 'HttpOnly', 'Secure', 'SameSite=Strict']);
    // Session mode set no refresh cookie: its Path is not why it is missing.
    expect((await cells(1))[3]).toBe('no: only a token-mode login sets it');
    expect(await page.locator('#cookie-rows').textContent()).not.toContain(sid!.value);

    // A note through the page, then a reload keeps the login (the cookie is all it takes).
    await page.getByLabel('New note').fill('buy milk');
    await page.getByRole('button', { name: 'Add note' }).click();
    await expect.poll(() => page.locator('#notes li').allTextContents()).toEqual(['buy milk']);
    await page.reload();
    await waitForSignedIn(page, email);
    expect(await page.locator('#status').textContent()).toBe(`Welcome back: ${email}, session mode.`);
    expect(await storageOf(page)).toBe('');
    expect(seen.cspViolations).toEqual([]);
    await context.close();
  });

  it('logs in in token mode: the token stays in memory through login, refresh and reload', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    const seen = watch(page);
    await openDemo(page, opened.server);
    const { email } = await loginThroughPage(page, { mode: 'token' });

    const rt = (await context.cookies()).find((c) => c.name === '__Secure-coatcheck.rt');
    expect(rt).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth' });
    expect((await context.cookies()).map((c) => c.name)).toEqual(['__Secure-coatcheck.rt']);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const first = await accessTokenOf(page);
    expect(first).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(await storageOf(page)).toBe('');
    expect(await indexedDbNames(page)).toEqual([]);
    expect(await page.locator('#whoami-method').textContent()).toBe('bearer token (token mode)');
    // Here the refresh cookie exists, and its Path keeps it from GET /api/demo/cookies.
    await expect
      .poll(() => page.locator('#cookie-rows tr').nth(1).locator('td').nth(3).textContent())
      .toBe('no: its Path keeps it to /auth');

    // The inspector decodes the in-memory token, counts down to exp, and warns that it is readable.
    expect(await page.locator('#token-view').isVisible()).toBe(true);
    const header = JSON.parse((await page.locator('#token-header').textContent())!);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const payload = JSON.parse((await page.locator('#token-payload').textContent())!);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'role', 'sid', 'sub']);
    expect(JSON.stringify(payload)).not.toContain(email);
    expect(await page.locator('#whoami-session').textContent()).toBe(payload.sid);
    expect(await page.locator('#token-countdown').textContent()).toMatch(/^(9|10) min \d+ s$/);
    expect(await page.locator('#token-view .warning').textContent()).toContain(
      'Anyone holding this token can read its payload',
    );

    // Expire the token on the server: the next calls renew it silently.
    opened.server.clock.advance(11 * 60_000);
    await page.getByRole('button', { name: 'Reload everything' }).click();
    await expect.poll(() => page.locator('#status').textContent()).toBe('Reloaded from the server.');
    const second = await accessTokenOf(page);
    expect(second).not.toBe(first);
    expect(await storageOf(page)).toBe('');

    // A reload loses the memory; the refresh cookie restores the login.
    await page.reload();
    await waitForSignedIn(page, email);
    expect(await page.locator('#status').textContent()).toBe(`Welcome back: ${email}, token mode.`);
    const third = await accessTokenOf(page);
    expect(third).toMatch(/^ey/);
    expect([first, second]).not.toContain(third);
    expect(await storageOf(page)).toBe('');
    expect(await indexedDbNames(page)).toEqual([]);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(seen.cspViolations).toEqual([]);
    await context.close();
  });

  it('says which password rule was broken, as the server does', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, opened.server);
    const status = page.locator('#status');
    const email = `local.part.${Date.now()}@example.com`;
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(email.split('@')[0]!);
    await page.getByRole('button', { name: 'Create account and log in' }).click();
    await expect
      .poll(() => status.textContent())
      .toBe(
        'That password is not accepted: The password must not be your email address or the part of it before the @.',
      );
    expect(await status.getAttribute('class')).toContain('error');

    await loginThroughPage(page, { mode: 'session' });
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect
      .poll(() => status.textContent())
      .toBe('That password is not accepted: The new password must differ from the current one.');
    await context.close();
  });

  it('can be used with the keyboard alone; every control has a label', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, opened.server);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, button')]
        .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label'))
        .filter((el) => el.tagName !== 'BUTTON' || el.textContent?.trim() === '')
        .map((el) => el.id || el.outerHTML),
    );
    expect(unlabelled).toEqual([]);

    const email = `keyboard.${Date.now()}@example.com`;
    const focused = (): Promise<string> =>
      page.evaluate(() => {
        const el = document.activeElement!;
        return el.id || el.getAttribute('value') || (el.textContent ?? '').trim();
      });
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('email');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('password');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('session');
    await page.keyboard.press('ArrowDown');
    expect(await focused()).toBe('token');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('login');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('register');
    await page.keyboard.press('Enter');
    await waitForSignedIn(page, email);
    // Focus moves to the panel that appeared, and the status line (role=status) says what happened.
    expect(await focused()).toBe('whoami-heading');
    expect(await page.getByRole('status').textContent()).toBe(`Logged in: ${email}, token mode.`);
    await context.close();
  });

  it('keeps keyboard focus where it was after a refused login and after adding a note', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, opened.server);
    const focusedId = (): Promise<string> => page.evaluate(() => document.activeElement?.id ?? '');
    const email = `focus.${Date.now()}@example.com`;
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).focus();
    await page.keyboard.type('not the password at all');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#status').textContent()).toBe('The email or password is wrong.');
    // The user can type the password again at once, where they were.
    expect(await focusedId()).toBe('password');

    await loginThroughPage(page, { mode: 'session', email });
    await page.getByLabel('New note').focus();
    await page.keyboard.type('first');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#status').textContent()).toBe('Note added.');
    expect(await focusedId()).toBe('note-text');
    await page.keyboard.type('second');
    await page.keyboard.press('Enter');
    // (Sorted: the test server's clock stands still, and notes of one instant come in id order.)
    await expect
      .poll(async () => (await page.locator('#notes li').allTextContents()).sort())
      .toEqual(['first', 'second']);
    await context.close();
  });

  it('a logout the server never received says that the login still lives in the cookie', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, opened.server);
    const { email } = await loginThroughPage(page, { mode: 'session' });
    await page.route('**/auth/logout', (route) => route.abort('connectionrefused'));
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await waitForSignedOut(page);
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/^Logged out in this page only: /);
    expect(await page.locator('#status').textContent()).toContain('The server could not be reached.');
    expect(await page.locator('#status').textContent()).toContain('The server still knows this login');
    // Which is the truth: the cookie was never cleared, and a reload finds the login.
    await page.unroute('**/auth/logout');
    await page.reload();
    await waitForSignedIn(page, email);
    await context.close();
  });

  it('a reload while the server cannot check the session says so, not "Not logged in."', async () => {
    const context = await opened.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, opened.server);
    const { email } = await loginThroughPage(page, { mode: 'session' });
    // What coatcheck answers while its store is unreachable.
    await page.route('**/auth/me', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          status: 503,
          code: 'store_unavailable',
          title: 'The service is temporarily unavailable',
        }),
      }),
    );
    await openDemo(page, opened.server);
    expect(await page.locator('#status').textContent()).toBe(
      'The service is temporarily unavailable (store_unavailable).',
    );
    expect(await page.locator('#status').getAttribute('class')).toContain('error');
    // The session was alive all along.
    await page.unroute('**/auth/me');
    await page.reload();
    await waitForSignedIn(page, email);
    await context.close();
  });

  it('fits a phone screen and renders the user after login (screenshots in test-output/)', async () => {
    const dir = ensureOutputDir();
    for (const [name, viewport] of [
      ['demo-after-login.png', { width: 1280, height: 900 }],
      ['demo-after-login-phone.png', { width: 360, height: 780 }],
    ] as const) {
      const context = await opened.browser.newContext({ viewport });
      const page = await context.newPage();
      await openDemo(page, opened.server);
      const { email } = await loginThroughPage(page, { mode: 'token' });
      await page.getByLabel('New note').fill('The refresh token never leaves its HttpOnly cookie.');
      await page.getByRole('button', { name: 'Add note' }).click();
      await expect.poll(() => page.locator('#notes li').count()).toBe(1);
      await expect.poll(() => page.locator('#devices li').count()).toBe(1);
      await expect.poll(() => page.locator('#cookie-rows tr').count()).toBe(2);
      expect(await page.locator('#whoami-email').textContent()).toBe(email);
      expect(await page.getByRole('heading', { name: 'Who am I' }).isVisible()).toBe(true);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(dir, name), fullPage: true });
      await context.close();
    }
  });

  it('lists devices, changes the password, revokes a device and logs out everywhere', async () => {
    const contextA = await opened.browser.newContext();
    const contextB = await opened.browser.newContext();
    const a = await contextA.newPage();
    const b = await contextB.newPage();
    const seenB = watch(b);
    await Promise.all([openDemo(a, opened.server), openDemo(b, opened.server)]);
    const { email } = await loginThroughPage(a, { mode: 'session' });
    await loginThroughPage(b, { mode: 'token', email, register: false });
    const reload = async (page: Page): Promise<void> => {
      await page.getByRole('button', { name: 'Reload everything' }).click();
    };

    await reload(a);
    await expect.poll(() => a.locator('#devices li').count()).toBe(2);
    expect(await a.locator('#devices li.current').textContent()).toContain(
      'session login from 127.0.0.1 (this device)',
    );

    // Changing the password logs the other device out; B finds out on its next call.
    const newPassword = 'a brand new passphrase 7';
    await a.getByLabel('Current password').fill(PASSWORD);
    await a.getByLabel('New password').fill(newPassword);
    await a.getByRole('button', { name: 'Change password' }).click();
    await expect
      .poll(() => a.locator('#status').textContent())
      .toBe('Password changed. Every other device was logged out.');
    await expect.poll(() => a.locator('#devices li').count()).toBe(1);
    await reload(b);
    await waitForSignedOut(b);
    expect(await b.locator('#status').textContent()).toMatch(/^Your session has ended \(invalid_refresh_token\)/);

    // B logs in again; A revokes B's device from its list; B's next call ends its session.
    await loginThroughPage(b, { mode: 'token', email, password: newPassword, register: false });
    await reload(a);
    await expect.poll(() => a.locator('#devices li').count()).toBe(2);
    await a
      .locator('#devices li:not(.current)')
      .getByRole('button', { name: /^Revoke/ })
      .click();
    await expect.poll(() => a.locator('#status').textContent()).toBe('Device revoked: it is logged out.');
    await expect.poll(() => a.locator('#devices li').count()).toBe(1);
    const refreshesBefore = seenB.count('/auth/refresh');
    await reload(b);
    await waitForSignedOut(b);
    expect(await b.locator('#status').textContent()).toMatch(/^Your session has ended/);
    // One refresh was tried and refused: no retry loop.
    await b.waitForTimeout(300);
    expect(seenB.count('/auth/refresh') - refreshesBefore).toBe(1);

    // Log out everywhere from A: B (logged in again) is out on its next call, A at once.
    await loginThroughPage(b, { mode: 'session', email, password: newPassword, register: false });
    await a.getByRole('button', { name: 'Log out everywhere' }).click();
    await waitForSignedOut(a);
    expect(await a.locator('#status').textContent()).toBe('Logged out on every device.');
    await reload(b);
    await waitForSignedOut(b);
    expect(await b.locator('#status').textContent()).toMatch(/^Your session has ended \(unauthenticated\)/);
    await Promise.all([contextA.close(), contextB.close()]);
  });
});
