import type { SqliteStore } from '../../src/stores/sqlite/index.js';
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/create-auth.js';
import { readConfig } from '../../src/server/config.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { startServer } from '../../src/server/serve.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { loginWithTokens } from '../helpers/tokens.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const kidOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

describe('GET /.well-known/jwks.json', () => {
  it('serves public keys only, each with kid, alg and use, and a Cache-Control', async () => {
    const reply = await call(server, 'GET', '/.well-known/jwks.json');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(reply.body.keys).toHaveLength(1);
    const [key] = reply.body.keys;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key.kid).toBe(server.auth.tokens!.ring.current().kid);
    expect(key).not.toHaveProperty('d');
  });

  it('keeps private keys sealed at rest and the generated secret at mode 0600', () => {
    const secretPath = join(server.dataDir, 'secret.key');
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
    const rows = (server.store as SqliteStore).database.prepare('SELECT * FROM signing_keys').all() as {
      private_jwk_sealed: string;
    }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.private_jwk_sealed.split('.')).toHaveLength(5); // JWE compact
      expect(row.private_jwk_sealed).not.toContain('"d"');
    }
    expect(readFileSync(secretPath, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('key rotation', () => {
  it('publishes the new key first, signs with it a minute later, keeps old tokens valid until they expire, then drops the old key', async () => {
    const before = await loginWithTokens(server, 'native');
    const oldKid = kidOf(before.accessToken);
    const rotated = await server.auth.tokens!.ring.rotate();
    expect(rotated.kid).not.toBe(oldKid);

    // Published at once, so verifiers with a cached JWKS learn it before any token uses it...
    const both = (await call(server, 'GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(both.sort()).toEqual([oldKid, rotated.kid].sort());
    expect(kidOf((await loginWithTokens(server, 'native')).accessToken)).toBe(oldKid);
    // ...and signing after the publish delay.
    server.clock.advance(60_000);
    const after = await loginWithTokens(server, 'native');
    expect(kidOf(after.accessToken)).toBe(rotated.kid);
    expect((await call(server, 'GET', '/auth/me', { headers: bearer(before.accessToken) })).status).toBe(200);

    // Past every token the old key could have signed (lifetime + tolerance + reload margin).
    server.clock.advance((600 + 30 + 120) * 1000 + 1000);
    const only = (await call(server, 'GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(only).toEqual([rotated.kid]);
    // Tokens of the rotated-out key are refused after its grace (this one has also expired by now).
    expect((await call(server, 'GET', '/auth/me', { headers: bearer(before.accessToken) })).status).toBe(401);
    // The background purge deletes the expired key from the store as well.
    await server.auth.purgeExpired();
    expect((await server.store.signingKeys.list()).map((k) => k.kid)).not.toContain(oldKid);
    const refreshed = await call(server, 'POST', '/auth/refresh', {
      json: { refreshToken: after.refreshToken },
      origin: null,
    });
    expect(kidOf(refreshed.body.accessToken)).toBe(rotated.kid);
  });
});

describe('algorithms', () => {
  it.each([
    ['EdDSA', { kty: 'OKP', crv: 'Ed25519' }],
    ['RS256', { kty: 'RSA' }],
  ])('%s: tokens verify, and the JWKS serves the public key', async (alg, shape) => {
    const other = await startTestServer({ env: { COATCHECK_JWT_ALG: alg } });
    try {
      const login = await loginWithTokens(other, 'native');
      expect(JSON.parse(Buffer.from(login.accessToken.split('.')[0]!, 'base64url').toString()).alg).toBe(alg);
      expect((await call(other, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status).toBe(200);
      const jwks = (await call(other, 'GET', '/.well-known/jwks.json')).body.keys;
      expect(jwks).toEqual([expect.objectContaining({ ...shape, alg, use: 'sig' })]);
      expect(jwks[0]).not.toHaveProperty('d');
    } finally {
      await other.stop();
    }
  });

  it('HS256: tokens verify and the JWKS stays empty (a shared secret is never published)', async () => {
    const other = await startTestServer({ env: { COATCHECK_JWT_ALG: 'HS256' } });
    try {
      const login = await loginWithTokens(other, 'native');
      expect((await call(other, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status).toBe(200);
      expect((await call(other, 'GET', '/.well-known/jwks.json')).body).toEqual({ keys: [] });
    } finally {
      await other.stop();
    }
  });

  it('switching the algorithm (a rotation first) retires the old key but keeps its tokens valid until they expire', async () => {
    const first = await startTestServer();
    const login = await loginWithTokens(first, 'native');
    await first.stop({ keepData: true });
    // Started on another algorithm than the store's key, an instance refuses (it would retire the
    // key its siblings sign with); the change is a rotation under the new algorithm.
    await expect(startTestServer({ dataDir: first.dataDir, env: { COATCHECK_JWT_ALG: 'EdDSA' } })).rejects.toThrow(
      /^the store's keys sign with ES256, and this ring is configured for EdDSA /,
    );
    const store = createSqliteStore({ path: join(first.dataDir, 'coatcheck.db') });
    const secret = readFileSync(join(first.dataDir, 'secret.key'), 'utf8').trim();
    const operator = createAuth({
      store,
      origin: 'http://localhost:3000',
      purgeInterval: 0,
      tokens: { secret, algorithm: 'EdDSA' },
    });
    await operator.tokens!.ring.rotate();
    await operator.close();
    await store.close();
    const second = await startTestServer({ dataDir: first.dataDir, env: { COATCHECK_JWT_ALG: 'EdDSA' } });
    try {
      expect((await call(second, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status).toBe(200);
      const fresh = await call(second, 'POST', '/auth/refresh', {
        json: { refreshToken: login.refreshToken },
        origin: null,
      });
      expect(
        JSON.parse(Buffer.from((fresh.body.accessToken as string).split('.')[0]!, 'base64url').toString()).alg,
      ).toBe('EdDSA');
    } finally {
      await second.stop();
    }
  });
});

describe('configuration', () => {
  it('requires COATCHECK_SECRET in production, of at least 32 bytes', async () => {
    const production = readConfig({
      PORT: '0',
      NODE_ENV: 'production',
      COATCHECK_ORIGIN: 'https://app.example.com',
      COATCHECK_DATA_DIR: server.dataDir,
    });
    await expect(startServer(production, { logger: { info() {}, warn() {}, error() {} } })).rejects.toThrow(
      /COATCHECK_SECRET is required/,
    );
    const short = readConfig({
      PORT: '0',
      COATCHECK_ORIGIN: 'http://localhost:3000',
      COATCHECK_SECRET: 'too short',
      COATCHECK_DATA_DIR: server.dataDir,
    });
    await expect(startServer(short, { logger: { info() {}, warn() {}, error() {} } })).rejects.toThrow(
      /at least 32 bytes/,
    );
  });

  it('refuses access tokens over 15 minutes unless explicitly and loudly allowed', async () => {
    const long = readConfig({
      PORT: '0',
      COATCHECK_ORIGIN: 'http://localhost:3000',
      COATCHECK_ACCESS_TOKEN_TTL: '3600',
      COATCHECK_DATA_DIR: server.dataDir,
    });
    await expect(startServer(long, { logger: { info() {}, warn() {}, error() {} } })).rejects.toThrow(
      /COATCHECK_ACCESS_TOKEN_TTL over 900 s \(15 minutes\) needs COATCHECK_DANGEROUSLY_ALLOW_LONG_ACCESS_TOKENS=1/,
    );
    const allowed = await startTestServer({
      env: { COATCHECK_ACCESS_TOKEN_TTL: '3600', COATCHECK_DANGEROUSLY_ALLOW_LONG_ACCESS_TOKENS: '1' },
    });
    try {
      expect((await loginWithTokens(allowed, 'native')).reply.body.expiresIn).toBe(3600);
    } finally {
      await allowed.stop();
    }
  });

  it('issues iss and aud from COATCHECK_ISSUER and COATCHECK_AUDIENCE', async () => {
    const custom = await startTestServer({
      env: { COATCHECK_ISSUER: 'https://auth.example.com', COATCHECK_AUDIENCE: 'api://notes' },
    });
    try {
      const login = await loginWithTokens(custom, 'native');
      const claims = JSON.parse(Buffer.from(login.accessToken.split('.')[1]!, 'base64url').toString());
      expect([claims.iss, claims.aud]).toEqual(['https://auth.example.com', 'api://notes']);
      expect((await call(custom, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status).toBe(200);
    } finally {
      await custom.stop();
    }
  });
});
