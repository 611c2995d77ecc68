import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { hashSecret } from '../../src/core/random.js';
import { SESSION_COOKIE, sessionCookieOf } from '../helpers/server.js';
import { MODES, credentials, sessionCookieHeader, type Victim } from './harness.js';
import { unchanged, type AttackContext, type AttackRow } from './row.js';

// Session-cookie attacks (SECURITY.md 3, 4, 5, 17; API.md decisions on cookie tossing and dead
// cookies). The victim is logged in with a cookie; the attacker sends cookies of their making.

const SESSION = ['session'] as const;

/** GET /auth/me with exactly this Cookie header. */
const meWithCookie = (ctx: AttackContext, cookie: string) =>
  ctx.send('GET', '/auth/me', { headers: { Cookie: cookie } });

function cookieRow(
  id: string,
  attack: string,
  cookie: (ctx: AttackContext) => string | Promise<string>,
  options: { everyStore?: boolean } = {},
): AttackRow {
  return {
    id,
    area: 'session',
    attack,
    modes: SESSION,
    ...(options.everyStore ? { everyStore: true } : {}),
    expect: { status: 401, code: 'unauthenticated' },
    async send(ctx) {
      return [await meWithCookie(ctx, await cookie(ctx))];
    },
  };
}

const victimSecret = (ctx: AttackContext): string => ctx.victim.cookie!;

