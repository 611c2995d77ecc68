import { expect } from 'vitest';
import { hashSecret } from '../../src/core/random.js';
import { refreshCookieOf } from '../helpers/tokens.js';
import { MODES, TOKEN_MODES, refreshCookieHeader, sessionCookieHeader, type Victim } from './harness.js';
import { bearer, claimsOf, deviceEnded, type AttackContext, type AttackRow } from './row.js';
import type { Reply } from './harness.js';

// Refresh-token attacks (SECURITY.md 3, 8, 9): replay, reuse detection, races between the
// legitimate client and a thief, and tokens of one kind presented as another. Then privilege.

const GRACE_MS = 10_000;

/** The victim's client refreshing: the cookie in token mode, the body in native mode. */
function refreshAsClient(ctx: AttackContext, token: string, who: Victim = ctx.victim): Promise<Reply> {
  return who.mode === 'token'
    ? ctx.send('POST', '/auth/refresh', { headers: { Cookie: refreshCookieHeader(token) } })
    : ctx.send('POST', '/auth/refresh', { json: { refreshToken: token }, origin: null });
}

/** A thief with a copied token uses it from their own machine, in the body. */
const refreshAsThief = (ctx: AttackContext, token: string): Promise<Reply> =>
  ctx.send('POST', '/auth/refresh', { json: { refreshToken: token }, origin: null });

const successorOf = (reply: Reply, via: 'cookie' | 'body'): string =>
  (via === 'cookie' ? refreshCookieOf(reply) : reply.body.refreshToken) as string;
const clientVia = (ctx: AttackContext): 'cookie' | 'body' => (ctx.victim.mode === 'token' ? 'cookie' : 'body');

/** Presenting `token` now gets exactly `code`. */
async function expectRefused(ctx: AttackContext, token: string, code: string): Promise<void> {
  const reply = await refreshAsThief(ctx, token);
  expect([reply.status, reply.body.code]).toEqual([401, code]);
}

/** After reuse detection: the device, its family and every token of it are dead. */
async function familyRevoked(ctx: AttackContext, liveTokens: string[]): Promise<void> {
  await deviceEnded(ctx);
  expect(await ctx.server.store.refreshFamilies.findByTokenHash(hashSecret(ctx.victim.refreshToken!))).toBeNull();
  for (const token of liveTokens) await expectRefused(ctx, token, 'invalid_refresh_token');
  const me = await ctx.send('GET', '/auth/me', { headers: bearer(ctx.victim.accessToken!) });
  expect([me.status, me.body.code]).toEqual([401, 'invalid_token']);
}

