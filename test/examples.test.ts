import { spawn, spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRemoteVerifier } from '../src/verify/index.js';
import { ORIGIN, startTestServer, type TestServer } from './helpers/server.js';
import { craftToken, currentSigningKey, claimsFor, loginWithTokens } from './helpers/tokens.js';
import { refusingUrl } from './verify/jwks-server.js';

let issuer: TestServer;
let api: Server;
let apiUrl: string;

beforeAll(async () => {
  // The issuer's clock starts 90 s back: the rotation test moves it a minute on, and the verifier,
  // on real time, refuses an `iat` more than 30 s ahead.
  issuer = await startTestServer({ clockStart: Date.now() - 90_000 });
  // The example imports `coatcheck/verify` by package name, as a user's service would.
  const { createResourceServer } = await import('../examples/resource-server.mjs');
  // A 1 s refetch cooldown: the test's clock jumps a minute, jose's cooldown counts real time.
  api = createResourceServer({
    issuer: ORIGIN,
    jwksUrl: `${issuer.url}/.well-known/jwks.json`,
    cooldownDuration: 1000,
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => api.close(resolve));
  await issuer.stop();
});

const whoami = (token?: string) =>
  fetch(`${apiUrl}/api/whoami`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

describe('examples/resource-server.mjs (coatcheck/verify against a live issuer)', () => {
  it('accepts a token issued by coatcheck, with no secret and no database', async () => {
    const login = await loginWithTokens(issuer, 'native');
    const reply = await whoami(login.accessToken);
    expect(reply.status).toBe(200);
    expect(await reply.json()).toMatchObject({ userId: login.userId, role: 'user' });
  });

  it('refuses no token, a forged token, and a token of another issuer', async () => {
    expect((await whoami()).status).toBe(401);
    const login = await loginWithTokens(issuer, 'native');
    const [h, p] = login.accessToken.split('.');
    expect((await whoami(`${h}.${p}.`)).status).toBe(401);
    const ours = await currentSigningKey(issuer);
    const foreignIssuer = craftToken(
      JSON.stringify({ alg: 'ES256', kid: ours.kid, typ: 'at+jwt' }),
      JSON.stringify(claimsFor(issuer, { userId: login.userId, sessionId: 'ses_x' }, { iss: 'https://evil.example' })),
      'ES256',
      ours.key,
    );
    expect((await whoami(foreignIssuer)).status).toBe(401);
  });

  it('keeps accepting tokens across a key rotation without a restart', async () => {
    await whoami((await loginWithTokens(issuer, 'native')).accessToken); // JWKS cached
    const rotated = await issuer.auth.tokens!.ring.rotate();
    // During the publish delay the old key still signs; the verifier's cached JWKS still fits.
    expect((await whoami((await loginWithTokens(issuer, 'native')).accessToken)).status).toBe(200);
    issuer.clock.advance(60_000);
    const fresh = await loginWithTokens(issuer, 'native');
    expect(JSON.parse(Buffer.from(fresh.accessToken.split('.')[0]!, 'base64url').toString()).kid).toBe(rotated.kid);
    // jose's refetch cooldown runs on real time; the publish delay is what covers it in production.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await whoami(fresh.accessToken)).status).toBe(200);
  });

  it('refuses what coatcheck itself refuses: an aud array, no kid, a long lifetime, an iat ahead', async () => {
    const login = await loginWithTokens(issuer, 'native');
    const ours = await currentSigningKey(issuer);
    const subject = { userId: login.userId, sessionId: 'ses_x' };
    const header = JSON.stringify({ alg: 'ES256', kid: ours.kid, typ: 'at+jwt' });
    const signed = (claims: object, head = header) => craftToken(head, JSON.stringify(claims), 'ES256', ours.key);
    const now = Math.floor(Date.now() / 1000);
    expect((await whoami(signed(claimsFor(issuer, subject, { iat: now, exp: now + 600 })))).status).toBe(200);
    const refused = [
      signed(claimsFor(issuer, subject, { iat: now, exp: now + 600, aud: [ORIGIN, 'https://other.example'] })),
      signed(claimsFor(issuer, subject, { iat: now, exp: now + 600 }), JSON.stringify({ alg: 'ES256', typ: 'at+jwt' })),
      signed(claimsFor(issuer, subject, { iat: now, exp: now + 86_400 })),
      signed(claimsFor(issuer, subject, { iat: now + 120, exp: now + 600 })),
      signed(claimsFor(issuer, subject, { iat: now - 3_600, exp: now + 60 })),
    ];
    const statuses = await Promise.all(refused.map(async (token) => (await whoami(token)).status));
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
  });

  it('answers 503, not 401, while the JWKS cannot be fetched, and logs why', async () => {
    const { createResourceServer } = await import('../examples/resource-server.mjs');
    const cut = createResourceServer({ issuer: ORIGIN, jwksUrl: await refusingUrl() });
    await new Promise<void>((resolve) => cut.listen(0, '127.0.0.1', resolve));
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const login = await loginWithTokens(issuer, 'native');
      const reply = await fetch(`http://127.0.0.1:${(cut.address() as AddressInfo).port}/api/whoami`, {
        headers: { Authorization: `Bearer ${login.accessToken}` },
      });
      expect([reply.status, (await reply.json()).code]).toEqual([503, 'jwks_unavailable']);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('ECONNREFUSED'));
    } finally {
      logged.mockRestore();
      await new Promise((resolve) => cut.close(resolve));
    }
  });

  it('refuses a plain-http JWKS away from loopback unless told it is development', () => {
    const remote = { issuer: ORIGIN, audience: ORIGIN };
    expect(() => createRemoteVerifier({ ...remote, jwksUrl: 'http://auth.example.com/jwks' })).toThrow(
      'coatcheck/verify: jwksUrl must be https (or http on loopback); plain http elsewhere needs allowInsecureHttp (development only)',
    );
    expect(() =>
      createRemoteVerifier({ ...remote, jwksUrl: 'ftp://auth.example.com/jwks', allowInsecureHttp: true }),
    ).toThrow(TypeError);
    expect(() =>
      createRemoteVerifier({ ...remote, jwksUrl: 'http://auth.example.com/jwks', allowInsecureHttp: true }),
    ).not.toThrow();
    expect(() => createRemoteVerifier({ ...remote, jwksUrl: 'https://auth.example.com/jwks' })).not.toThrow();
  });

  it('refuses HMAC algorithms at setup (a verifier never holds a shared secret)', () => {
    expect(() =>
      createRemoteVerifier({ jwksUrl: 'http://x/jwks', issuer: 'i', audience: 'a', algorithms: ['HS256'] }),
    ).toThrow(TypeError);
  });
});

