import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuth, type Auth } from '../src/create-auth.js';
import { createArgon2idHasher } from '../src/core/password-hasher.js';
import { authRouter, requireAuth } from '../src/express/index.js';
import { createMemoryStore } from '../src/stores/memory/index.js';

// authRouter answers at the paths the browser uses, whatever it is mounted under.

const ORIGIN = 'http://localhost:3000';
const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
let running: { server: Server; auth: Auth } | undefined;

async function start(basePath: string | undefined, mount: (app: express.Express, auth: Auth) => void) {
  const logged: string[] = [];
  const auth = createAuth({
    store: createMemoryStore(),
    origin: ORIGIN,
    ...(basePath ? { basePath } : {}),
    passwordHasher: createArgon2idHasher(CHEAP),
    tokens: { secret: 'express-mount-test-secret-0123456789abcdef' },
    logger: { info: () => undefined, warn: () => undefined, error: (_fields, message) => logged.push(message) },
  });
  const app = express();
  mount(app, auth);
  app.get('/api/me', requireAuth(auth), (req, res) => res.json({ userId: req.auth!.userId }));
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  running = { server, auth };
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: ORIGIN, ...headers },
      body: JSON.stringify(body),
    });
  return { url, post, logged };
}

afterEach(async () => {
  if (!running) return;
  await new Promise((resolve) => running!.server.close(resolve));
  await running.auth.close();
  running = undefined;
});

const credentials = { email: 'mounted@example.com', password: 'a fine passphrase' };

describe('authRouter under a mount path', () => {
  it('app.use("/api", authRouter(auth)) with basePath /api/auth serves /api/auth/*', async () => {
    const { url, post, logged } = await start('/api/auth', (app, auth) => app.use('/api', authRouter(auth)));
    // Not ours, and no sign of a bad mount: the app's own 404, and nothing said.
    expect((await fetch(`${url}/api/healthz`)).status).toBe(404);
    expect((await post('/api/auth/register', credentials)).status).toBe(201);
    const login = await post('/api/auth/login', { ...credentials, mode: 'token' });
    expect(login.status).toBe(200);
    expect(login.headers.getSetCookie()[0]).toMatch(/; Path=\/api\/auth;/);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const me = await fetch(`${url}/api/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
    expect(logged).toEqual([]);
  });

  it('the same mount with the default basePath passes requests on, and says why once', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const { post, logged } = await start(undefined, (app, auth) => app.use('/api', authRouter(auth)));
      for (let i = 0; i < 3; i++) expect((await post('/api/auth/register', credentials)).status).toBe(404);
      const told =
        'coatcheck: authRouter is mounted at /api, so its routes are not reached at /auth: mount it at the root, or set basePath to the full path (e.g. /api/auth)';
      expect(logged).toEqual([told]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([told]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('at the root, with a query string, as before', async () => {
    const { post } = await start(undefined, (app, auth) => app.use(authRouter(auth)));
    expect((await post('/auth/register?source=test', credentials)).status).toBe(201);
  });
});

describe('authRouter when the handler fails after the body was read', () => {
  it('answers 500 internal_error and logs it, rather than leaving the client waiting', async () => {
    // A fault the real handler cannot be made to produce (it answers every error itself): it rejects.
    const { post, logged } = await start(undefined, (app, auth) =>
      app.use(authRouter({ ...auth, handle: () => Promise.reject(new Error('a bug')) })),
    );
    const response = await post('/auth/login', credentials, {}).catch((error: unknown) => error);
    expect(response).toBeInstanceOf(Response);
    expect((response as Response).status).toBe(500);
    expect(await (response as Response).json()).toMatchObject({ code: 'internal_error' });
    expect(logged).toEqual(['unexpected error in auth router']);
  });
});