export const REFRESH_ROWS: AttackRow[] = [
  {
    id: 'R01',
    area: 'refresh',
    attack: 'a refresh token replayed after it was rotated, past the 10 s grace',
    modes: TOKEN_MODES,
    everyStore: true,
    expect: { status: 401, code: 'refresh_token_reused' },
    async send(ctx) {
      const first = await refreshAsClient(ctx, ctx.victim.refreshToken!);
      expect(first.status).toBe(200);
      ctx.scratch.successor = successorOf(first, clientVia(ctx));
      ctx.server.clock.advance(GRACE_MS + 1000);
      return [await refreshAsClient(ctx, ctx.victim.refreshToken!)];
    },
    verify: (ctx) => familyRevoked(ctx, [ctx.scratch.successor as string]),
  },
  {
    id: 'R02',
    area: 'refresh',
    attack: 'a refresh token replayed after logout',
    modes: TOKEN_MODES,
    everyStore: true,
    expect: { status: 401, code: 'invalid_refresh_token' },
    async send(ctx) {
      const { accessToken, refreshToken } = ctx.victim;
      const out =
        ctx.mode === 'token'
          ? await ctx.send('POST', '/auth/logout', {
              headers: { ...bearer(accessToken!), Cookie: refreshCookieHeader(refreshToken!) },
            })
          : await ctx.send('POST', '/auth/logout', { headers: bearer(accessToken!), json: { refreshToken } });
      expect(out.status).toBe(204);
      return [await refreshAsClient(ctx, refreshToken!), await refreshAsThief(ctx, refreshToken!)];
    },
    verify: deviceEnded,
  },
  {
    id: 'R03',
    area: 'refresh',
    attack: 'a token two generations old presented at once after the second rotation',
    modes: TOKEN_MODES,
    expect: { status: 401, code: 'refresh_token_reused' },
    async send(ctx) {
      const first = await refreshAsClient(ctx, ctx.victim.refreshToken!);
      ctx.server.clock.advance(GRACE_MS + 1000);
      const second = await refreshAsClient(ctx, successorOf(first, clientVia(ctx)));
      expect(second.status).toBe(200);
      ctx.scratch.successor = successorOf(second, clientVia(ctx));
      return [await refreshAsThief(ctx, ctx.victim.refreshToken!)];
    },
    verify: (ctx) => familyRevoked(ctx, [ctx.scratch.successor as string]),
  },
  {
    id: 'R04',
    area: 'refresh',
    attack: "the attacker's refresh cookie together with the victim's refresh token in the body",
    modes: TOKEN_MODES,
    everyStore: true,
    // API.md: the cookie wins. Only the attacker's own family rotates; the body is never read.
    expect: { status: 200 },
    async send(ctx) {
      const attacker = await ctx.enrol('token');
      ctx.scratch.attacker = attacker;
      return [
        await ctx.send('POST', '/auth/refresh', {
          headers: { Cookie: refreshCookieHeader(attacker.refreshToken!) },
          json: { refreshToken: ctx.victim.refreshToken },
        }),
      ];
    },
    check(ctx, _before, _after, [reply]) {
      expect(claimsOf(reply!.body.accessToken as string).sub).toBe((ctx.scratch.attacker as Victim).userId);
    },
  },
  {
    id: 'R05',
    area: 'refresh',
    attack: "DELETE /auth/sessions/:id of the victim's token device, with the attacker's bearer",
    modes: TOKEN_MODES,
    expect: { status: 404, code: 'not_found' },
    async send(ctx) {
      const attacker = await ctx.enrol('native');
      return [
        await ctx.send('DELETE', `/auth/sessions/${ctx.victim.sessionId}`, { headers: bearer(attacker.accessToken!) }),
      ];
    },
  },
  {
    id: 'R06',
    area: 'refresh',
    attack: 'race: the legitimate client rotates first, the thief replays the stolen token after the grace',
    modes: TOKEN_MODES,
    everyStore: true,
    expect: { status: 401, code: 'refresh_token_reused' },
    async send(ctx) {
      const legit = await refreshAsClient(ctx, ctx.victim.refreshToken!);
      expect(legit.status).toBe(200);
      ctx.scratch.live = [successorOf(legit, clientVia(ctx))];
      ctx.server.clock.advance(GRACE_MS + 1000);
      return [await refreshAsThief(ctx, ctx.victim.refreshToken!)];
    },
    verify: (ctx) => familyRevoked(ctx, ctx.scratch.live as string[]),
  },
  {
    id: 'R07',
    area: 'refresh',
    attack: 'race: the thief rotates first, the legitimate client refreshes after the grace',
    modes: TOKEN_MODES,
    everyStore: true,
    expect: { status: 401, code: 'refresh_token_reused' },
    async send(ctx) {
      const thief = await refreshAsThief(ctx, ctx.victim.refreshToken!);
      expect(thief.status).toBe(200);
      ctx.scratch.live = [thief.body.refreshToken as string];
      ctx.server.clock.advance(GRACE_MS + 1000);
      return [await refreshAsClient(ctx, ctx.victim.refreshToken!)];
    },
    // The thief's successor dies with the family: reuse detection cuts the thief off.
    verify: (ctx) => familyRevoked(ctx, ctx.scratch.live as string[]),
  },
  {
    id: 'R08',
    area: 'refresh',
    attack: 'race: client and thief present the same token at the same instant, then the thief rotates on',
    modes: TOKEN_MODES,
    everyStore: true,
    // Inside the grace both get the very same successor: one chain, never two live successors.
    expect: { status: 200 },
    async send(ctx) {
      const replies = await Promise.all([
        refreshAsClient(ctx, ctx.victim.refreshToken!),
        refreshAsThief(ctx, ctx.victim.refreshToken!),
      ]);
      ctx.scratch.replies = replies;
      return replies;
    },
    async verify(ctx) {
      const [legit, thief] = ctx.scratch.replies as [Reply, Reply];
      const successor = successorOf(legit, clientVia(ctx));
      expect(successorOf(thief, 'body')).toBe(successor);
      const family = await ctx.server.store.refreshFamilies.findByTokenHash(hashSecret(successor));
      expect([family?.generation, family?.currentHash]).toEqual([1, hashSecret(successor)]);
      // The thief moves on; the client, presenting the successor after the grace, reveals the theft.
      const onward = await refreshAsThief(ctx, successor);
      expect(onward.status).toBe(200);
      ctx.server.clock.advance(GRACE_MS + 1000);
      const reveal = await refreshAsClient(ctx, successor);
      expect([reveal.status, reveal.body.code]).toEqual([401, 'refresh_token_reused']);
      await familyRevoked(ctx, [onward.body.refreshToken as string]);
    },
  },
  {
    id: 'R09',
    area: 'refresh',
    attack: 'the access token presented as a refresh token',
    modes: TOKEN_MODES,
    expect: { status: 401, code: 'invalid_refresh_token' },
    async send(ctx) {
      return [await refreshAsThief(ctx, ctx.victim.accessToken!)];
    },
  },
  {
    id: 'R10',
    area: 'refresh',
    attack: 'the refresh token with a trailing newline, in upper case, and with "=" padding',
    modes: TOKEN_MODES,
    expect: { status: 401, code: 'invalid_refresh_token' },
    async send(ctx) {
      const token = ctx.victim.refreshToken!;
      return [
        await refreshAsThief(ctx, `${token}\n`),
        await refreshAsThief(ctx, token.toUpperCase()),
        await refreshAsThief(ctx, `${token}=`),
      ];
    },
  },
  {
    id: 'R11',
    area: 'refresh',
    attack: "two refresh cookies: the attacker's and the victim's",
    modes: ['token'],
    expect: { status: 400, code: 'ambiguous_credentials' },
    async send(ctx) {
      const attacker = await ctx.enrol('token');
      const cookie = `${refreshCookieHeader(attacker.refreshToken!)}; ${refreshCookieHeader(ctx.victim.refreshToken!)}`;
      return [
        await ctx.send('POST', '/auth/refresh', { headers: { Cookie: cookie } }),
        await ctx.send('POST', '/auth/logout', { headers: { Cookie: cookie } }),
      ];
    },
  },
  {
    id: 'R12',
    area: 'refresh',
    attack: 'a refresh token replayed after 7 idle days',
    modes: TOKEN_MODES,
    expect: { status: 401, code: 'invalid_refresh_token' },
    async send(ctx) {
      ctx.server.clock.advance(7 * 24 * 3600_000 + 1000);
      return [await refreshAsClient(ctx, ctx.victim.refreshToken!)];
    },
  },
  {
    id: 'R13',
    area: 'refresh',
    attack: 'the refresh token presented as the session cookie',
    modes: TOKEN_MODES,
    expect: { status: 401, code: 'unauthenticated' },
    async send(ctx) {
      return [
        await ctx.send('GET', '/auth/me', { headers: { Cookie: sessionCookieHeader(ctx.victim.refreshToken!) } }),
      ];
    },
  },
  {
    id: 'P01',
    area: 'privilege',
    attack: 'a signed-in user calls the admin route GET /api/admin/users',
    modes: MODES,
    everyStore: true,
    expect: { status: 403, code: 'forbidden' },
    async send(ctx) {
      const headers = ctx.victim.cookie
        ? { Cookie: sessionCookieHeader(ctx.victim.cookie) }
        : bearer(ctx.victim.accessToken!);
      return [await ctx.send('GET', '/api/admin/users', { headers })];
    },
  },
  {
    id: 'P02',
    area: 'privilege',
    attack: "a logged-out device's access token on every strict route",
    modes: TOKEN_MODES,
    everyStore: true,
    expect: { status: 401, code: 'invalid_token' },
    async send(ctx) {
      const headers = bearer(ctx.victim.accessToken!);
      expect((await ctx.send('POST', '/auth/logout', { headers, origin: null })).status).toBe(204);
      return [
        await ctx.send('GET', '/auth/me', { headers }),
        await ctx.send('GET', '/auth/sessions', { headers }),
        await ctx.send('POST', '/auth/logout-all', { headers }),
        await ctx.send('POST', '/auth/password', {
          headers,
          json: { currentPassword: ctx.victim.password, newPassword: 'the attacker chose this' },
        }),
        await ctx.send('GET', '/api/admin/users', { headers }),
      ];
    },
    async verify(ctx) {
      await deviceEnded(ctx);
      // The documented trade-off: the stateless demo route accepts it until it expires.
      expect((await ctx.send('GET', '/api/notes', { headers: bearer(ctx.victim.accessToken!) })).status).toBe(200);
    },
  },
  {
    id: 'P03',
    area: 'privilege',
    attack: 'an access token still saying role "admin" after the role was taken away',
    modes: TOKEN_MODES,
    expect: { status: 403, code: 'forbidden' },
    async send(ctx) {
      await ctx.server.auth.setRole(ctx.victim.userId, 'admin');
      const refreshed = await refreshAsClient(ctx, ctx.victim.refreshToken!);
      const adminToken = refreshed.body.accessToken as string;
      expect(claimsOf(adminToken).role).toBe('admin');
      await ctx.server.auth.setRole(ctx.victim.userId, 'user');
      return [await ctx.send('GET', '/api/admin/users', { headers: bearer(adminToken) })];
    },
    async verify(ctx, _before, after) {
      expect(after.user?.role).toBe('user');
      const me = await ctx.send('GET', '/auth/me', { headers: bearer(ctx.victim.accessToken!) });
      expect([me.status, me.body.user.role]).toEqual([200, 'user']);
    },
  },
];
