import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { expect } from 'vitest';
import { ORIGIN } from '../helpers/server.js';
import { b64, claimsFor, craftToken } from '../helpers/tokens.js';
import { MODES, TOKEN_MODES, sessionCookieHeader, type Mode, type OurKey } from './harness.js';
import { bearer, claimsOf, deviceEnded, type AttackContext, type AttackRow } from './row.js';

// Access-token attacks (SECURITY.md 6, 7 and 16). Each bad token is sent as the bearer of
// GET /auth/me and POST /auth/logout-all (strict), and POST /api/notes (stateless): every one is
// 401 invalid_token, and no session or note changes. In session mode the victim's cookie rides
// along, as a browser would send it: an invalid bearer must not fall back to the cookie.

const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const attackerEd = generateKeyPairSync('ed25519');
// The order of the P-256 group: s and n - s are both valid ECDSA signatures of one message.
const P256_N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');

interface Forge {
  key: OurKey;
  now: number;
  header(overrides?: Record<string, unknown>): string;
  payload(overrides?: Record<string, unknown>): string;
  /** Signed with our own key. */
  ours(header: string, payload: string): string;
}

async function forge(ctx: AttackContext): Promise<Forge> {
  const key = await ctx.key();
  const subject = { userId: ctx.victim.userId, sessionId: ctx.victim.sessionId };
  return {
    key,
    now: Math.floor(ctx.server.clock.now() / 1000),
    header: (overrides = {}) => JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...overrides }),
    payload: (overrides = {}) => JSON.stringify(claimsFor(ctx.server, subject, overrides)),
    ours: (header, payload) => craftToken(header, payload, key.alg, key.key),
  };
}

const withoutClaim = (f: Forge, claim: string): string => {
  const claims = JSON.parse(f.payload()) as Record<string, unknown>;
  delete claims[claim];
  return JSON.stringify(claims);
};

const publicKey = (f: Forge) => createPublicKey({ key: f.key.publicJwk as never, format: 'jwk' });

function highS(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const raw = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const flipped = Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex');
  return `${header}.${payload}.${Buffer.concat([raw.subarray(0, 32), flipped]).toString('base64url')}`;
}

type Endpoint = 'me' | 'logout-all' | 'notes';

/** Sends `token` as the bearer to the given endpoints, with the victim's cookie in session mode. */
async function present(ctx: AttackContext, token: string, endpoints: readonly Endpoint[]) {
  const headers = {
    ...bearer(token),
    ...(ctx.victim.cookie ? { Cookie: sessionCookieHeader(ctx.victim.cookie) } : {}),
  };
  const replies = [];
  for (const endpoint of endpoints) {
    if (endpoint === 'me') replies.push(await ctx.send('GET', '/auth/me', { headers }));
    if (endpoint === 'logout-all') replies.push(await ctx.send('POST', '/auth/logout-all', { headers }));
    if (endpoint === 'notes') {
      replies.push(await ctx.send('POST', '/api/notes', { headers, json: { text: 'forged note' } }));
    }
  }
  return replies;
}

const ALL_ENDPOINTS: Endpoint[] = ['me', 'logout-all', 'notes'];
// Signed by us with claims that only strict routes can judge (the session): the stateless demo
// route accepts what our key signed until it expires, by design (API.md).
const STRICT_ENDPOINTS: Endpoint[] = ['me', 'logout-all'];

function refused(
  id: string,
  attack: string,
  make: (f: Forge, ctx: AttackContext) => string | Promise<string>,
  options: { modes?: readonly Mode[]; everyStore?: boolean; endpoints?: Endpoint[] } = {},
): AttackRow {
  return {
    id,
    area: 'token',
    attack,
    modes: options.modes ?? MODES,
    ...(options.everyStore ? { everyStore: true } : {}),
    expect: { status: 401, code: 'invalid_token' },
    async send(ctx) {
      return present(ctx, await make(await forge(ctx), ctx), options.endpoints ?? ALL_ENDPOINTS);
    },
  };
}

