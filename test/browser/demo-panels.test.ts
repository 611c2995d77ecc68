import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { TestServer } from '../helpers/server.js';
import {
  describeBrowser,
  launchChromium,
  loginThroughPage,
  openDemo,
  startBrowserServer,
  watch,
  type Browser,
  type Page,
} from './harness.js';

// The demo page's panel for roles and strict routes.

const accessTokenOf = (page: Page): Promise<string | null> =>
  page.evaluate<string | null>(`import('/app.js').then(({ client }) => client.getAccessToken())`);

const partOf = (token: string, index: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8'));

describeBrowser('the demo page panels in Chromium', () => {
  let browser: Browser;
  let server: TestServer;
  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startBrowserServer()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('roles: a user sees the strict admin route answer 403 forbidden; after set-role, the list', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen = watch(page);
    await openDemo(page, server);
    const { email } = await loginThroughPage(page, { mode: 'token' });

    await expect.poll(() => page.locator('#roles-status').textContent()).toBe('403 forbidden');
    expect(await page.locator('#roles-explain').isVisible()).toBe(true);
    expect(await page.locator('#roles-command').textContent()).toBe(
      `npx coatcheck users set-role --email ${email} --role admin`,
    );
    expect(await page.locator('#roles-users').isVisible()).toBe(false);

    // The operator runs the very command the page shows, on the server's data directory.
    const setRole = runCli(['users', 'set-role', '--email', email, '--role', 'admin'], {
      env: { COATCHECK_DATA_DIR: server.dataDir },
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
    const context = await browser.newContext();
    const page = await context.newPage();
    await openDemo(page, server);
    const { email } = await loginThroughPage(page, { mode: 'session' });
    await expect.poll(() => page.locator('#roles-status').textContent()).toBe('403 forbidden');
    const userId = await page.evaluate<string>(`import('/app.js').then(({ client }) => client.user.id)`);
    expect(await server.auth.setRole(userId, 'admin')).toBe(true);
    await page.getByRole('button', { name: 'Ask again' }).click();
    await expect.poll(() => page.locator('#roles-users li').allTextContents()).toContain(`${email} (admin)`);
    await context.close();
  });
});
