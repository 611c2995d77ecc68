import { expect } from 'vitest';
import { call, PASSWORD, startTestServer, uniqueEmail } from '../helpers/server.js';
import { MODES, credentials, type Reply } from './harness.js';
import { unchanged, type AttackContext, type AttackRow } from './row.js';

// Login and registration (SECURITY.md 1, 2, 12, 19; API.md throttling and normalisation):
// enumeration by status, body, timing and 429; throttling that slows but never locks out;
// passwords at the length limits; Unicode forms of passwords and emails; mass assignment.

const SESSION = ['session'] as const;
const WRONG = 'not the right password';

const login = (ctx: AttackContext, json: Record<string, unknown>, headers: Record<string, string> = {}) =>
  ctx.send('POST', '/auth/login', { json: { mode: ctx.mode, ...json }, headers });
const register = (ctx: AttackContext, json: Record<string, unknown>) => ctx.send('POST', '/auth/register', { json });

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(action: () => Promise<Reply>): Promise<[Reply, number]> {
  const started = performance.now();
  const reply = await action();
  return [reply, performance.now() - started];
}

/** Fails `count` logins for `email` (each 401), as a guesser would. */
async function fail(ctx: AttackContext, email: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const reply = await login(ctx, { email, password: `${WRONG} ${i}` });
    expect(reply.status).toBe(401);
  }
}

const retryAfterOf = (reply: Reply): number => Number(reply.headers.get('retry-after'));

/** Full-width forms of ASCII (U+FF01 to U+FF5E): NFKC maps them back. */
const fullWidth = (text: string): string =>
  [...text].map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');

/** Registering `email` must be refused with 400 invalid_request, and create nobody. */
function badEmail(id: string, attack: string, email: (ctx: AttackContext) => string): AttackRow {
  return {
    id,
    area: 'login',
    attack,
    modes: SESSION,
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      ctx.scratch.email = email(ctx);
      return [
        await register(ctx, { email: ctx.scratch.email, password: PASSWORD }),
        await login(ctx, { email: ctx.scratch.email, password: PASSWORD }),
      ];
    },
    async check(ctx) {
      expect(await ctx.server.store.users.findByEmail(ctx.scratch.email as string)).toBeNull();
    },
  };
}

/** Registering with this body must be refused with `expected`, and create nobody. */
function badRegistration(
  id: string,
  attack: string,
  expected: { status: number; code: string },
  body: (email: string) => Record<string, unknown> | string,
  options: { everyStore?: boolean } = {},
): AttackRow {
  return {
    id,
    area: 'login',
    attack,
    modes: SESSION,
    ...(options.everyStore ? { everyStore: true } : {}),
    expect: expected,
    async send(ctx) {
      const email = uniqueEmail('reg-attack');
      ctx.scratch.email = email;
      const made = body(email);
      return [
        typeof made === 'string'
          ? await ctx.send('POST', '/auth/register', { raw: made, headers: { 'Content-Type': 'application/json' } })
          : await register(ctx, made),
      ];
    },
    async check(ctx) {
      expect(await ctx.server.store.users.findByEmail(ctx.scratch.email as string)).toBeNull();
    },
  };
}

/** Registers a user with `stored`, then logs in with `typed`: must get `status`. */
function passwordForms(id: string, attack: string, stored: string, typed: string, status: 200 | 401): AttackRow {
  return {
    id,
    area: 'login',
    attack,
    modes: MODES,
    expect: status === 200 ? { status } : { status, code: 'invalid_credentials' },
    async send(ctx) {
      const email = uniqueEmail('forms');
      expect((await register(ctx, { email, password: stored })).status).toBe(201);
      return [await login(ctx, { email, password: typed })];
    },
  };
}