/** A token that must be accepted as exactly the victim (controls, and documented acceptances). */
function accepted(
  id: string,
  attack: string,
  make: (f: Forge, ctx: AttackContext) => string | Promise<string>,
  options: { modes?: readonly Mode[]; everyStore?: boolean } = {},
): AttackRow {
  return {
    id,
    area: 'token',
    attack,
    modes: options.modes ?? MODES,
    ...(options.everyStore ? { everyStore: true } : {}),
    expect: { status: 200 },
    async send(ctx) {
      return present(ctx, await make(await forge(ctx), ctx), ['me']);
    },
    check(ctx, _before, _after, [reply]) {
      expect([reply?.body.user.id, reply?.body.auth.sessionId]).toEqual([ctx.victim.userId, ctx.victim.sessionId]);
    },
  };
}

const unsigned = (alg: string) => (f: Forge) => `${b64(f.header({ alg }))}.${b64(f.payload())}.`;

export const TOKEN_ROWS: AttackRow[] = [
  accepted('T00', 'control: a token crafted with our key and valid claims is the victim', (f) =>
    f.ours(f.header(), f.payload()),
  ),
  refused('T01', 'alg "none", unsigned', unsigned('none'), { everyStore: true }),
  refused('T02', 'alg "None", unsigned', unsigned('None')),
  refused('T03', 'alg "NONE", unsigned', unsigned('NONE')),
  refused('T04', 'alg "nOnE", unsigned', unsigned('nOnE')),
  refused(
    'T05',
    'RS/ES→HS256 confusion: HS256 keyed with our public key as PEM',
    (f) =>
      craftToken(
        f.header({ alg: 'HS256' }),
        f.payload(),
        'HS256',
        publicKey(f).export({ type: 'spki', format: 'pem' }),
      ),
    { everyStore: true },
  ),
  refused('T06', 'HS256 keyed with our public key as DER', (f) =>
    craftToken(f.header({ alg: 'HS256' }), f.payload(), 'HS256', publicKey(f).export({ type: 'spki', format: 'der' })),
  ),
  refused('T07', 'HS256 keyed with our public key as JWK JSON', (f) =>
    craftToken(f.header({ alg: 'HS256' }), f.payload(), 'HS256', JSON.stringify(f.key.publicJwk)),
  ),
  refused('T08', 'HS256 keyed with the JWKS document exactly as served', async (f, ctx) =>
    craftToken(
      f.header({ alg: 'HS256' }),
      f.payload(),
      'HS256',
      (await ctx.send('GET', '/.well-known/jwks.json')).text,
    ),
  ),
  refused(
    'T09',
    'kid "../../../../../dev/null" (path traversal) with HS256 and an empty key',
    (f) => craftToken(f.header({ alg: 'HS256', kid: '../../../../../dev/null' }), f.payload(), 'HS256', ''),
    { everyStore: true },
  ),
  refused('T10', "kid \"x' UNION SELECT 'k' --\" (SQL) with HS256 keyed 'k'", (f) =>
    craftToken(f.header({ alg: 'HS256', kid: "x' UNION SELECT 'k' --" }), f.payload(), 'HS256', 'k'),
  ),
  refused('T11', 'kid that is a URL, signed by the attacker', (f) =>
    craftToken(f.header({ kid: 'https://evil.example/keys/1' }), f.payload(), 'ES256', attacker.privateKey),
  ),
  refused('T12', 'empty kid, our signature', (f) => f.ours(f.header({ kid: '' }), f.payload())),
  refused('T13', '10 KiB kid, our signature', (f) => f.ours(f.header({ kid: 'k'.repeat(10 * 1024) }), f.payload())),
  refused('T14', 'no kid, our signature', (f) =>
    f.ours(JSON.stringify({ alg: f.key.alg, typ: 'at+jwt' }), f.payload()),
  ),
  refused(
    'T15',
    "jku naming the attacker's JWKS, signed by the attacker",
    (f) =>
      craftToken(
        f.header({ kid: 'attacker', jku: 'https://evil.example/jwks.json' }),
        f.payload(),
        'ES256',
        attacker.privateKey,
      ),
    { everyStore: true },
  ),
  refused('T16', "x5u naming the attacker's certificate, signed by the attacker", (f) =>
    craftToken(
      f.header({ kid: 'attacker', x5u: 'https://evil.example/cert.pem' }),
      f.payload(),
      'ES256',
      attacker.privateKey,
    ),
  ),
  refused('T17', "embedded jwk of the attacker's key, signed by the attacker", (f) =>
    craftToken(
      f.header({ jwk: attacker.publicKey.export({ format: 'jwk' }) }),
      f.payload(),
      'ES256',
      attacker.privateKey,
    ),
  ),
  refused('T18', 'x5c chain, signed by the attacker', (f) =>
    craftToken(f.header({ x5c: ['MIIBszCCAVmgAwIBAgIU'] }), f.payload(), 'ES256', attacker.privateKey),
  ),
  refused('T19', 'crit ["exp"], our signature', (f) => f.ours(f.header({ crit: ['exp'] }), f.payload())),
  refused('T20', 'crit ["b64"] with b64: false, our signature', (f) =>
    f.ours(f.header({ crit: ['b64'], b64: false }), f.payload()),
  ),
  refused('T21', 'no alg, our signature', (f) =>
    f.ours(JSON.stringify({ kid: f.key.kid, typ: 'at+jwt' }), f.payload()),
  ),
  refused('T22', 'alg ES512 (not ours) on our kid, our signature', (f) =>
    f.ours(f.header({ alg: 'ES512' }), f.payload()),
  ),
  refused('T23', 'alg EdDSA (not configured) on our kid, signed by the attacker', (f) =>
    craftToken(f.header({ alg: 'EdDSA' }), f.payload(), 'EdDSA', attackerEd.privateKey),
  ),
  refused(
    'T24',
    'ES256 signature r = 0, s = 0 ("psychic signature")',
    (f) => `${b64(f.header())}.${b64(f.payload())}.${Buffer.alloc(64).toString('base64url')}`,
    { everyStore: true },
  ),
  refused('T25', 'ES256 signature r = s = n (out of range)', (f) => {
    const n = Buffer.from(P256_N.toString(16), 'hex');
    return `${b64(f.header())}.${b64(f.payload())}.${Buffer.concat([n, n]).toString('base64url')}`;
  }),
  {
    id: 'T26',
    area: 'token',
    attack: 'high-S (non-canonical) re-encoding of a token whose session was logged out',
    modes: TOKEN_MODES,
    everyStore: true,
    expect: { status: 401, code: 'invalid_token' },
    async send(ctx) {
      const token = ctx.victim.accessToken!;
      const out = await ctx.send('POST', '/auth/logout', { headers: bearer(token), origin: null });
      expect(out.status).toBe(204);
      return present(ctx, highS(token), STRICT_ENDPOINTS);
    },
    verify: deviceEnded,
  },
  accepted(
    'T27',
    'high-S re-encoding of a live token: the same identity, never another (revocation is by sid)',
    (_f, ctx) => highS(ctx.victim.accessToken!),
    { modes: TOKEN_MODES },
  ),
  refused('T28', 'ES256 signature in DER instead of IEEE P1363', (f) => {
    const input = `${b64(f.header())}.${b64(f.payload())}`;
    return `${input}.${sign('sha256', Buffer.from(input), f.key.key).toString('base64url')}`;
  }),
  refused('T29', 'exp as a string', (f) => f.ours(f.header(), f.payload({ exp: String(f.now + 600) }))),
  refused('T30', 'exp as a float half a second past the configured lifetime', (f) =>
    f.ours(f.header(), f.payload({ exp: f.now + 600.5 })),
  ),
  accepted('T31', 'iat and exp as floats inside the lifetime (RFC 7519 NumericDate allows them)', (f) =>
    f.ours(f.header(), f.payload({ iat: f.now + 0.25, exp: f.now + 300.75 })),
  ),
  refused('T32', 'negative exp', (f) => f.ours(f.header(), f.payload({ exp: -1 }))),
  refused('T33', 'exp in the year 275760', (f) => f.ours(f.header(), f.payload({ exp: 8.64e12 }))),
  refused('T34', 'exp 1e400 (JSON.parse gives Infinity)', (f) =>
    f.ours(f.header(), f.payload().replace(/"exp":\d+/, '"exp":1e400')),
  ),
  refused('T35', 'exp as an array', (f) => f.ours(f.header(), f.payload({ exp: [f.now + 600] }))),
  refused('T36', 'nbf as a string', (f) => f.ours(f.header(), f.payload({ nbf: String(f.now) }))),
  refused('T37', 'nbf five minutes ahead', (f) => f.ours(f.header(), f.payload({ nbf: f.now + 300 }))),
  refused('T38', 'nbf 1e400 (Infinity)', (f) =>
    f.ours(f.header(), f.payload().replace(/"exp":/, '"nbf":1e400,"exp":')),
  ),
  refused('T39', 'iat as a string', (f) => f.ours(f.header(), f.payload({ iat: String(f.now) }))),
  refused('T40', 'negative iat (a lifetime of decades)', (f) => f.ours(f.header(), f.payload({ iat: -1 }))),
  refused('T41', 'iat an hour ahead', (f) => f.ours(f.header(), f.payload({ iat: f.now + 3600, exp: f.now + 3900 }))),
  refused('T42', 'iat -1e400 (-Infinity)', (f) => f.ours(f.header(), f.payload().replace(/"iat":\d+/, '"iat":-1e400'))),
  refused('T43', 'aud an array without our audience', (f) =>
    f.ours(f.header(), f.payload({ aud: ['https://other.example', 'https://third.example'] })),
  ),
  // coatcheck issues one audience, a string, and now accepts nothing else (src/tokens/access-tokens.ts).
  // docs/api.md still says an array containing ours is accepted: one of the two has to change.
  refused('T44', 'aud an array that contains our audience (we only ever issue one, as a string)', (f) =>
    f.ours(f.header(), f.payload({ aud: ['https://other.example', ORIGIN] })),
  ),
  refused('T45', 'aud an empty array', (f) => f.ours(f.header(), f.payload({ aud: [] }))),
  refused('T46', 'a refresh token presented as the access token', (_f, ctx) => ctx.victim.refreshToken!, {
    modes: TOKEN_MODES,
    everyStore: true,
  }),
  refused('T47', 'a session ID (the cookie secret) presented as the access token', (_f, ctx) => ctx.victim.cookie!, {
    modes: ['session'],
  }),
  refused('T48', 'an OIDC-style ID token signed by us (typ JWT, email, nonce, a client audience)', (f) =>
    f.ours(f.header({ typ: 'JWT' }), f.payload({ aud: 'spa-client', email: 'victim@example.com', nonce: 'n' })),
  ),
  {
    id: 'T49',
    area: 'token',
    attack: 'a token signed by a rotated-out key after its grace (key stolen, then rotated)',
    modes: MODES,
    everyStore: true,
    expect: { status: 401, code: 'invalid_token' },
    async send(ctx) {
      const old = await forge(ctx);
      await ctx.server.auth.tokens!.ring.rotate();
      // The publish delay (60 s), then the old key's grace: lifetime + tolerance + two reloads (670 s).
      ctx.server.clock.advance((60 + 670 + 1) * 1000);
      const now = Math.floor(ctx.server.clock.now() / 1000);
      const token = old.ours(old.header(), old.payload({ iat: now, exp: now + 600 }));
      return present(ctx, token, ALL_ENDPOINTS);
    },
    async check(ctx, _before, _after) {
      const jwks = await ctx.send('GET', '/.well-known/jwks.json');
      const kids = (jwks.body.keys as { kid: string }[]).map((k) => k.kid);
      expect(kids).toEqual([ctx.server.auth.tokens!.ring.current().kid]);
    },
  },
  refused('T50', 'alg twice in the header (duplicate JSON keys)', (f) =>
    f.ours(`{"alg":"ES256","kid":"${f.key.kid}","typ":"at+jwt","alg":"HS256"}`, f.payload()),
  ),
  refused('T51', 'sub twice in the payload (duplicate JSON keys)', (f) =>
    f.ours(f.header(), f.payload().replace('{', '{"sub":"usr_someone_else",')),
  ),
  refused('T52', 'a 9 KiB token signed by us (over the 8 KiB limit)', (f) =>
    f.ours(f.header(), f.payload({ pad: 'x'.repeat(9 * 1024) })),
  ),
  refused(
    'T53',
    'role: admin written into a real token, original signature kept',
    (_f, ctx) => {
      const token = ctx.victim.accessToken!;
      const [h, , s] = token.split('.');
      return `${h}.${b64(JSON.stringify({ ...claimsOf(token), role: 'admin' }))}.${s}`;
    },
    { modes: TOKEN_MODES },
  ),
  refused('T54', "our kid, signed by the attacker's P-256 key", (f) =>
    craftToken(f.header(), f.payload(), 'ES256', attacker.privateKey),
  ),
  refused('T55', 'typ JWT instead of at+jwt', (f) => f.ours(f.header({ typ: 'JWT' }), f.payload())),
  refused('T56', 'no typ', (f) => f.ours(JSON.stringify({ alg: f.key.alg, kid: f.key.kid }), f.payload())),
  refused('T57', 'no exp', (f) => f.ours(f.header(), withoutClaim(f, 'exp'))),
  refused('T58', 'no iss', (f) => f.ours(f.header(), withoutClaim(f, 'iss'))),
  refused('T59', 'another issuer', (f) => f.ours(f.header(), f.payload({ iss: 'https://evil.example' }))),
  refused('T60', 'another audience', (f) => f.ours(f.header(), f.payload({ aud: 'https://other.example' }))),
  refused('T61', 'expired 31 s ago (past the 30 s tolerance)', (f) =>
    f.ours(f.header(), f.payload({ iat: f.now - 631, exp: f.now - 31 })),
  ),
  refused('T62', 'no sid', (f) => f.ours(f.header(), withoutClaim(f, 'sid'))),
  refused('T63', 'sid as a number', (f) => f.ours(f.header(), f.payload({ sid: 12345 }))),
  refused('T64', 'role as an object', (f) => f.ours(f.header(), f.payload({ role: { admin: true } }))),
  refused('T65', '"a.b" (two segments)', () => 'a.b'),
  refused('T66', 'four segments', (f) => `${f.ours(f.header(), f.payload())}.AAAA`),
  refused('T67', 'non-base64url characters in the signature', (f) => {
    const token = f.ours(f.header(), f.payload());
    return `${token.slice(0, -4)}+/==`;
  }),
  refused('T68', 'a header that is not JSON', (f) => {
    const [, p, s] = f.ours(f.header(), f.payload()).split('.');
    return `${b64('{alg:ES256}')}.${p}.${s}`;
  }),
  refused(
    'T69',
    "another user's sub with the victim's sid, signed by us (strict routes check the session's owner)",
    (f) => f.ours(f.header(), f.payload({ sub: 'usr_someone_else' })),
    { endpoints: STRICT_ENDPOINTS, everyStore: true },
  ),
  {
    id: 'T71',
    area: 'token',
    attack: 'a stolen access token, decoded: what it tells the thief about the victim (SECURITY.md 7)',
    modes: TOKEN_MODES,
    everyStore: true,
    expect: { status: 200 },
    async send(ctx) {
      return [await ctx.send('GET', '/auth/me', { headers: bearer(ctx.victim.accessToken!) })];
    },
    check(ctx) {
      const token = ctx.victim.accessToken!;
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
      expect(Object.keys(header).sort()).toEqual(['alg', 'kid', 'typ']);
      const claims = claimsOf(token);
      expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'role', 'sid', 'sub']);
      expect(Buffer.from(token.split('.')[1]!, 'base64url').toString()).not.toContain(ctx.victim.email);
    },
  },
  {
    id: 'T70',
    area: 'token',
    attack: 'a 100 KiB bearer token (refused by the HTTP server before coatcheck parses it)',
    modes: MODES,
    expect: { status: 431 },
    async send(ctx) {
      const f = await forge(ctx);
      const huge = `${b64(f.header())}.${b64(f.payload({ pad: 'x'.repeat(100 * 1024) }))}.sig`;
      return [await ctx.send('GET', '/auth/me', { headers: bearer(huge) })];
    },
  },
];
