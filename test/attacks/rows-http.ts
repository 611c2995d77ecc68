import { expect } from 'vitest';
import { ORIGIN, PASSWORD, SESSION_COOKIE, uniqueEmail } from '../helpers/server.js';
import { REFRESH_COOKIE } from '../helpers/tokens.js';
import { MODES, httpRequest, refreshCookieHeader, sessionCookieHeader } from './harness.js';
import { claimsOf, type AttackContext, type AttackRow, type Outcome, type Verify } from './row.js';
import type { Reply } from './harness.js';

// Open redirects (SECURITY.md 11: there is no returnTo today, so every form of one is refused)
// and the HTTP layer: response splitting, oversized headers and bodies, slow clients, request
// smuggling, Host tricks, and bodies that are not what they claim.

const EVIL = [
  ['//evil.example', 'protocol-relative //evil'],
  ['/\\evil.example', 'backslash /\\evil (browsers read it as //)'],
  ['https://evil.example/', 'an absolute https URL'],
  ['javascript:alert(document.cookie)', 'a javascript: URL'],
  ['%2F%2Fevil.example', 'percent-encoded //'],
  ['/%5Cevil.example', 'percent-encoded backslash'],
  ['%252F%252Fevil.example', 'double-encoded //'],
  ['\t//evil.example', 'a leading tab'],
  ['/\t/evil.example', 'a tab between the slashes'],
  ['https:evil.example', 'a scheme without slashes'],
  ['data:text/html,<script>alert(1)</script>', 'a data: URL'],
  ['/settings', 'even a same-origin path (no returnTo exists to accept it)'],
] as const;

const REDIRECT_ROWS: AttackRow[] = [
  ...EVIL.map(([returnTo, variant], i): AttackRow => ({
    id: `D${String(i + 1).padStart(2, '0')}`,
    area: 'redirect',
    attack: `returnTo ${variant} in the login body`,
    modes: MODES,
    ...(i === 0 ? { everyStore: true } : {}),
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      const { email, password } = ctx.victim;
      return [await ctx.send('POST', '/auth/login', { json: { email, password, mode: ctx.mode, returnTo } })];
    },
    check(_ctx, _before, _after, [reply]) {
      expect(reply!.body.errors).toEqual([{ path: 'returnTo', message: 'Unknown field.' }]);
      expect(reply!.cookies).toEqual([]);
    },
  })),
  {
    id: 'D13',
    area: 'redirect',
    attack: 'returnTo=//evil.example in the query string of the login URL (ignored: no Location ever)',
    modes: MODES,
    expect: { status: 200 },
    async send(ctx) {
      const { email, password } = ctx.victim;
      return [
        await ctx.send('POST', '/auth/login?returnTo=%2F%2Fevil.example', {
          json: { email, password, mode: ctx.mode },
        }),
      ];
    },
    verify(_ctx, _before, _after, [reply]) {
      expect(reply!.text).not.toContain('evil');
    },
  },
  {
    id: 'D14',
    area: 'redirect',
    attack: 'returnTo //evil.example in the registration body',
    modes: ['session'],
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      ctx.scratch.email = uniqueEmail('redirect');
      return [
        await ctx.send('POST', '/auth/register', {
          json: { email: ctx.scratch.email, password: PASSWORD, returnTo: '//evil.example' },
        }),
      ];
    },
    async check(ctx) {
      expect(await ctx.server.store.users.findByEmail(ctx.scratch.email as string)).toBeNull();
    },
  },
];

/** No header of the reply was written from attacker input. */
function noInjectedHeader(reply: Reply): void {
  for (const [name, value] of reply.headers) {
    expect(name).not.toMatch(/injected/i);
    expect(value).not.toMatch(/injected/i);
  }
  for (const cookie of reply.cookies) expect(cookie).not.toMatch(/injected|evil/i);
}

const injectionCheck: Verify = (_ctx, _before, _after, replies) => replies.forEach(noInjectedHeader);

