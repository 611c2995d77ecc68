import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { probePostgres, postgresUrl, requireService } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { runCli } from '../helpers/cli.js';
import { loginWithTokens } from '../helpers/tokens.js';

const available = await requireService('postgres', probePostgres);

const schema = `cc_pgonly_${process.pid}_${Date.now() % 100000}`;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function timeUntil(probe: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe.runIf(available)('Postgres-only: two instances, revocations over LISTEN/NOTIFY', () => {
  let proxy: TcpProxy;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    const target = new URL(postgresUrl());
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const env = {
      COATCHECK_SECRET: 'postgres-only-test-secret-0123456789abcdef',
      COATCHECK_DATABASE_SCHEMA: schema,
      COATCHECK_MIGRATE_ON_START: '1',
    };
    a = await startTestServer({ env: { ...env, DATABASE_URL: postgresUrl() } });
    // B reaches Postgres through a proxy, so its connection can be cut while A keeps working.
    b = await startTestServer({
      env: {
        ...env,
        DATABASE_URL: `postgres://${target.username || 'postgres'}@127.0.0.1:${proxy.port}${target.pathname}`,
      },
    });
  }, 30_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await proxy?.close();
    const admin = new pg.Client({ connectionString: postgresUrl() });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('a logout on A is refused on B within 100 ms on strict routes, with no lookup per request', async () => {
    const login = await loginWithTokens(a, 'native');
    expect((await call(b, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status).toBe(200);
    expect((await call(a, 'POST', '/auth/logout', { headers: bearer(login.accessToken), origin: null })).status).toBe(
      204,
    );
    const delay = await timeUntil(
      async () => (await call(b, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status === 401,
      100,
    );
    console.log(`[coatcheck] LISTEN/NOTIFY revocation seen on the other instance after ${delay.toFixed(1)} ms`);
  });

  it("`coatcheck users set-role` reaches running instances: the old role's token stops passing strict routes", async () => {
    const login = await loginWithTokens(a, 'native');
    await a.auth.setRole(login.userId, 'admin');
    const admin = await call(a, 'POST', '/auth/login', {
      json: { email: login.email, password: login.password, mode: 'native' },
    });
    const asAdmin = () => call(b, 'GET', '/api/admin/users', { headers: bearer(admin.body.accessToken) });
    expect((await asAdmin()).status).toBe(200);
    const demoted = runCli(['users', 'set-role', '--email', login.email, '--role', 'user'], {
      env: {
        DATABASE_URL: postgresUrl(),
        COATCHECK_DATABASE_SCHEMA: schema,
        COATCHECK_ORIGIN: 'http://localhost:3000',
      },
    });
    expect([demoted.status, demoted.stderr]).toEqual([0, '']);
    expect(demoted.stdout).toBe(`${login.email}: role admin -> user\n`);
    const delay = await timeUntil(async () => (await asAdmin()).status === 401, 2_000);
    console.log(`[coatcheck] a role change made by the CLI was seen by an instance after ${delay.toFixed(1)} ms`);
  });

  it("the demo's notes on Postgres: a NUL is 400 (Postgres TEXT cannot hold it), a store cut off is 503", async () => {
    const login = await loginWithTokens(b, 'native');
    const nul = await call(b, 'POST', '/api/notes', { headers: bearer(login.accessToken), json: { text: 'a\u0000b' } });
    expect([nul.status, nul.body.code]).toEqual([400, 'invalid_request']);
    await proxy.cut();
    try {
      const notes = await call(b, 'GET', '/api/notes', { headers: bearer(login.accessToken) });
      expect([notes.status, notes.body.code]).toEqual([503, 'store_unavailable']);
    } finally {
      await proxy.restore();
    }
  }, 30_000);

  it('while B is cut off from Postgres its strict routes fail closed; after reconnecting it has caught up', async () => {
    const login = await loginWithTokens(a, 'native');
    await proxy.cut();
    // Revoked while B cannot hear it.
    expect((await call(a, 'POST', '/auth/logout', { headers: bearer(login.accessToken), origin: null })).status).toBe(
      204,
    );
    const during = await call(b, 'GET', '/api/admin/users', { headers: bearer(login.accessToken) });
    expect(during.status).toBe(503);
    await proxy.restore();
    // Once B resynchronises it refuses the token it missed the news about; never 200 on the way.
    await timeUntil(async () => {
      const status = (await call(b, 'GET', '/auth/me', { headers: bearer(login.accessToken) })).status;
      expect(status).not.toBe(200);
      return status === 401;
    }, 10_000);
  }, 30_000);
});
