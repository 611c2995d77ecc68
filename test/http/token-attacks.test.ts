import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, registerAndLogin, startTestServer, type TestServer } from '../helpers/server.js';
import { b64, claimsFor, craftToken, currentSigningKey, loginWithTokens } from '../helpers/tokens.js';

let server: TestServer;
let subject: { userId: string; sessionId: string };
let valid: string;
let ours: Awaited<ReturnType<typeof currentSigningKey>>;
let refreshToken: string;

beforeAll(async () => {
  server = await startTestServer();
  const login = await loginWithTokens(server, 'native');
  valid = login.accessToken;
  refreshToken = login.refreshToken;
  const payload = JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString()) as { sub: string; sid: string };
  subject = { userId: payload.sub, sessionId: payload.sid };
  ours = await currentSigningKey(server);
});
afterAll(async () => {
  await server.stop();
});

const header = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ alg: 'ES256', kid: ours.kid, typ: 'at+jwt', ...overrides });
const payload = (overrides: Record<string, unknown> = {}) => JSON.stringify(claimsFor(server, subject, overrides));
const signed = (h: string, p: string) => craftToken(h, p, 'ES256', ours.key);
const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function publicPem(): string {
  return createPublicKey({ key: ours.publicJwk as never, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  }) as string;
}

/** Each case: what is sent as the bearer token. Every one must be refused with 401 invalid_token. */
function attacks(): [string, () => string][] {
  // Evaluated lazily: the genuine token only exists once beforeAll has run.
  const part = (i: number): string => valid.split('.')[i]!;
  const claims = (): Record<string, unknown> =>
    JSON.parse(Buffer.from(part(1), 'base64url').toString()) as Record<string, unknown>;
  return [
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, () => string] => [
      `alg "${alg}" without a signature`,
      () => `${b64(header({ alg }))}.${part(1)}.`,
    ]),
    [
      'HS256 signed with our public key as PEM',
      () => craftToken(header({ alg: 'HS256' }), payload(), 'HS256', publicPem()),
    ],
    [
      'HS256 signed with our public key as JWK JSON',
      () => craftToken(header({ alg: 'HS256' }), payload(), 'HS256', JSON.stringify(ours.publicJwk)),
    ],
    [
      'HS256 signed with the public key in DER',
      () =>
        craftToken(
          header({ alg: 'HS256' }),
          payload(),
          'HS256',
          createPublicKey({ key: ours.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'der' }),
        ),
    ],
    ['a stripped signature', () => `${part(0)}.${part(1)}.`],
    ['a stripped signature without the dot', () => `${part(0)}.${part(1)}`],
    [
      'tampered claims (role: admin) with the original signature',
      () => `${part(0)}.${b64(JSON.stringify({ ...claims(), role: 'admin' }))}.${part(2)}`,
    ],
    ['a signature from another key', () => craftToken(header(), payload(), 'ES256', attacker.privateKey)],
    ['an unknown kid', () => craftToken(header({ kid: 'nosuchkey' }), payload(), 'ES256', attacker.privateKey)],
    [
      'a kid with path characters',
      () => craftToken(header({ kid: '../../../../dev/null' }), payload(), 'ES256', attacker.privateKey),
    ],
    ['a kid that is SQL', () => craftToken(header({ kid: "x' OR '1'='1" }), payload(), 'ES256', attacker.privateKey)],
    [
      'a kid that is a URL',
      () => craftToken(header({ kid: 'https://evil.example/key.json' }), payload(), 'ES256', attacker.privateKey),
    ],
    ['an empty kid', () => craftToken(header({ kid: '' }), payload(), 'ES256', ours.key)],
    ['a 10 KiB kid', () => craftToken(header({ kid: 'k'.repeat(10 * 1024) }), payload(), 'ES256', ours.key)],
    ['a missing kid', () => craftToken(JSON.stringify({ alg: 'ES256', typ: 'at+jwt' }), payload(), 'ES256', ours.key)],
    [
      'an embedded jwk header signed by the attacker',
      () =>
        craftToken(
          header({ jwk: attacker.publicKey.export({ format: 'jwk' }) }),
          payload(),
          'ES256',
          attacker.privateKey,
        ),
    ],
    [
      'an embedded jwk header even with our signature',
      () => craftToken(header({ jwk: ours.publicJwk }), payload(), 'ES256', ours.key),
    ],
    ['a jku header', () => signed(header({ jku: 'https://evil.example/jwks.json' }), payload())],
    ['an x5u header', () => signed(header({ x5u: 'https://evil.example/cert.pem' }), payload())],
    ['an x5c header', () => signed(header({ x5c: ['MIIB'] }), payload())],
    ['crit: ["exp"]', () => signed(header({ crit: ['exp'] }), payload())],
    ['crit: ["b64"] with b64: false', () => signed(header({ crit: ['b64'], b64: false }), payload())],
    ['a missing alg', () => craftToken(JSON.stringify({ kid: ours.kid, typ: 'at+jwt' }), payload(), 'ES256', ours.key)],
    ['alg ES384 with our kid', () => craftToken(header({ alg: 'ES384' }), payload(), 'ES256', ours.key)],
    ['alg RS256 with our kid', () => craftToken(header({ alg: 'RS256' }), payload(), 'ES256', ours.key)],
    [
      'ES256 signature r=0, s=0 ("psychic signature")',
      () => `${b64(header())}.${b64(payload())}.${Buffer.alloc(64).toString('base64url')}`,
    ],
    [
      'an ES256 signature in DER instead of IEEE P1363',
      () => {
        const input = `${b64(header())}.${b64(payload())}`;
        const der = sign('sha256', Buffer.from(input), ours.key);
        return `${input}.${der.toString('base64url')}`;
      },
    ],
    [
      'an expired token',
      () =>
        signed(
          header(),
          payload({
            iat: Math.floor(server.clock.now() / 1000) - 700,
            exp: Math.floor(server.clock.now() / 1000) - 100,
          }),
        ),
    ],
    [
      'a token not valid yet (nbf in 5 minutes)',
      () => signed(header(), payload({ nbf: Math.floor(server.clock.now() / 1000) + 300 })),
    ],
    [
      'an iat an hour in the future',
      () =>
        signed(
          header(),
          payload({
            iat: Math.floor(server.clock.now() / 1000) + 3600,
            exp: Math.floor(server.clock.now() / 1000) + 3900,
          }),
        ),
    ],
    [
      'a lifetime longer than configured',
      () => signed(header(), payload({ exp: Math.floor(server.clock.now() / 1000) + 86400 * 365 })),
    ],
    ['exp as a string', () => signed(header(), payload({ exp: String(Math.floor(server.clock.now() / 1000) + 600) }))],
    ['a negative exp', () => signed(header(), payload({ exp: -1 }))],
    ['another audience', () => signed(header(), payload({ aud: 'https://other.example' }))],
    [
      'an audience array without ours',
      () => signed(header(), payload({ aud: ['https://other.example', 'https://third.example'] })),
    ],
    ['another issuer', () => signed(header(), payload({ iss: 'https://evil.example' }))],
    ['typ JWT instead of at+jwt', () => signed(header({ typ: 'JWT' }), payload())],
    ['no typ', () => signed(JSON.stringify({ alg: 'ES256', kid: ours.kid }), payload())],
    ['no exp', () => signed(header(), JSON.stringify({ ...claimsFor(server, subject), exp: undefined }))],
    ['no iss', () => signed(header(), JSON.stringify({ ...claimsFor(server, subject), iss: undefined }))],
    ['no aud', () => signed(header(), JSON.stringify({ ...claimsFor(server, subject), aud: undefined }))],
    ['no sid', () => signed(header(), JSON.stringify({ ...claimsFor(server, subject), sid: undefined }))],
    [
      'duplicate alg in the header',
      () => signed(`{"alg":"ES256","kid":"${ours.kid}","typ":"at+jwt","alg":"ES256"}`, payload()),
    ],
    ['duplicate sub in the payload', () => signed(header(), payload().replace('{', `{"sub":"usr_someone_else",`))],
    [
      'a 9 KiB token (over the 8 KiB limit) signed by us',
      () => signed(header(), payload({ pad: 'x'.repeat(9 * 1024) })),
    ],
    ['a.b', () => 'a.b'],
    ['a.b.c.d', () => `${valid}.${part(2)}`],
    ['non-base64url characters', () => `${part(0)}.${part(1)}.${part(2).slice(0, -4)}+/==`],
    ['a header that is not JSON', () => `${b64('not json')}.${part(1)}.${part(2)}`],
    ['a refresh token presented as an access token', () => refreshToken],
    ['a session ID presented as an access token', () => 'A'.repeat(43)],
    [
      'an OIDC-style ID token signed by us (typ JWT, email claim)',
      () => signed(header({ typ: 'JWT' }), payload({ email: 'a@example.com', nonce: 'n' })),
    ],
  ];
}

