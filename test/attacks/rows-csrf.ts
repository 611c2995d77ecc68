import { expect } from 'vitest';
import { PASSWORD, uniqueEmail } from '../helpers/server.js';
import { MODES, refreshCookieHeader, sessionCookieHeader, type Mode } from './harness.js';
import type { AttackContext, AttackRow, Outcome } from './row.js';

// CSRF (SECURITY.md 10, API.md): every unsafe route a browser would send a cookie to, from every
// kind of foreign page, must be 403 csrf_rejected and change nothing. Then the side doors: form
// content types, method overrides, GET and HEAD on state-changing routes, CORS.

const FOREIGN: [string, Record<string, string>][] = [
  ['a foreign Origin', { Origin: 'https://evil.example' }],
  ['Origin: null (a sandboxed frame or data: URL)', { Origin: 'null' }],
  ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
  ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'Sec-Fetch-Site': 'same-site' }],
];

interface UnsafeRoute {
  name: string;
  modes: readonly Mode[];
  request(ctx: AttackContext): Promise<{ method: string; path: string; cookie?: string; json?: unknown }>;
  check?: (ctx: AttackContext) => Promise<void>;
}

const sessionCookie = (ctx: AttackContext): string => sessionCookieHeader(ctx.victim.cookie!);

const UNSAFE_ROUTES: UnsafeRoute[] = [
  {
    name: 'POST /auth/logout with the session cookie',
    modes: ['session'],
    request: (ctx) => Promise.resolve({ method: 'POST', path: '/auth/logout', cookie: sessionCookie(ctx) }),
  },
  {
    name: 'POST /auth/logout with the refresh cookie',
    modes: ['token'],
    request: (ctx) =>
      Promise.resolve({ method: 'POST', path: '/auth/logout', cookie: refreshCookieHeader(ctx.victim.refreshToken!) }),
  },
  {
    name: 'POST /auth/logout-all',
    modes: ['session'],
    request: (ctx) => Promise.resolve({ method: 'POST', path: '/auth/logout-all', cookie: sessionCookie(ctx) }),
  },
  {
    name: 'DELETE /auth/sessions/:id',
    modes: ['session'],
    request: (ctx) =>
      Promise.resolve({ method: 'DELETE', path: `/auth/sessions/${ctx.victim.sessionId}`, cookie: sessionCookie(ctx) }),
  },
  {
    name: 'POST /auth/password',
    modes: ['session'],
    request: (ctx) =>
      Promise.resolve({
        method: 'POST',
        path: '/auth/password',
        cookie: sessionCookie(ctx),
        json: { currentPassword: ctx.victim.password, newPassword: 'a passphrase the attacker chose' },
      }),
  },
  {
    name: 'POST /api/notes',
    modes: ['session'],
    request: (ctx) =>
      Promise.resolve({ method: 'POST', path: '/api/notes', cookie: sessionCookie(ctx), json: { text: 'forged' } }),
  },
  {
    name: 'POST /auth/refresh with the refresh cookie',
    modes: ['token'],
    request: (ctx) =>
      Promise.resolve({ method: 'POST', path: '/auth/refresh', cookie: refreshCookieHeader(ctx.victim.refreshToken!) }),
  },
  {
    // Login CSRF: the foreign page logs the victim's browser into the attacker's account.
    name: "POST /auth/login into the attacker's account",
    modes: MODES,
    async request(ctx) {
      const attacker = await ctx.enrol('session');
      ctx.scratch.attacker = attacker;
      const cookie = ctx.victim.cookie ? sessionCookie(ctx) : undefined;
      return {
        method: 'POST',
        path: '/auth/login',
        ...(cookie ? { cookie } : {}),
        json: { email: attacker.email, password: attacker.password, mode: ctx.mode },
      };
    },
    async check(ctx) {
      const attacker = ctx.scratch.attacker as { userId: string };
      expect(await ctx.server.store.sessions.listByUser(attacker.userId)).toHaveLength(1);
    },
  },
  {
    name: 'POST /auth/register (an account created through the visitor)',
    modes: ['session'],
    request(ctx) {
      ctx.scratch.email = uniqueEmail('csrf-register');
      return Promise.resolve({
        method: 'POST',
        path: '/auth/register',
        cookie: sessionCookie(ctx),
        json: { email: ctx.scratch.email as string, password: PASSWORD },
      });
    },
    async check(ctx) {
      expect(await ctx.server.store.users.findByEmail(ctx.scratch.email as string)).toBeNull();
    },
  },
];