/** What a login through a raw socket issued: the access token's iss/aud and the cookies' scope. */
function issuedFromOrigin(ctx: AttackContext, reply: Reply): void {
  expect(reply.body.user.id).toBe(ctx.victim.userId);
  if (reply.body.accessToken) {
    const claims = claimsOf(reply.body.accessToken as string);
    expect([claims.iss, claims.aud]).toEqual([ORIGIN, ORIGIN]);
  }
  for (const cookie of reply.cookies) {
    expect(cookie).not.toMatch(/Domain=/i);
    expect(cookie).toMatch(
      cookie.startsWith(SESSION_COOKIE) ? /; Path=\/; .*Secure/ : new RegExp(`^${REFRESH_COOKIE}=.*; Path=/auth;`),
    );
  }
}

function hostTrick(id: string, attack: string, requestTarget: string, headers: Record<string, string>): AttackRow {
  return {
    id,
    area: 'http',
    attack,
    modes: MODES,
    expect: { status: 200 },
    async send(ctx) {
      const body = JSON.stringify({ email: ctx.victim.email, password: ctx.victim.password, mode: ctx.mode });
      return [
        await ctx.raw([
          httpRequest(
            'POST',
            requestTarget,
            { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
            body,
          ),
        ]),
      ];
    },
    verify: (ctx, _before, _after, [reply]) => issuedFromOrigin(ctx, reply!),
  };
}

const json = (body: string): Record<string, string> => ({
  'Content-Type': 'application/json',
  'Content-Length': String(Buffer.byteLength(body)),
});
const NODE_REFUSES: Outcome = { status: 400 };

/** Sends `parts` on a raw socket; Node's HTTP parser must refuse them (400) before coatcheck runs. */
function malformed(id: string, attack: string, parts: (ctx: AttackContext) => string[]): AttackRow {
  return {
    id,
    area: 'http',
    attack,
    modes: ['session'],
    expect: NODE_REFUSES,
    async send(ctx) {
      return [await ctx.raw(parts(ctx))];
    },
  };
}

/** While one client trickles, others are answered promptly; the trickler gets nothing meanwhile. */
async function servesOthersWhileTrickling(ctx: AttackContext, head: string, trickle: string[]): Promise<Reply[]> {
  const slow = ctx.raw([head, ...trickle], { gapMs: 100, timeoutMs: 100 * trickle.length + 500 });
  const others: Reply[] = [];
  await new Promise((resolve) => setTimeout(resolve, 150));
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    const reply = await ctx.send('GET', '/auth/me', { headers: { Cookie: sessionCookieHeader(ctx.victim.cookie!) } });
    expect(performance.now() - started).toBeLessThan(1000);
    others.push(reply);
  }
  const stalled = await slow;
  // Still incomplete when the test hangs up: nothing was answered early, and nothing crashed.
  ctx.scratch.stalled = stalled.status;
  return others;
}