describe('bearer token attacks on GET /auth/me (SECURITY.md 6 and 7)', () => {
  it('accepts the genuine token (the control case)', async () => {
    const reply = await call(server, 'GET', '/auth/me', { headers: { Authorization: `Bearer ${valid}` } });
    expect(reply.status).toBe(200);
    expect(reply.body.auth.method).toBe('bearer');
  });

  it('accepts a correctly crafted token (the crafting helper is sound)', async () => {
    const reply = await call(server, 'GET', '/auth/me', {
      headers: { Authorization: `Bearer ${signed(header(), payload())}` },
    });
    expect(reply.status).toBe(200);
  });

  it.each(attacks())('refuses %s with 401 invalid_token', async (_label, make) => {
    const reply = await call(server, 'GET', '/auth/me', { headers: { Authorization: `Bearer ${make()}` } });
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('invalid_token');
    expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="coatcheck", error="invalid_token"');
  });

  it('a 100 KiB token never reaches the parser: the HTTP server refuses the header (431)', async () => {
    const huge = `${b64(header())}.${b64(payload({ pad: 'x'.repeat(100 * 1024) }))}.sig`;
    const reply = await call(server, 'GET', '/auth/me', { headers: { Authorization: `Bearer ${huge}` } });
    expect(reply.status).toBe(431);
  });

  it('refuses an expired token once the clock passes exp + 30 s of tolerance, not before', async () => {
    const fresh = await loginWithTokens(server, 'native');
    server.clock.advance((600 + 29) * 1000);
    expect(
      (await call(server, 'GET', '/auth/me', { headers: { Authorization: `Bearer ${fresh.accessToken}` } })).status,
    ).toBe(200);
    server.clock.advance(2000);
    expect(
      (await call(server, 'GET', '/auth/me', { headers: { Authorization: `Bearer ${fresh.accessToken}` } })).status,
    ).toBe(401);
  });

  it('changes nothing in the store when refusing', async () => {
    const before = await server.store.sessions.listByUser(subject.userId);
    for (const [, make] of attacks().slice(0, 10)) {
      await call(server, 'POST', '/auth/logout-all', { headers: { Authorization: `Bearer ${make()}` } });
    }
    expect(await server.store.sessions.listByUser(subject.userId)).toEqual(before);
  });
});

describe('access token contents', () => {
  it('has header alg/kid/typ and exactly the claims of SECURITY.md 7, living 10 minutes', async () => {
    const { accessToken, email } = await loginWithTokens(server, 'token');
    const [h, p] = accessToken
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>) as [
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    expect(h).toEqual({ alg: 'ES256', kid: ours.kid, typ: 'at+jwt' });
    expect(Object.keys(p).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'role', 'sid', 'sub']);
    expect((p.exp as number) - (p.iat as number)).toBe(600);
    expect(accessToken).not.toContain(b64(email).slice(0, 8));
    expect(JSON.stringify(p)).not.toContain(email);
  });

  it('a session cookie beside a valid bearer is irrelevant: the bearer decides', async () => {
    const cookieUser = await registerAndLogin(server);
    const tokenUser = await loginWithTokens(server, 'native');
    const reply = await call(server, 'GET', '/auth/me', {
      session: cookieUser.session,
      headers: { Authorization: `bearer ${tokenUser.accessToken}` },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.user.email).toBe(tokenUser.email);
  });
});
