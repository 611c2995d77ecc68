import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, registerAndLogin, startTestServer, type TestServer } from '../helpers/server.js';
import { probePostgres, postgresUrl, redisUrl, requireService } from '../helpers/services.js';
import { deleteKeysUnder, probeRedis, uniquePrefix } from '../store/redis-helpers.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { loginWithTokens } from '../helpers/tokens.js';

const available = (await requireService('postgres', probePostgres)) && (await requireService('redis', probeRedis));

const schema = `cc_fail_${process.pid}_${Date.now() % 100000}`;
const redisPrefix = uniquePrefix();
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function eventually(probe: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.runIf(available)('failure of the shared stores while serving (Postgres + Redis behind TCP proxies)', () => {
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let server: TestServer;

  beforeAll(async () => {
    const pgTarget = new URL(postgresUrl());
    const redisTarget = new URL(redisUrl());
    pgProxy = await startTcpProxy({ host: pgTarget.hostname, port: Number(pgTarget.port || 5432) });
    redisProxy = await startTcpProxy({ host: redisTarget.hostname, port: Number(redisTarget.port || 6379) });
    server = await startTestServer({
      env: {
        DATABASE_URL: `postgres://${pgTarget.username || 'postgres'}@127.0.0.1:${pgProxy.port}${pgTarget.pathname}`,
        COATCHECK_DATABASE_SCHEMA: schema,
        REDIS_URL: redisProxy.url('redis'),
        COATCHECK_REDIS_PREFIX: redisPrefix,
        COATCHECK_SECRET: 'failure-test-secret-0123456789abcdef0123',
        COATCHECK_MIGRATE_ON_START: '1',
      },
    });
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
    await pgProxy?.close();
    await redisProxy?.close();
    const admin = new pg.Client({ connectionString: postgresUrl() });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    const redis = new Redis(redisUrl());
    await deleteKeysUnder(redis, redisPrefix);
    redis.disconnect();
  });

  it('Redis down: cookie and strict bearer requests fail closed (503, never 200), and recover by themselves', async () => {
    const cookieUser = await registerAndLogin(server);
    const tokenUser = await loginWithTokens(server, 'native');
    const revoked = await loginWithTokens(server, 'native');
    expect(
      (await call(server, 'POST', '/auth/logout', { headers: bearer(revoked.accessToken), origin: null })).status,
    ).toBe(204);

    await redisProxy.cut();
    // Give the drivers a moment to notice the reset connections.
    await eventually(
      async () => (await call(server, 'GET', '/auth/me', { headers: bearer(tokenUser.accessToken) })).status === 503,
    );
    for (let i = 0; i < 5; i++) {
      const cookie = await call(server, 'GET', '/auth/me', { session: cookieUser.session });
      expect([cookie.status, cookie.body.code]).toEqual([503, 'store_unavailable']);
      expect((await call(server, 'GET', '/auth/me', { headers: bearer(tokenUser.accessToken) })).status).toBe(503);
      expect((await call(server, 'GET', '/auth/me', { headers: bearer(revoked.accessToken) })).status).not.toBe(200);
      expect(
        (await call(server, 'GET', '/api/admin/users', { headers: bearer(tokenUser.accessToken) })).status,
      ).not.toBe(200);
      const login = await call(server, 'POST', '/auth/login', {
        json: { email: cookieUser.email, password: cookieUser.password },
      });
      expect([login.status, login.body.code]).toEqual([503, 'store_unavailable']);
      expect(
        (await call(server, 'POST', '/auth/refresh', { json: { refreshToken: tokenUser.refreshToken }, origin: null }))
          .status,
      ).toBe(503);
    }
    // Stateless by design (docs/api.md): signature and claims only, no store needed.
    expect((await call(server, 'GET', '/api/notes', { headers: bearer(tokenUser.accessToken) })).status).toBe(200);
    expect((await call(server, 'GET', '/healthz')).status).toBe(503);

    await redisProxy.restore();
    await eventually(
      async () => (await call(server, 'GET', '/auth/me', { session: cookieUser.session })).status === 200,
    );
    await eventually(
      async () => (await call(server, 'GET', '/auth/me', { headers: bearer(tokenUser.accessToken) })).status === 200,
    );
    // After the resync, the revocation made before the outage still holds.
    expect((await call(server, 'GET', '/auth/me', { headers: bearer(revoked.accessToken) })).status).toBe(401);
    expect((await call(server, 'GET', '/healthz')).status).toBe(200);
  }, 40_000);

  it('Postgres down: requests that need users fail closed, and recover by themselves', async () => {
    const cookieUser = await registerAndLogin(server);
    await pgProxy.cut();
    await eventually(
      async () => (await call(server, 'GET', '/auth/me', { session: cookieUser.session })).status === 503,
    );
    for (let i = 0; i < 3; i++) {
      const me = await call(server, 'GET', '/auth/me', { session: cookieUser.session });
      expect([me.status, me.body.code]).toEqual([503, 'store_unavailable']);
      const login = await call(server, 'POST', '/auth/login', {
        json: { email: cookieUser.email, password: cookieUser.password },
      });
      expect([login.status, login.body.code]).toEqual([503, 'store_unavailable']);
      expect(
        (
          await call(server, 'POST', '/auth/register', {
            json: { email: `x${i}-${Date.now()}@example.com`, password: 'a long passphrase' },
          })
        ).status,
      ).toBe(503);
    }
    expect((await call(server, 'GET', '/healthz')).status).toBe(503);
    await pgProxy.restore();
    await eventually(
      async () => (await call(server, 'GET', '/auth/me', { session: cookieUser.session })).status === 200,
    );
    expect(
      (await call(server, 'POST', '/auth/login', { json: { email: cookieUser.email, password: cookieUser.password } }))
        .status,
    ).toBe(200);
  }, 40_000);
});