const HTTP_ROWS: AttackRow[] = [
  {
    id: 'H01',
    area: 'http',
    attack: 'CR/LF (percent-encoded) in the :id of DELETE /auth/sessions/:id',
    modes: ['session'],
    expect: { status: 404, code: 'not_found' },
    async send(ctx) {
      return [
        await ctx.send('DELETE', '/auth/sessions/x%0d%0aSet-Cookie:%20injected=1', {
          headers: { Cookie: sessionCookieHeader(ctx.victim.cookie!) },
        }),
      ];
    },
    check: injectionCheck,
  },
  {
    id: 'H02',
    area: 'http',
    attack: 'CR/LF (percent-encoded) in an unknown auth path',
    modes: ['session'],
    expect: { status: 404, code: 'not_found' },
    async send(ctx) {
      return [await ctx.send('GET', '/auth/%0d%0aX-Injected:%201%0d%0a%0d%0a<script>')];
    },
    check: injectionCheck,
  },
  {
    id: 'H03',
    area: 'http',
    attack: 'CR/LF in the email of a registration',
    modes: ['session'],
    everyStore: true,
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      return [
        await ctx.send('POST', '/auth/register', {
          json: { email: 'x\r\nSet-Cookie: injected=1\r\n@example.com', password: PASSWORD },
        }),
        await ctx.send('POST', '/auth/login', {
          json: { email: `${ctx.victim.email}\r\nX-Injected: 1`, password: ctx.victim.password },
        }),
      ];
    },
    check: injectionCheck,
  },
  {
    id: 'H04',
    area: 'http',
    attack: 'CR/LF in the display name of a registration',
    modes: ['session'],
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      ctx.scratch.email = uniqueEmail('crlf');
      return [
        await ctx.send('POST', '/auth/register', {
          json: { email: ctx.scratch.email, password: PASSWORD, name: 'Mallory\r\nSet-Cookie: injected=1' },
        }),
      ];
    },
    async check(ctx, _b, _a, replies) {
      replies.forEach(noInjectedHeader);
      expect(await ctx.server.store.users.findByEmail(ctx.scratch.email as string)).toBeNull();
    },
  },
  {
    id: 'H05',
    area: 'http',
    attack: 'an unknown JSON field named "x\\r\\nSet-Cookie: injected=1" (field names are echoed in errors[].path)',
    modes: ['session'],
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      const { email, password } = ctx.victim;
      return [await ctx.send('POST', '/auth/login', { json: { email, password, 'x\r\nSet-Cookie: injected=1': 1 } })];
    },
    check(_ctx, _b, _a, [reply]) {
      noInjectedHeader(reply!);
      // Echoed only inside the JSON body, escaped.
      expect(reply!.text).toContain('x\\r\\nSet-Cookie');
    },
  },
  {
    id: 'H06',
    area: 'http',
    attack: 'a refresh cookie whose value smuggles cookie attributes (; Domain=evil.example)',
    modes: ['token'],
    expect: { status: 401, code: 'invalid_refresh_token' },
    async send(ctx) {
      return [
        await ctx.send('POST', '/auth/refresh', {
          headers: { Cookie: `${refreshCookieHeader(`${ctx.victim.refreshToken!}%3B%20Domain%3Devil.example`)}` },
        }),
      ];
    },
    check(_ctx, _b, _a, [reply]) {
      expect(reply!.cookies).toEqual([`${REFRESH_COOKIE}=; Path=/auth; Max-Age=0; HttpOnly; Secure; SameSite=Strict`]);
    },
  },
  malformed('H07', 'CR/LF inside the User-Agent value (bare LF starting a forged header line)', () => [
    'GET /auth/me HTTP/1.1\r\nHost: localhost\r\nUser-Agent: a\nX-Injected: 1\r\nConnection: close\r\n\r\n',
  ]),
  malformed('H08', 'an obsolete folded header line continuing the User-Agent', () => [
    'GET /auth/me HTTP/1.1\r\nHost: localhost\r\nUser-Agent: a\r\n X-Injected: 1\r\nConnection: close\r\n\r\n',
  ]),
  malformed('H09', 'request smuggling: Content-Length together with Transfer-Encoding: chunked', () => [
    'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /auth/me HTTP/1.1\r\nHost: localhost\r\n\r\n',
  ]),
  malformed('H10', 'request smuggling: two different Content-Length headers', () => [
    'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\nConnection: close\r\n\r\n{}',
  ]),
  {
    id: 'H11',
    area: 'http',
    attack: 'a 20 KiB Cookie header',
    modes: ['session'],
    expect: { status: 431 },
    async send(ctx) {
      return [
        await ctx.send('GET', '/auth/me', {
          headers: { Cookie: `${sessionCookieHeader(ctx.victim.cookie!)}; pad=${'x'.repeat(20 * 1024)}` },
        }),
      ];
    },
  },
  {
    id: 'H12',
    area: 'http',
    attack: 'a 1 MiB JSON body to /auth/login',
    modes: MODES,
    expect: { status: 413, code: 'payload_too_large' },
    async send(ctx) {
      const { email, password } = ctx.victim;
      return [
        await ctx.send('POST', '/auth/login', { json: { email, password, mode: ctx.mode, pad: 'x'.repeat(1 << 20) } }),
      ];
    },
  },
  {
    id: 'H13',
    area: 'http',
    attack: 'a 64 KiB chunked body (no Content-Length) to /auth/register',
    modes: ['session'],
    expect: { status: 413, code: 'payload_too_large' },
    async send(ctx) {
      const chunk = `{"pad":"${'x'.repeat(8 * 1024)}`;
      const chunks = Array.from({ length: 8 }, () => `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`);
      return [
        await ctx.raw([
          'POST /auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
          ...chunks,
          '0\r\n\r\n',
        ]),
      ];
    },
  },
  {
    id: 'H14',
    area: 'http',
    attack: 'a declared Content-Length of 1 GiB with a few bytes sent (answered at once, not awaited)',
    modes: ['session'],
    expect: { status: 413, code: 'payload_too_large' },
    async send(ctx) {
      const started = performance.now();
      const reply = await ctx.raw(
        [
          httpRequest(
            'POST',
            '/auth/login',
            { Host: 'localhost', 'Content-Type': 'application/json', 'Content-Length': 1 << 30 },
            '{"email":',
          ),
        ],
        { timeoutMs: 10_000 },
      );
      expect(performance.now() - started).toBeLessThan(2000);
      return [reply];
    },
  },
  {
    id: 'H15',
    area: 'http',
    attack: 'a slow body (1 byte every 100 ms) to /auth/login while the victim keeps using the site',
    modes: ['session'],
    expect: { status: 200 },
    async send(ctx) {
      const body = JSON.stringify({ email: ctx.victim.email, password: ctx.victim.password });
      const head = httpRequest('POST', '/auth/login', { Host: 'localhost', ...json(body) });
      return servesOthersWhileTrickling(ctx, head, [...body.slice(0, 12)]);
    },
    check(ctx) {
      expect(ctx.scratch.stalled).toBe(0);
      // The trickler is cut off by the server's own limits, not by this test's patience.
      expect([ctx.server.server.requestTimeout, ctx.server.server.headersTimeout]).toEqual([30_000, 15_000]);
    },
  },
  {
    id: 'H16',
    area: 'http',
    attack: 'slow headers (slowloris: one header line every 100 ms) while the victim keeps using the site',
    modes: ['session'],
    expect: { status: 200 },
    async send(ctx) {
      const lines = Array.from({ length: 10 }, (_, i) => `X-Slow-${i}: ${'y'.repeat(8)}\r\n`);
      return servesOthersWhileTrickling(ctx, 'GET /auth/me HTTP/1.1\r\nHost: localhost\r\n', lines);
    },
    check(ctx) {
      expect(ctx.scratch.stalled).toBe(0);
    },
  },
  hostTrick('H17', 'a login with Host: evil.example', '/auth/login', { Host: 'evil.example' }),
  hostTrick('H18', 'a login with X-Forwarded-Host: evil.example and X-Forwarded-Proto: http', '/auth/login', {
    Host: 'localhost:3000',
    'X-Forwarded-Host': 'evil.example',
    'X-Forwarded-Proto': 'http',
  }),
  hostTrick(
    'H19',
    'a login with an absolute-form request target http://evil.example/auth/login',
    'http://evil.example/auth/login',
    {
      Host: 'evil.example',
    },
  ),
  {
    id: 'H20',
    area: 'http',
    attack: 'a login body that is not UTF-8 (Latin-1 bytes)',
    modes: ['session'],
    expect: { status: 400, code: 'invalid_json' },
    async send(ctx) {
      const body = Buffer.from(`{"email":"${ctx.victim.email}","password":"caf\u00e9 \u00e9t\u00e9 long"}`, 'latin1');
      return [
        await ctx.raw([
          httpRequest('POST', '/auth/login', {
            Host: 'localhost',
            'Content-Type': 'application/json',
            'Content-Length': body.length,
          }),
          body,
        ]),
      ];
    },
  },
  {
    id: 'H21',
    area: 'http',
    attack: 'JSON nested 5000 levels deep (under 16 KiB)',
    modes: ['session'],
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      return [
        await ctx.send('POST', '/auth/login', {
          raw: `${'['.repeat(5000)}${']'.repeat(5000)}`,
          headers: { 'Content-Type': 'application/json' },
        }),
      ];
    },
  },
  {
    id: 'H22',
    area: 'http',
    attack: 'a UTF-16 body labelled application/json; charset=utf-16',
    modes: ['session'],
    expect: { status: 400, code: 'invalid_json' },
    async send(ctx) {
      const body = Buffer.from(JSON.stringify({ email: ctx.victim.email, password: ctx.victim.password }), 'utf16le');
      return [
        await ctx.raw([
          httpRequest('POST', '/auth/login', {
            Host: 'localhost',
            'Content-Type': 'application/json; charset=utf-16',
            'Content-Length': body.length,
          }),
          body,
        ]),
      ];
    },
  },
  {
    id: 'H23',
    area: 'http',
    attack: 'TRACE and CONNECT-like methods on an auth route',
    modes: ['session'],
    expect: { status: 405, code: 'method_not_allowed' },
    async send(ctx) {
      return [
        await ctx.raw([
          httpRequest('TRACE', '/auth/me', { Host: 'localhost', Cookie: sessionCookieHeader(ctx.victim.cookie!) }),
        ]),
      ];
    },
    check(_ctx, _b, _a, [reply]) {
      // TRACE must not echo the request (and its cookie) back.
      expect(reply!.text).not.toContain(SESSION_COOKIE);
    },
  },
  {
    id: 'H24',
    area: 'http',
    attack: 'a User-Agent carrying markup, quotes and Latin-1, reflected by the device list (stored XSS?)',
    modes: ['session'],
    expect: { status: 200 },
    async send(ctx) {
      const userAgent = `</script><script>alert(1)</script>"'\u00e9`;
      ctx.scratch.userAgent = userAgent;
      const { email, password } = ctx.victim;
      const login = await ctx.send('POST', '/auth/login', {
        json: { email, password },
        headers: { 'User-Agent': userAgent },
      });
      return [await ctx.send('GET', '/auth/sessions', { headers: { Cookie: login.cookies[0]!.split(';', 1)[0]! } })];
    },
    verify(ctx, _before, _after, [reply]) {
      // Data, not markup: JSON with nosniff, the value intact for the app to escape when it renders it.
      expect(reply!.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(reply!.headers.get('x-content-type-options')).toBe('nosniff');
      expect(reply!.headers.get('content-security-policy')).toContain("default-src 'none'");
      const agents = (reply!.body.sessions as { userAgent: string }[]).map((s) => s.userAgent);
      expect(agents).toContain(ctx.scratch.userAgent);
    },
  },
  {
    id: 'H25',
    area: 'http',
    attack: 'a login body naming "password" twice (a filter in front reads the first, JSON.parse keeps the last)',
    modes: ['session'],
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      const { email, password } = ctx.victim;
      const raw = `{"email":${JSON.stringify(email)},"password":"not it","password":${JSON.stringify(password)}}`;
      return [await ctx.send('POST', '/auth/login', { raw, headers: { 'Content-Type': 'application/json' } })];
    },
    check(_ctx, _b, _a, [reply]) {
      expect(reply!.cookies).toEqual([]);
    },
  },
];

export const HTTP_AND_REDIRECT_ROWS: AttackRow[] = [...REDIRECT_ROWS, ...HTTP_ROWS];
