import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueEmail, type TestServer } from '../helpers/server.js';

/** Debian's Chromium (`apt-get install chromium`); playwright-core never downloads a browser here. */
export const CHROMIUM = process.env.COATCHECK_CHROMIUM ?? '/usr/bin/chromium';
export const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/', import.meta.url));
const CLIENT_BUILD = fileURLToPath(new URL('../../dist/client/index.js', import.meta.url));

/**
 * A browser suite: skipped with one stderr line when Chromium is missing, except under `CI=true`
 * where a missing browser is a failure, not a silent pass.
 */
export function describeBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(`Browser tests need Chromium at ${CHROMIUM} (Debian: apt-get install chromium).`);
      });
    });
  } else {
    process.stderr.write(`browser tests skipped (${name}): no Chromium at ${CHROMIUM}; CI=true makes this fail\n`);
    describe.runIf(false)(name, body);
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** A port that was free a moment ago, on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * The real server, at an origin the browser can use as is: the port is chosen first, so that
 * `COATCHECK_ORIGIN` (cookie flags, CSRF allow-list) is exactly the URL the page is loaded from.
 * 127.0.0.1 is a secure context for Chromium, so `Secure` and `__Host-` cookies work over http.
 */
export async function startBrowserServer(env: Record<string, string> = {}): Promise<TestServer> {
  if (!existsSync(CLIENT_BUILD)) {
    throw new Error('The browser client is not built: run `npm run build` first (the page loads dist/client).');
  }
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      return await startTestServer({
        env: { PORT: String(port), COATCHECK_ORIGIN: `http://127.0.0.1:${port}`, ...env },
      });
    } catch (error) {
      // Another process took the port between the probe and the listen: try another one.
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || attempt === 3) throw error;
    }
  }
}

/** For the enclosing `describe`: a Chromium and a demo server, opened before its tests and closed after. */
export function useChromiumAndServer(): { browser: Browser; server: TestServer } {
  const opened = {} as { browser: Browser; server: TestServer };
  beforeAll(async () => {
    [opened.browser, opened.server] = await Promise.all([launchChromium(), startBrowserServer()]);
  });
  afterAll(async () => {
    await opened.browser?.close();
    await opened.server?.stop();
  });
  return opened;
}

/** The access token the page's own client holds in memory (`null` when it holds none). */
export const accessTokenOf = (page: Page): Promise<string | null> =>
  page.evaluate<string | null>(`import('/app.js').then(({ client }) => client.getAccessToken())`);

/** Collects what a page does that a test wants to assert on. */
export function watch(page: Page): { requests: Request[]; count(path: string): number; cspViolations: string[] } {
  const requests: Request[] = [];
  const cspViolations: string[] = [];
  page.on('request', (request) => requests.push(request));
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return {
    requests,
    count: (path) => requests.filter((r) => new URL(r.url()).pathname === path).length,
    cspViolations,
  };
}

export interface PageLogin {
  email: string;
  password: string;
}

/** Opens the demo page and waits until it knows whether someone is logged in. */
export async function openDemo(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.url}/`);
  await expect.poll(() => page.locator('#status').textContent()).not.toMatch(/Loading|Checking/);
}

/** Registers (optionally) and logs in through the page's own form. */
export async function loginThroughPage(
  page: Page,
  options: { mode: 'session' | 'token'; email?: string; password?: string; register?: boolean },
): Promise<PageLogin> {
  const email = options.email ?? uniqueEmail('browser');
  const password = options.password ?? PASSWORD;
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('radio', { name: options.mode === 'token' ? /^Token/ : /^Session/ }).check();
  const button = options.register === false ? 'Log in' : 'Create account and log in';
  await page.getByRole('button', { name: button, exact: true }).click();
  await waitForSignedIn(page, email);
  return { email, password };
}

/** Waits until the "who am I" panel shows `email` (it is filled from `GET /auth/me`). */
export async function waitForSignedIn(page: Page, email: string): Promise<void> {
  await expect.poll(() => page.locator('#whoami-email').textContent(), { timeout: 10_000 }).toBe(email);
  await expect.poll(() => page.locator('#signed-in').isVisible()).toBe(true);
}

export async function waitForSignedOut(page: Page): Promise<void> {
  await expect.poll(() => page.locator('#signed-out').isVisible(), { timeout: 10_000 }).toBe(true);
}

/** Every value in the page's Web Storage, to check that no token was put there. */
export function storageOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const dump = (storage: Storage): string[] =>
      Array.from({ length: storage.length }, (_, i) => `${storage.key(i)}=${storage.getItem(storage.key(i)!)}`);
    return [...dump(localStorage), ...dump(sessionStorage)].join('\n');
  });
}

/**
 * Calls `path` through the page's own client instance (the module `/app.js` exports it). A string
 * expression, because vitest rewrites `import()` inside functions of the test file.
 */
export function pageFetchStatus(page: Page, path: string): Promise<number> {
  return page.evaluate<number>(
    `import('/app.js').then(({ client }) => client.fetch(${JSON.stringify(path)})).then((r) => r.status)`,
  );
}

export function ensureOutputDir(): string {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return OUTPUT_DIR;
}

export type { Browser, BrowserContext, Page };