let counter = 0;
const nextId = (): string => `C${String(++counter).padStart(2, '0')}`;

const CROSS_SITE_ROWS: AttackRow[] = UNSAFE_ROUTES.flatMap((route) =>
  FOREIGN.map(([variant, headers], i): AttackRow => ({
    id: nextId(),
    area: 'csrf',
    attack: `${route.name} from ${variant}`,
    modes: route.modes,
    ...(i === 0 ? { everyStore: true } : {}),
    expect: { status: 403, code: 'csrf_rejected' },
    async send(ctx) {
      const { method, path, cookie, json } = await route.request(ctx);
      const reply = await ctx.send(method, path, {
        origin: null,
        headers: { ...headers, ...(cookie ? { Cookie: cookie } : {}) },
        ...(json !== undefined ? { json } : {}),
      });
      return [reply];
    },
    async check(ctx, _before, _after, [reply]) {
      expect(reply!.cookies).toEqual([]);
      expect(reply!.body.accessToken).toBeUndefined();
      await route.check?.(ctx);
    },
  })),
);

/** A cookie-carrying request with exactly these headers (no Origin unless given). */
function sideDoor(
  id: string,
  attack: string,
  expected: Outcome,
  request: (ctx: AttackContext) => { method: string; path: string; headers?: Record<string, string>; raw?: string },
  options: { allow?: string } = {},
): AttackRow {
  const { allow } = options;
  return {
    id,
    area: 'csrf',
    attack,
    modes: ['session'],
    expect: expected,
    async send(ctx) {
      const { method, path, headers = {}, raw } = request(ctx);
      return [
        await ctx.send(method, path, {
          origin: null,
          headers: { Cookie: sessionCookie(ctx), ...headers },
          ...(raw !== undefined ? { raw } : {}),
        }),
      ];
    },
    ...(allow ? { check: (_ctx, _before, _after, [reply]) => expect(reply!.headers.get('allow')).toBe(allow) } : {}),
  };
}

const FORM = 'application/x-www-form-urlencoded';
const notAllowed = { status: 405, code: 'method_not_allowed' };