describe('coatcheck decode', () => {
  const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  it('prints header, payload, time to expiry and verifies with --jwks', async () => {
    const login = await loginWithTokens(issuer, 'native');
    const plain = spawnSync(process.execPath, [CLI, 'decode', login.accessToken], { encoding: 'utf8' });
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain('"typ": "at+jwt"');
    expect(plain.stdout).toMatch(/expires in \d+ s/);
    expect(plain.stdout).toContain('signature NOT verified');
    const verified = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      // Asynchronous spawn: the issuer runs in this process and must keep answering.
      const child = spawn(process.execPath, [
        CLI,
        'decode',
        login.accessToken,
        '--jwks',
        `${issuer.url}/.well-known/jwks.json`,
      ]);
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.on('exit', (status) => resolve({ status, stdout }));
    });
    expect(verified.stdout).toContain('signature and claims verified');
    expect(verified.status).toBe(0);
  });

  it('warns about alg none, personal data, a long lifetime and a missing exp', () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${b64({ alg: 'none' })}.${b64({ sub: 'u', email: 'a@example.com', iat: 1 })}.`;
    const reply = spawnSync(process.execPath, [CLI, 'decode', token], { encoding: 'utf8' });
    expect(reply.stdout).toContain('warning: alg is "none"');
    expect(reply.stdout).toContain('warning: no exp');
    expect(reply.stdout).toContain('personal data (email)');
    const long = `${b64({ alg: 'HS256' })}.${b64({ sub: 'u', iat: 0, exp: 7200 })}.x`;
    expect(spawnSync(process.execPath, [CLI, 'decode', long], { encoding: 'utf8' }).stdout).toMatch(
      /lifetime is 120 minutes/,
    );
    expect(spawnSync(process.execPath, [CLI, 'decode', 'not-a-jwt'], { encoding: 'utf8' }).status).toBe(1);
  });
});