export const SESSION_ROWS: AttackRow[] = [
  {
    id: 'S01',
    area: 'session',
    attack: 'fixation: the victim logs in carrying a session ID the attacker chose',
    modes: SESSION,
    everyStore: true,
    expect: { status: 200 },
    async send(ctx) {
      const chosen = randomBytes(32).toString('base64url');
      ctx.scratch.chosen = chosen;
      const { email, password } = ctx.victim;
      return [await ctx.send('POST', '/auth/login', { json: { email, password }, session: chosen })];
    },
    async verify(ctx, _before, _after, [login]) {
      const chosen = ctx.scratch.chosen as string;
      expect(sessionCookieOf(login!)).not.toBe(chosen);
      expect(await ctx.server.store.sessions.findBySecretHash(hashSecret(chosen))).toBeNull();
      const replay = await meWithCookie(ctx, sessionCookieHeader(chosen));
      expect([replay.status, replay.body.code]).toEqual([401, 'unauthenticated']);
    },
  },
  {
    id: 'S02',
    area: 'session',
    attack: "fixation: the victim logs in carrying the attacker's own valid session cookie (planted)",
    modes: SESSION,
    expect: { status: 200 },
    async send(ctx) {
      const planted = await ctx.enrol('session');
      ctx.scratch.planted = planted;
      const { email, password } = ctx.victim;
      return [await ctx.send('POST', '/auth/login', { json: { email, password }, session: planted.cookie! })];
    },
    async verify(ctx, _before, _after, [login]) {
      const planted = ctx.scratch.planted as Victim;
      const issued = sessionCookieOf(login!)!;
      expect(issued).not.toBe(planted.cookie);
      expect(login!.body.user.id).toBe(ctx.victim.userId);
      // The planted session is ended, so the attacker's copy of that cookie is worthless.
      expect(await ctx.server.store.sessions.findById(planted.sessionId)).toBeNull();
      expect((await meWithCookie(ctx, sessionCookieHeader(issued))).body.user.id).toBe(ctx.victim.userId);
    },
  },
  {
    ...cookieRow('S03', 'a guessed session ID (256 random bits, well-formed)', () =>
      sessionCookieHeader(randomBytes(32).toString('base64url')),
    ),
    everyStore: true,
    check(_ctx, _before, _after, [reply]) {
      // A dead cookie is deleted (API.md), and nothing else is set.
      expect(reply!.cookies).toEqual([`${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`]);
    },
  },
  {
    id: 'S04',
    area: 'session',
    attack: 'a revoked session ID replayed after logout',
    modes: SESSION,
    everyStore: true,
    expect: { status: 401, code: 'unauthenticated' },
    async send(ctx) {
      const other = await ctx.enrol('session');
      expect((await ctx.send('POST', '/auth/logout', { session: other.cookie! })).status).toBe(204);
      return [
        await meWithCookie(ctx, sessionCookieHeader(other.cookie!)),
        await ctx.send('POST', '/auth/logout-all', { session: other.cookie! }),
      ];
    },
  },
  cookieRow('S05', "another user's public session id (ses_…) as the cookie value", async (ctx) =>
    sessionCookieHeader((await ctx.enrol('session')).sessionId),
  ),
  {
    id: 'S06',
    area: 'session',
    attack: "DELETE /auth/sessions/:id of another user's device",
    modes: MODES,
    everyStore: true,
    expect: { status: 404, code: 'not_found' },
    async send(ctx) {
      const stranger = await ctx.enrol('session');
      ctx.scratch.stranger = stranger;
      return [await ctx.send('DELETE', `/auth/sessions/${stranger.sessionId}`, { headers: credentials(ctx.victim) })];
    },
    async check(ctx) {
      const stranger = ctx.scratch.stranger as Victim;
      expect((await meWithCookie(ctx, sessionCookieHeader(stranger.cookie!))).body.user.id).toBe(stranger.userId);
    },
  },
  cookieRow('S07', 'cookie tossing: only an unprefixed coatcheck.sid carrying a valid session', async (ctx) => {
    const attacker = await ctx.enrol('session');
    return `coatcheck.sid=${attacker.cookie!}`;
  }),
  {
    id: 'S08',
    area: 'session',
    attack: "cookie tossing: the attacker's unprefixed coatcheck.sid placed before the victim's __Host- cookie",
    modes: SESSION,
    expect: { status: 200 },
    async send(ctx) {
      const attacker = await ctx.enrol('session');
      return [await meWithCookie(ctx, `coatcheck.sid=${attacker.cookie!}; ${sessionCookieHeader(victimSecret(ctx))}`)];
    },
    check(ctx, _before, _after, [reply]) {
      expect(reply!.body.user.id).toBe(ctx.victim.userId);
    },
  },
  {
    id: 'S09',
    area: 'session',
    attack: "two __Host-coatcheck.sid cookies: the victim's and the attacker's",
    modes: SESSION,
    everyStore: true,
    expect: { status: 400, code: 'ambiguous_credentials' },
    async send(ctx) {
      const attacker = await ctx.enrol('session');
      const both = `${sessionCookieHeader(attacker.cookie!)}; ${sessionCookieHeader(victimSecret(ctx))}`;
      return [
        await meWithCookie(ctx, both),
        await ctx.send('POST', '/auth/logout-all', { headers: { Cookie: both } }),
        await ctx.send('POST', '/auth/logout', { headers: { Cookie: both } }),
      ];
    },
  },
  cookieRow(
    'S10',
    'the cookie name in another case (__HOST-coatcheck.SID)',
    (ctx) => `__HOST-coatcheck.SID=${victimSecret(ctx)}`,
  ),
  cookieRow('S11', 'the secret percent-encoded byte by byte', (ctx) =>
    sessionCookieHeader(
      [...victimSecret(ctx)].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    ),
  ),
  cookieRow('S12', 'the secret re-encoded in standard base64 with padding', (ctx) =>
    sessionCookieHeader(Buffer.from(victimSecret(ctx), 'base64url').toString('base64')),
  ),
  cookieRow('S13', 'the secret with one more character', (ctx) => sessionCookieHeader(`${victimSecret(ctx)}A`)),
  cookieRow('S14', 'the secret in upper case', (ctx) => sessionCookieHeader(victimSecret(ctx).toUpperCase())),
  cookieRow('S15', 'the secret cut by one character', (ctx) => sessionCookieHeader(victimSecret(ctx).slice(0, -1))),
  cookieRow('S16', 'a 4 KiB cookie value', () => sessionCookieHeader('A'.repeat(4096))),
  cookieRow('S17', 'the SHA-256 of the secret (what a stolen database holds) as the cookie', (ctx) =>
    sessionCookieHeader(hashSecret(victimSecret(ctx))),
  ),
  {
    id: 'S18',
    area: 'session',
    attack: 'the secret with NUL and CR/LF bytes around it (raw socket)',
    modes: SESSION,
    // Node's HTTP parser refuses control characters in a header value before coatcheck runs.
    expect: { status: 400 },
    async send(ctx) {
      const secret = victimSecret(ctx);
      const replies = [];
      for (const value of [`${secret}\u0000`, `${secret}\rX-Injected: 1`, `\n${secret}`]) {
        replies.push(
          await ctx.raw([
            `GET /auth/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: ${SESSION_COOKIE}=${value}\r\n\r\n`,
          ]),
        );
      }
      return replies;
    },
  },
  {
    id: 'S19',
    area: 'session',
    attack: 'a stolen cookie replayed after the 7-day absolute lifetime',
    modes: SESSION,
    expect: { status: 401, code: 'unauthenticated' },
    async send(ctx) {
      // Kept busy, so only the absolute deadline can end it.
      for (let day = 0; day < 7; day++) {
        ctx.server.clock.advance(23 * 3600_000);
        expect((await meWithCookie(ctx, sessionCookieHeader(victimSecret(ctx)))).status).toBe(200);
      }
      ctx.server.clock.advance(7 * 3600_000 + 1000);
      return [await meWithCookie(ctx, sessionCookieHeader(victimSecret(ctx)))];
    },
    async verify(ctx) {
      expect(await ctx.server.store.sessions.findById(ctx.victim.sessionId)).toBeNull();
    },
  },
  {
    id: 'S20',
    area: 'session',
    attack: 'the session secret sent as a refresh token (body of POST /auth/refresh)',
    modes: SESSION,
    expect: { status: 401, code: 'invalid_refresh_token' },
    async send(ctx) {
      return [await ctx.send('POST', '/auth/refresh', { json: { refreshToken: victimSecret(ctx) }, origin: null })];
    },
  },
  {
    id: 'S21',
    area: 'session',
    attack: "a quoted cookie value (RFC 6265 DQUOTE form) of the victim's own secret",
    modes: SESSION,
    // The quotes are syntax, not part of the value: the same secret, the same person, nobody else.
    expect: { status: 200 },
    async send(ctx) {
      return [await meWithCookie(ctx, `${SESSION_COOKIE}="${victimSecret(ctx)}"`)];
    },
    async verify(ctx, before, after, [reply]) {
      expect(reply!.body.user.id).toBe(ctx.victim.userId);
      await unchanged(ctx, before, after);
    },
  },
];
