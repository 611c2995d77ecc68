import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import {
  describeBrowser,
  freePort,
  launchChromium,
  loginThroughPage,
  openDemo,
  pageFetchStatus,
  startBrowserServer,
  type Browser,
  type BrowserContext,
  type Page,
} from './harness.js';

/** A page of another origin with forms that post to coatcheck, as a malicious site would. */
function attackerPage(target: string): string {
  // text/plain lets a form send a body that looks like JSON: `{"text":"forged","x":"="}`.
  const form = (id: string, path: string, plain = false): string =>
    `<form id="${id}" method="POST" action="${target}${path}"${plain ? ' enctype="text/plain"' : ''}>` +
    (plain ? `<input type="hidden" name='{"text":"forged","x":"' value='"}'>` : '') +
    `<button type="submit">${id}</button></form>`;
  return `<!doctype html><title>totally harmless</title>${form('note', '/api/notes', true)}${form('logout', '/auth/logout')}${form('logout-all', '/auth/logout-all')}${form('refresh', '/auth/refresh')}`;
}

async function startAttacker(host: string, target: string): Promise<{ url: string; server: Server }> {
  const port = await freePort(host);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(attackerPage(target));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return { url: `http://${host}:${port}/`, server };
}

/** Submits one of the attacker's forms and returns what coatcheck answered. */
async function submit(page: Page, attacker: string, form: string): Promise<{ status: number; code?: string }> {
  await page.goto(attacker);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.locator(`#${form} button`).click(),
  ]);
  // A 204 leaves the attacker's page in place; an error answer is shown as the page itself.
  if (response.status() === 204) return { status: 204 };
  await page.waitForLoadState();
  const body = JSON.parse((await page.locator('body').textContent())!) as { code?: string };
  return { status: response.status(), code: body.code };
}

const notesOf = (page: Page): Promise<string[]> =>
  page.evaluate<string[]>(
    `import('/app.js').then(({ client }) => client.fetch('/api/notes')).then((r) => r.json()).then((b) => b.notes.map((n) => n.text))`,
  );

describeBrowser('cross-site forms in Chromium', () => {
  let browser: Browser;
  let server: TestServer;
  const attackers: { label: string; url: string; server: Server }[] = [];
  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startBrowserServer()]);
    const target = new URL(server.url).origin;
    // 127.0.0.2 is another site; 127.0.0.1 on another port is the same site but another origin.
    attackers.push({ label: 'cross-site', ...(await startAttacker('127.0.0.2', target)) });
    attackers.push({ label: 'same-site, other port', ...(await startAttacker('127.0.0.1', target)) });
  });
  afterAll(async () => {
    await browser?.close();
    for (const attacker of attackers) attacker.server.close();
    await server?.stop();
  });

  /** Submits forms from each attacker in turn: `{ "<attacker> <form>": answer }`. */
  async function attack(context: BrowserContext, plan: Record<string, string[]>): Promise<Record<string, unknown>> {
    const evil = await context.newPage();
    const answers: Record<string, unknown> = {};
    for (const attacker of attackers) {
      for (const form of plan[attacker.label] ?? []) {
        answers[`${attacker.label} ${form}`] = await submit(evil, attacker.url, form);
      }
    }
    await evil.close();
    return answers;
  }

  it('cannot add a note, log out or end sessions of a user logged in with a session cookie', async () => {
    const context = await browser.newContext();
    const victim = await context.newPage();
    await openDemo(victim, server);
    const { email } = await loginThroughPage(victim, { mode: 'session' });
    await victim.getByLabel('New note').fill('mine');
    await victim.getByRole('button', { name: 'Add note' }).click();
    await expect.poll(() => notesOf(victim)).toEqual(['mine']);
    const userId = (await server.store.users.findByEmail(email))!.id;
    const sessionsBefore = await server.auth.sessions.listForUser(userId);
    const cookieBefore = (await context.cookies()).find((c) => c.name === '__Host-coatcheck.sid')!.value;

    const answers = await attack(context, {
      'same-site, other port': ['note', 'logout', 'logout-all'],
      'cross-site': ['note', 'logout-all'],
    });
    // Same site: the Lax cookie is sent, and the Origin check refuses. Cross-site: the browser does
    // not even send the Lax cookie with a cross-site POST, so the request is nobody's.
    expect(answers).toEqual({
      'same-site, other port note': { status: 403, code: 'csrf_rejected' },
      'same-site, other port logout': { status: 403, code: 'csrf_rejected' },
      'same-site, other port logout-all': { status: 403, code: 'csrf_rejected' },
      'cross-site note': { status: 401, code: 'unauthenticated' },
      'cross-site logout-all': { status: 401, code: 'unauthenticated' },
    });

    // Nothing changed: the same session, in the store and in the browser, and the same notes.
    expect(await server.auth.sessions.listForUser(userId)).toEqual(sessionsBefore);
    expect((await context.cookies()).find((c) => c.name === '__Host-coatcheck.sid')?.value).toBe(cookieBefore);
    expect(await pageFetchStatus(victim, '/auth/me')).toBe(200);
    expect(await notesOf(victim)).toEqual(['mine']);
    await context.close();
  });

  it('cannot use the refresh cookie of a user logged in with a token', async () => {
    const context = await browser.newContext();
    const victim = await context.newPage();
    await openDemo(victim, server);
    const { email } = await loginThroughPage(victim, { mode: 'token' });
    const userId = (await server.store.users.findByEmail(email))!.id;
    const sessionsBefore = await server.auth.sessions.listForUser(userId);
    const cookieBefore = (await context.cookies()).find((c) => c.name === '__Secure-coatcheck.rt')!.value;

    const answers = await attack(context, {
      'same-site, other port': ['refresh', 'logout'],
      'cross-site': ['refresh'],
    });
    // SameSite=Strict keeps the refresh cookie off cross-site requests; same-site ones carry it
    // and are refused by the Origin check.
    expect(answers).toEqual({
      'same-site, other port refresh': { status: 403, code: 'csrf_rejected' },
      'same-site, other port logout': { status: 403, code: 'csrf_rejected' },
      'cross-site refresh': { status: 401, code: 'invalid_refresh_token' },
    });
    expect(await server.auth.sessions.listForUser(userId)).toEqual(sessionsBefore);
    expect((await context.cookies()).find((c) => c.name === '__Secure-coatcheck.rt')?.value).toBe(cookieBefore);
    expect(await pageFetchStatus(victim, '/auth/me')).toBe(200);
    await context.close();
  });

  // Found by this suite: a cross-site logout form carries no cookie (SameSite), yet the 204's
  // Set-Cookie headers that clear both auth cookies were applied by the browser. Logout now runs
  // the CSRF rule even without a cookie, so the foreign page gets 403 and the visitor stays logged in.
  it('a cross-site logout form leaves the visitor logged in', async () => {
    const context = await browser.newContext();
    const victim = await context.newPage();
    await openDemo(victim, server);
    const { email } = await loginThroughPage(victim, { mode: 'session' });
    const userId = (await server.store.users.findByEmail(email))!.id;
    const sessionsBefore = await server.auth.sessions.listForUser(userId);

    const answers = await attack(context, { 'cross-site': ['logout'] });
    expect(await server.auth.sessions.listForUser(userId)).toEqual(sessionsBefore);
    try {
      expect(answers['cross-site logout']).not.toEqual({ status: 204 });
      expect((await context.cookies()).map((c) => c.name)).toEqual(['__Host-coatcheck.sid']);
      expect(await pageFetchStatus(victim, '/auth/me')).toBe(200);
    } finally {
      await context.close();
    }
  });
});
