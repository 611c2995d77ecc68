import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probePostgres, postgresUrl, redisUrl, requireService } from '../helpers/services.js';
import { deleteKeysUnder, keysUnder, probeRedis, uniquePrefix } from '../store/redis-helpers.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ORIGIN = 'http://localhost:3000';
const SECRET = 'multi-instance-test-secret-0123456789abcdef';

const available = (await requireService('postgres', probePostgres)) && (await requireService('redis', probeRedis));

interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
}

const schema = `cc_multi_${process.pid}_${Date.now() % 100000}`;
const redisPrefix = uniquePrefix();
let dataDir: string;
let instances: Instance[] = [];

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: postgresUrl(),
    COATCHECK_DATABASE_SCHEMA: schema,
    REDIS_URL: redisUrl(),
    COATCHECK_REDIS_PREFIX: redisPrefix,
    COATCHECK_SECRET: SECRET,
    COATCHECK_ORIGIN: ORIGIN,
    COATCHECK_MIGRATE_ON_START: '1',
    COATCHECK_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
}

function startInstance(name: string): Promise<Instance> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ name, url: match[1]!, child });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${output}`)));
  });
}

async function post(instance: Instance, path: string, init: { json?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${instance.url}${path}`, {
    method: 'POST',
    headers: { Origin: ORIGIN, ...(init.json ? { 'Content-Type': 'application/json' } : {}), ...init.headers },
    ...(init.json ? { body: JSON.stringify(init.json) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, any>) : {},
    cookies: response.headers.getSetCookie(),
  };
}

const get = async (instance: Instance, path: string, headers: Record<string, string> = {}) =>
  (await fetch(`${instance.url}${path}`, { headers })).status;

/** Polls until `probe` is true; returns the milliseconds it took, or throws after `limitMs`. */
async function timeUntil(probe: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe.runIf(available)('three coatcheck serve processes on one Postgres + Redis', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-multi-'));
    // One after the other: the first creates the signing key, the others find it.
    for (const name of ['A', 'B', 'C']) instances.push(await startInstance(name));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(
      instances.map(
        (instance) =>
          new Promise((resolve) => {
            instance.child.once('exit', resolve);
            instance.child.kill('SIGTERM');
          }),
      ),
    );
    instances = [];
    const admin = new pg.Client({ connectionString: postgresUrl() });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    const redis = new Redis(redisUrl());
    await deleteKeysUnder(redis, redisPrefix);
    redis.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the same keys from every instance', async () => {
    const sets = await Promise.all(
      instances.map(async (instance) => {
        const jwks = (await (await fetch(`${instance.url}/.well-known/jwks.json`)).json()) as {
          keys: { kid: string }[];
        };
        return jwks.keys.map((k) => k.kid).sort();
      }),
    );
    expect(sets[0]!.length).toBeGreaterThan(0);
    expect(sets[1]).toEqual(sets[0]);
    expect(sets[2]).toEqual(sets[0]);
  });

  it('log in on A, use it on B and C, log out on C: within 100 ms A and B refuse the cookie and the access token', async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const email = `multi-${Date.now()}@example.com`;
    const password = 'a shared passphrase for three';
    expect((await post(a, '/auth/register', { json: { email, password } })).status).toBe(201);

    const cookieLogin = await post(a, '/auth/login', { json: { email, password } });
    const cookie = cookieLogin.cookies[0]!.split(';')[0]!;
    const tokenLogin = await post(a, '/auth/login', { json: { email, password, mode: 'native' } });
    const bearer = { Authorization: `Bearer ${tokenLogin.body.accessToken as string}` };

    for (const instance of [b, c]) {
      expect(await get(instance, '/auth/me', { Cookie: cookie })).toBe(200);
      expect(await get(instance, '/auth/me', bearer)).toBe(200);
    }

    const loggedOut = await post(c, '/auth/logout', { headers: { Cookie: cookie } });
    expect(loggedOut.status).toBe(204);
    const tokenLoggedOut = await post(c, '/auth/logout', {
      headers: bearer,
      json: { refreshToken: tokenLogin.body.refreshToken },
    });
    expect(tokenLoggedOut.status).toBe(204);

    const delays: Record<string, number> = {};
    for (const instance of [a, b]) {
      delays[`${instance.name} cookie`] = await timeUntil(
        async () => (await get(instance, '/auth/me', { Cookie: cookie })) === 401,
        100,
      );
      delays[`${instance.name} bearer (strict)`] = await timeUntil(
        async () => (await get(instance, '/auth/me', bearer)) === 401,
        100,
      );
    }
    console.log(
      `[coatcheck] revocation seen across instances after (ms): ${JSON.stringify(delays, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`,
    );
    // Stateless routes keep accepting the token until it expires: the documented trade-off.
    expect(await get(a, '/api/notes', bearer)).toBe(200);
  });

  it('revoking a device on B ends it on A and C at once, also for strict admin routes', async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const email = `multi-dev-${Date.now()}@example.com`;
    const password = 'another shared passphrase';
    await post(a, '/auth/register', { json: { email, password } });
    const device = await post(a, '/auth/login', { json: { email, password, mode: 'native' } });
    const manager = await post(b, '/auth/login', { json: { email, password, mode: 'native' } });
    const sid = (
      JSON.parse(Buffer.from((device.body.accessToken as string).split('.')[1]!, 'base64url').toString()) as {
        sid: string;
      }
    ).sid;
    const revoked = await fetch(`${b.url}/auth/sessions/${sid}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${manager.body.accessToken as string}` },
    });
    expect(revoked.status).toBe(204);
    for (const instance of [a, c]) {
      await timeUntil(
        async () =>
          (await get(instance, '/auth/me', { Authorization: `Bearer ${device.body.accessToken as string}` })) === 401,
        100,
      );
    }
    const refresh = await post(c, '/auth/refresh', { json: { refreshToken: device.body.refreshToken } });
    expect(refresh.body.code).toBe('invalid_refresh_token');
  });
  it('keeps its Redis keys, the revocation feed included, under COATCHECK_REDIS_PREFIX', async () => {
    const redis = new Redis(redisUrl());
    try {
      const keys = await keysUnder(redis, redisPrefix);
      // The earlier tests logged in and out: sessions were stored and revocations published here.
      expect(keys.some((key) => key.includes(':ses:'))).toBe(true);
      expect(keys).toContain(`${redisPrefix}:coatcheck:revocation-events`);
    } finally {
      redis.disconnect();
    }
  });
});