export const LOGIN_ROWS: AttackRow[] = [
  {
    id: 'L01',
    area: 'login',
    attack: 'enumeration by answer: a wrong password for a real account vs an unknown email',
    modes: MODES,
    everyStore: true,
    expect: { status: 401, code: 'invalid_credentials' },
    async send(ctx) {
      return [
        await login(ctx, { email: ctx.victim.email, password: WRONG }),
        await login(ctx, { email: uniqueEmail('ghost'), password: WRONG }),
      ];
    },
    check(_ctx, _before, _after, [known, unknown]) {
      expect(unknown!.text).toBe(known!.text);
      for (const header of ['www-authenticate', 'content-type', 'cache-control', 'retry-after']) {
        expect(unknown!.headers.get(header)).toBe(known!.headers.get(header));
      }
      expect([known!.cookies, unknown!.cookies]).toEqual([[], []]);
    },
  },
  {
    id: 'L02',
    area: 'login',
    attack: 'enumeration by timing: 9 wrong-password logins vs 9 unknown-email logins, each pair back to back',
    modes: SESSION,
    expect: { status: 401, code: 'invalid_credentials' },
    async send(ctx) {
      const ratios: number[] = [];
      const replies: Reply[] = [];
      for (let i = 0; i < 9; i++) {
        // Clear of throttling, which answers 429 without hashing.
        ctx.server.clock.advance(61 * 60_000);
        const pair = [
          () => timed(() => login(ctx, { email: ctx.victim.email, password: `${WRONG} ${i}` })),
          () => timed(() => login(ctx, { email: uniqueEmail('ghost'), password: `${WRONG} ${i}` })),
        ] as const;
        // Alternate the order so neither side always runs on a warmer process.
        const [a, b] = i % 2 === 0 ? [pair[0], pair[1]] : [pair[1], pair[0]];
        const first = await a();
        const second = await b();
        const [k, u] = i % 2 === 0 ? [first, second] : [second, first];
        ratios.push(k[1] / u[1]);
        replies.push(k[0], u[0]);
      }
      // The median of each pair's ratio, not the ratio of two medians: a pair's two logins run
      // back to back, so a slow stretch of this shared machine (other test files hash passwords
      // too) slows both. Without the hash for unknown emails, pairs read about 5x on this suite.
      ctx.scratch.ratio = median(ratios);
      return replies;
    },
    check(ctx) {
      const ratio = ctx.scratch.ratio as number;
      expect(Math.max(ratio, 1 / ratio)).toBeLessThanOrEqual(2);
    },
  },
  {
    id: 'L03',
    area: 'login',
    attack: 'enumeration by throttling: 7 failures on a real account and on an unknown email',
    modes: SESSION,
    expect: { status: 429, code: 'too_many_attempts' },
    async send(ctx) {
      const ghost = uniqueEmail('ghost');
      await fail(ctx, ctx.victim.email, 6);
      await fail(ctx, ghost, 6);
      return [
        await login(ctx, { email: ctx.victim.email, password: WRONG }),
        await login(ctx, { email: ghost, password: WRONG }),
      ];
    },
    check(_ctx, _before, _after, [known, unknown]) {
      expect(unknown!.text).toBe(known!.text);
      expect(unknown!.headers.get('retry-after')).toBe(known!.headers.get('retry-after'));
    },
  },
  {
    id: 'L04',
    area: 'login',
    attack: 'guessing one account: 6 failures, then even the right password waits (Retry-After), then works',
    modes: MODES,
    everyStore: true,
    expect: { status: 429, code: 'too_many_attempts' },
    async send(ctx) {
      await fail(ctx, ctx.victim.email, 6);
      const blocked = await login(ctx, { email: ctx.victim.email, password: ctx.victim.password });
      ctx.scratch.retryAfter = retryAfterOf(blocked);
      return [blocked];
    },
    async verify(ctx, before, after) {
      await unchanged(ctx, before, after);
      const retryAfter = ctx.scratch.retryAfter as number;
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      ctx.server.clock.advance(retryAfter * 1000);
      expect((await login(ctx, { email: ctx.victim.email, password: ctx.victim.password })).status).toBe(200);
    },
  },
  {
    id: 'L05',
    area: 'login',
    attack: 'password spraying: 21 accounts tried from one address, then a real login from it',
    modes: SESSION,
    expect: { status: 429, code: 'too_many_attempts' },
    async send(ctx) {
      for (let i = 0; i < 21; i++) await fail(ctx, uniqueEmail('spray'), 1);
      const blocked = await login(ctx, { email: ctx.victim.email, password: ctx.victim.password });
      ctx.scratch.retryAfter = retryAfterOf(blocked);
      return [blocked];
    },
    async verify(ctx, before, after) {
      await unchanged(ctx, before, after);
      ctx.server.clock.advance((ctx.scratch.retryAfter as number) * 1000);
      expect((await login(ctx, { email: ctx.victim.email, password: ctx.victim.password })).status).toBe(200);
    },
  },
  {
    id: 'L06',
    area: 'login',
    attack: 'password spraying with a different X-Forwarded-For on every attempt (no proxy is trusted)',
    modes: SESSION,
    expect: { status: 429, code: 'too_many_attempts' },
    async send(ctx) {
      for (let i = 0; i < 21; i++) {
        const reply = await login(
          ctx,
          { email: uniqueEmail('spray'), password: WRONG },
          { 'X-Forwarded-For': `203.0.113.${i + 1}` },
        );
        expect(reply.status).toBe(401);
      }
      return [
        await login(ctx, { email: uniqueEmail('spray'), password: WRONG }, { 'X-Forwarded-For': '198.51.100.7' }),
      ];
    },
  },
  {
    id: 'L07',
    area: 'login',
    attack: 'a victim locked out on purpose: failures until the back-off is capped, then the right password',
    modes: SESSION,
    // Never a permanent lockout: the delay stops at 15 minutes and the account opens again.
    expect: { status: 200 },
    async send(ctx) {
      const seen: number[] = [];
      let failures = 0;
      while (failures < 16) {
        const reply = await login(ctx, { email: ctx.victim.email, password: WRONG });
        if (reply.status === 429) {
          seen.push(retryAfterOf(reply));
          ctx.server.clock.advance(retryAfterOf(reply) * 1000);
        } else {
          expect(reply.status).toBe(401);
          failures++;
        }
      }
      const capped = await login(ctx, { email: ctx.victim.email, password: ctx.victim.password });
      seen.push(retryAfterOf(capped));
      expect(Math.max(...seen)).toBe(15 * 60);
      ctx.server.clock.advance(15 * 60_000);
      return [await login(ctx, { email: ctx.victim.email, password: ctx.victim.password })];
    },
    verify(ctx, _before, _after, [reply]) {
      expect(reply!.body.user.id).toBe(ctx.victim.userId);
    },
  },
  {
    id: 'L08',
    area: 'login',
    attack: 'guessing the current password through POST /auth/password counts against the account',
    modes: MODES,
    expect: { status: 429, code: 'too_many_attempts' },
    async send(ctx) {
      for (let i = 0; i < 6; i++) {
        const reply = await ctx.send('POST', '/auth/password', {
          headers: credentials(ctx.victim),
          json: { currentPassword: `${WRONG} ${i}`, newPassword: 'a passphrase the attacker chose' },
        });
        expect([reply.status, reply.body.code]).toEqual([401, 'invalid_credentials']);
      }
      return [
        await ctx.send('POST', '/auth/password', {
          headers: credentials(ctx.victim),
          json: { currentPassword: ctx.victim.password, newPassword: 'a passphrase the attacker chose' },
        }),
        await login(ctx, { email: ctx.victim.email, password: ctx.victim.password }),
      ];
    },
  },
  badRegistration('L09', 'a 7-character password', { status: 400, code: 'weak_password' }, (email) => ({
    email,
    password: 'abcdefg',
  })),
  badRegistration('L10', 'a 129-character password', { status: 400, code: 'weak_password' }, (email) => ({
    email,
    password: 'p'.repeat(129),
  })),
  {
    id: 'L29',
    area: 'login',
    attack: 'a password of exactly 8 characters (the minimum) registers and logs in',
    modes: SESSION,
    expect: { status: 200 },
    async send(ctx) {
      const email = uniqueEmail('eight');
      expect((await register(ctx, { email, password: 'qz8#Lm2v' })).status).toBe(201);
      return [await login(ctx, { email, password: 'qz8#Lm2v' })];
    },
  },
  badRegistration('L11', 'one of the most common passwords', { status: 400, code: 'weak_password' }, (email) => ({
    email,
    password: 'password123',
  })),
  {
    id: 'L12',
    area: 'login',
    attack: 'a password of exactly 128 code points, all astral (256 UTF-16 units), registers and logs in',
    modes: MODES,
    expect: { status: 200 },
    async send(ctx) {
      const email = uniqueEmail('astral');
      const password = '\u{1F511}'.repeat(128);
      expect((await register(ctx, { email, password })).status).toBe(201);
      return [await login(ctx, { email, password })];
    },
  },
  {
    id: 'L13',
    area: 'login',
    attack: 'logins with 129 characters and with 10 KiB (refused without hashing)',
    modes: MODES,
    expect: { status: 401, code: 'invalid_credentials' },
    async send(ctx) {
      return [
        await login(ctx, {
          email: ctx.victim.email,
          password: `${ctx.victim.password}${'x'.repeat(129)}`.slice(0, 129),
        }),
        await login(ctx, { email: ctx.victim.email, password: 'x'.repeat(10 * 1024) }),
      ];
    },
  },
  passwordForms(
    'L14',
    'a password registered composed (NFC), typed decomposed (NFD)',
    'caf\u00e9 au lait noir',
    'cafe\u0301 au lait noir',
    200,
  ),
  passwordForms(
    'L15',
    'a password registered in full-width forms, typed in ASCII (NFKC)',
    fullWidth('passphrase 9731'),
    'passphrase 9731',
    200,
  ),
  passwordForms(
    'L16',
    'a look-alike password (Cyrillic а for Latin a) is another password',
    'a long passphrase',
    'a long p\u0430ssphrase',
    401,
  ),
  {
    id: 'L17',
    area: 'login',
    attack: "registering the victim's email in another case (409 reveals it: SECURITY.md 19, rate-limited)",
    modes: SESSION,
    everyStore: true,
    expect: { status: 409, code: 'email_taken' },
    async send(ctx) {
      return [
        await register(ctx, { email: ctx.victim.email.toUpperCase(), password: 'the attacker chose this' }),
        await register(ctx, { email: `  ${ctx.victim.email}  `, password: 'the attacker chose this' }),
      ];
    },
  },
  {
    id: 'L18',
    area: 'login',
    attack: "registering the victim's email in full-width characters (NFKC makes it the same)",
    modes: SESSION,
    expect: { status: 409, code: 'email_taken' },
    async send(ctx) {
      return [await register(ctx, { email: fullWidth(ctx.victim.email), password: 'the attacker chose this' })];
    },
  },
  {
    id: 'L19',
    area: 'login',
    attack: 'registering the punycode twin of an internationalised domain',
    modes: SESSION,
    expect: { status: 409, code: 'email_taken' },
    async send(ctx) {
      const local = uniqueEmail('idn').split('@')[0]!;
      expect((await register(ctx, { email: `${local}@b\u00fccher.example`, password: PASSWORD })).status).toBe(201);
      return [await register(ctx, { email: `${local}@xn--bcher-kva.example`, password: 'the attacker chose this' })];
    },
  },
  badEmail('L20', "the victim's email with a zero-width space", (ctx) => ctx.victim.email.replace('@', '\u200b@')),
  badEmail('L21', "the victim's email with a right-to-left override", (ctx) => `\u202e${ctx.victim.email}`),
  badEmail('L22', "the victim's email with a NUL byte", (ctx) => ctx.victim.email.replace('@', '\u0000@')),
  badEmail('L23', 'an email of 300 characters', () => `${'a'.repeat(290)}@example.com`),
  {
    id: 'L24',
    area: 'login',
    attack: "a look-alike of the victim's email (Cyrillic а) registers a separate account, never the victim's",
    modes: SESSION,
    expect: { status: 201 },
    async send(ctx) {
      ctx.scratch.email = ctx.victim.email.replace('a', '\u0430');
      return [await register(ctx, { email: ctx.scratch.email, password: 'the attacker chose this' })];
    },
    async check(ctx, _before, _after, [reply]) {
      expect(reply!.body.user.id).not.toBe(ctx.victim.userId);
      const denied = await login(ctx, { email: ctx.scratch.email, password: ctx.victim.password });
      expect(denied.status).toBe(401);
    },
  },
  badRegistration(
    'L25',
    'mass assignment: role "admin" in the registration body',
    { status: 400, code: 'invalid_request' },
    (email) => ({
      email,
      password: PASSWORD,
      role: 'admin',
    }),
    { everyStore: true },
  ),
  badRegistration(
    'L26',
    'prototype pollution: "__proto__" and "constructor" in the registration body',
    { status: 400, code: 'invalid_request' },
    (email) =>
      `{"email":"${email}","password":"${PASSWORD}","__proto__":{"role":"admin"},"constructor":{"prototype":{"role":"admin"}}}`,
  ),
  {
    id: 'L27',
    area: 'login',
    attack: 'an unknown login mode ("admin")',
    modes: SESSION,
    expect: { status: 400, code: 'invalid_request' },
    async send(ctx) {
      return [await login(ctx, { email: ctx.victim.email, password: ctx.victim.password, mode: 'admin' })];
    },
  },
  {
    id: 'L28',
    area: 'login',
    attack: 'probing which emails exist through 409: the 11th registration from one address waits',
    modes: SESSION,
    expect: { status: 429, code: 'too_many_attempts' },
    async send(ctx) {
      // A server with the production registration limit (the shared one lifts it for the suite).
      const limited = await startTestServer({ realRegistrationLimit: true });
      try {
        const email = uniqueEmail('probe');
        const replies: Reply[] = [];
        replies.push(await call(limited, 'POST', '/auth/register', { json: { email, password: PASSWORD } }));
        for (let i = 0; i < 9; i++) {
          replies.push(
            await call(limited, 'POST', '/auth/register', { json: { email: email.toUpperCase(), password: PASSWORD } }),
          );
        }
        expect(replies.map((r) => r.status)).toEqual([201, ...Array<number>(9).fill(409)]);
        const blocked = await call(limited, 'POST', '/auth/register', {
          json: { email: uniqueEmail('probe'), password: PASSWORD },
        });
        ctx.scratch.retryAfter = retryAfterOf(blocked);
        return [blocked];
      } finally {
        await limited.stop();
      }
    },
    check(ctx) {
      expect(ctx.scratch.retryAfter).toBe(60);
    },
  },
];