const SIDE_DOOR_ROWS: AttackRow[] = [
  sideDoor(
    'C37',
    'a legacy cross-site form POST to /auth/login (urlencoded, no Origin)',
    {
      status: 415,
      code: 'unsupported_media_type',
    },
    (ctx) => ({
      method: 'POST',
      path: '/auth/login',
      headers: { 'Content-Type': FORM },
      raw: `email=${encodeURIComponent(ctx.victim.email)}&password=${encodeURIComponent(ctx.victim.password)}`,
    }),
  ),
  sideDoor('C38', 'a multipart form POST to /auth/register', { status: 415, code: 'unsupported_media_type' }, () => ({
    method: 'POST',
    path: '/auth/register',
    headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
    raw: '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\nform@example.com\r\n--x--\r\n',
  })),
  sideDoor(
    'C39',
    'a text/plain JSON body to /api/notes with the cookie and no Origin',
    {
      status: 403,
      code: 'csrf_rejected',
    },
    () => ({ method: 'POST', path: '/api/notes', headers: { 'Content-Type': 'text/plain' }, raw: '{"text":"forged"}' }),
  ),
  sideDoor(
    'C40',
    'a text/plain JSON body to /auth/password from our own Origin',
    {
      status: 415,
      code: 'unsupported_media_type',
    },
    (ctx) => ({
      method: 'POST',
      path: '/auth/password',
      headers: { 'Content-Type': 'text/plain', Origin: 'http://localhost:3000' },
      raw: JSON.stringify({ currentPassword: ctx.victim.password, newPassword: 'a passphrase the attacker chose' }),
    }),
  ),
  sideDoor(
    'C41',
    'an urlencoded form POST to /auth/logout-all with the cookie and no Origin',
    {
      status: 403,
      code: 'csrf_rejected',
    },
    () => ({ method: 'POST', path: '/auth/logout-all', headers: { 'Content-Type': FORM }, raw: 'a=1' }),
  ),
  sideDoor(
    'C42',
    'POST /auth/sessions/:id with X-HTTP-Method-Override: DELETE',
    notAllowed,
    (ctx) => ({
      method: 'POST',
      path: `/auth/sessions/${ctx.victim.sessionId}`,
      headers: { 'X-HTTP-Method-Override': 'DELETE', 'X-Method-Override': 'DELETE', Origin: 'http://localhost:3000' },
    }),
    { allow: 'DELETE' },
  ),
  sideDoor(
    'C43',
    'GET /auth/logout-all with X-HTTP-Method-Override: POST',
    notAllowed,
    () => ({ method: 'GET', path: '/auth/logout-all', headers: { 'X-HTTP-Method-Override': 'POST' } }),
    { allow: 'POST' },
  ),
  sideDoor(
    'C44',
    'POST /auth/sessions/:id?_method=DELETE',
    notAllowed,
    (ctx) => ({
      method: 'POST',
      path: `/auth/sessions/${ctx.victim.sessionId}?_method=DELETE`,
      headers: { Origin: 'http://localhost:3000' },
    }),
    { allow: 'DELETE' },
  ),
  ...['/auth/logout', '/auth/logout-all', '/auth/password', '/auth/login', '/auth/register', '/auth/refresh'].map(
    (path, i) =>
      sideDoor(
        `C${45 + i}`,
        `GET ${path} (an <img> or link on a foreign page)`,
        notAllowed,
        () => ({ method: 'GET', path }),
        {
          allow: 'POST',
        },
      ),
  ),
  sideDoor(
    'C51',
    'GET /auth/sessions/:id',
    notAllowed,
    (ctx) => ({ method: 'GET', path: `/auth/sessions/${ctx.victim.sessionId}` }),
    { allow: 'DELETE' },
  ),
  // HEAD answers carry no body, so only the status and Allow are there to check.
  sideDoor('C52', 'HEAD /auth/logout-all', { status: 405 }, () => ({ method: 'HEAD', path: '/auth/logout-all' }), {
    allow: 'POST',
  }),
  {
    id: 'C53',
    area: 'csrf',
    attack: 'GET /api/notes?text=forged (state through a query string)',
    modes: ['session'],
    expect: { status: 200 },
    async send(ctx) {
      return [await ctx.send('GET', '/api/notes?text=forged', { headers: { Cookie: sessionCookie(ctx) } })];
    },
  },
  {
    id: 'C54',
    area: 'csrf',
    attack: 'a CORS preflight (OPTIONS) for /auth/logout-all from a foreign origin',
    modes: ['session'],
    expect: { status: 405, code: 'method_not_allowed' },
    async send(ctx) {
      return [
        await ctx.send('OPTIONS', '/auth/logout-all', {
          headers: {
            Origin: 'https://evil.example',
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'content-type',
          },
        }),
      ];
    },
    check(_ctx, _before, _after, [reply]) {
      expect([...reply!.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    },
  },
  {
    id: 'C55',
    area: 'csrf',
    attack: 'a cross-origin fetch of GET /auth/me with credentials (can the foreign page read it?)',
    modes: ['session'],
    // The request itself is harmless; without CORS headers the browser keeps the answer from the page.
    expect: { status: 200 },
    async send(ctx) {
      return [
        await ctx.send('GET', '/auth/me', {
          headers: { Cookie: sessionCookie(ctx), Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
        }),
      ];
    },
    check(_ctx, _before, _after, [reply]) {
      expect([...reply!.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    },
  },
  ...(
    [
      [
        'C56',
        'our Origin but Sec-Fetch-Site: cross-site',
        { Origin: 'http://localhost:3000', 'Sec-Fetch-Site': 'cross-site' },
      ],
      ['C57', 'an Origin differing only in scheme (https://localhost:3000)', { Origin: 'https://localhost:3000' }],
      ['C58', 'an Origin differing only in port', { Origin: 'http://localhost:3001' }],
      [
        'C59',
        'an Origin with our origin as a prefix (http://localhost:3000.evil.example)',
        {
          Origin: 'http://localhost:3000.evil.example',
        },
      ],
      ['C60', 'our origin in upper case (not how browsers serialise it)', { Origin: 'HTTP://LOCALHOST:3000' }],
    ] as const
  ).map(([id, variant, headers]) =>
    sideDoor(id, `POST /auth/logout-all with ${variant}`, { status: 403, code: 'csrf_rejected' }, () => ({
      method: 'POST',
      path: '/auth/logout-all',
      headers: { ...headers },
    })),
  ),
];

export const CSRF_ROWS: AttackRow[] = [...CROSS_SITE_ROWS, ...SIDE_DOOR_ROWS];
