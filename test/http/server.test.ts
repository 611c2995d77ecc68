import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PASSWORD, registerAndLogin, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

describe('demo API', () => {
  it('/api/notes: 401 for nobody; a user reads and writes only their own notes', async () => {
    expect((await call(server, 'GET', '/api/notes')).status).toBe(401);
    const ann = await registerAndLogin(server);
    const bob = await registerAndLogin(server);
    const created = await call(server, 'POST', '/api/notes', { session: ann.session, json: { text: 'buy milk' } });
    expect(created.status).toBe(201);
    expect(created.body.note.text).toBe('buy milk');
    expect(
      (await call(server, 'GET', '/api/notes', { session: ann.session })).body.notes.map(
        (n: { text: string }) => n.text,
      ),
    ).toEqual(['buy milk']);
    expect((await call(server, 'GET', '/api/notes', { session: bob.session })).body.notes).toEqual([]);
  });

  it('/api/notes POST: 415 for a form body, 400 for bad JSON or a bad note, 413 for 1 MiB', async () => {
    const ann = await registerAndLogin(server);
    const form = await call(server, 'POST', '/api/notes', {
      session: ann.session,
      raw: 'text=hi',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect([form.status, form.body.code]).toEqual([415, 'unsupported_media_type']);
    const broken = await call(server, 'POST', '/api/notes', {
      session: ann.session,
      raw: '{"text":',
      headers: { 'Content-Type': 'application/json' },
    });
    expect([broken.status, broken.body.code]).toEqual([400, 'invalid_json']);
    const unstorable = [{ text: 'a\u0000b' }, { text: 'half \ud800 a pair' }, { text: '\udc00' }];
    for (const json of [
      {},
      { text: '' },
      { text: 5 },
      { text: 'x'.repeat(1001) },
      { text: 'ok', extra: 1 },
      ...unstorable,
    ]) {
      const reply = await call(server, 'POST', '/api/notes', { session: ann.session, json });
      expect([reply.status, reply.body.code]).toEqual([400, 'invalid_request']);
    }
    const huge = await call(server, 'POST', '/api/notes', {
      session: ann.session,
      json: { text: 'x'.repeat(1024 * 1024) },
    });
    expect([huge.status, huge.body.code]).toEqual([413, 'payload_too_large']);
    expect((await call(server, 'GET', '/api/notes', { session: ann.session })).body.notes).toEqual([]);
  });

  it('/api/admin/users: 401 for nobody, 403 forbidden for a user, 200 for an admin; role changes apply at once', async () => {
    expect((await call(server, 'GET', '/api/admin/users')).status).toBe(401);
    const ann = await registerAndLogin(server);
    const forbidden = await call(server, 'GET', '/api/admin/users', { session: ann.session });
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'forbidden']);
    await server.auth.setRole(ann.userId, 'admin');
    const allowed = await call(server, 'GET', '/api/admin/users', { session: ann.session });
    expect(allowed.status).toBe(200);
    expect(allowed.body.users.some((u: { email: string }) => u.email === ann.email)).toBe(true);
    expect(allowed.text).not.toMatch(/argon2|passwordHash/);
    await server.auth.setRole(ann.userId, 'user');
    expect((await call(server, 'GET', '/api/admin/users', { session: ann.session })).status).toBe(403);
  });
});

describe('demo API: caching and methods', () => {
  it('marks every /api answer no-store, and answers a known path with another method 405 with Allow', async () => {
    const { session } = await registerAndLogin(server);
    for (const path of ['/api/notes', '/api/admin/users', '/api/demo/cookies']) {
      const reply = await call(server, 'GET', path, { session });
      expect([path, reply.headers.get('cache-control')]).toEqual([path, 'no-store']);
    }
    expect((await call(server, 'GET', '/api/notes')).headers.get('cache-control')).toBe('no-store');
    for (const [method, path, allow] of [
      ['DELETE', '/api/notes', 'GET, HEAD, POST'],
      ['PUT', '/api/admin/users', 'GET, HEAD'],
      ['POST', '/api/demo/cookies', 'GET, HEAD'],
    ] as const) {
      const reply = await call(server, method, path, { session });
      expect([path, reply.status, reply.body.code, reply.headers.get('allow')]).toEqual([
        path,
        405,
        'method_not_allowed',
        allow,
      ]);
    }
    expect((await call(server, 'GET', '/api/unknown', { session })).status).toBe(404);
  });

  it('answers another method on /healthz and the JWKS 405 with Allow: GET, HEAD', async () => {
    for (const path of ['/healthz', '/.well-known/jwks.json']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const reply = await call(server, method, path);
        expect([method, path, reply.status, reply.body.code, reply.headers.get('allow')]).toEqual([
          method,
          path,
          405,
          'method_not_allowed',
          'GET, HEAD',
        ]);
      }
    }
  });
});

describe('the server', () => {
  it('/healthz answers 200 {status: ok}', async () => {
    const reply = await call(server, 'GET', '/healthz');
    expect([reply.status, reply.body]).toEqual([200, { status: 'ok' }]);
  });

  it('serves the landing page with a strict CSP and the security headers', async () => {
    const reply = await call(server, 'GET', '/');
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('<h1>coatcheck is running</h1>');
    const csp = reply.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reply.headers.get('referrer-policy')).toBe('no-referrer');
    expect(reply.headers.get('x-powered-by')).toBeNull();
  });

  it('answers unknown paths with a 404 problem, and unknown auth paths too', async () => {
    for (const path of ['/nope', '/auth/nope', '/auth/me/', '/auth']) {
      const reply = await call(server, 'GET', path);
      expect([path, reply.status, reply.body?.code]).toEqual([path, 404, 'not_found']);
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });

  it('sends security headers on auth responses', async () => {
    const reply = await call(server, 'GET', '/auth/me');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.headers.get('x-frame-options')).toBe('DENY');
  });

  it('does not let a forged Host header change anything it issues', async () => {
    const { email, password } = await registerAndLogin(server);
    const { request } = await import('node:http');
    const body = JSON.stringify({ email, password });
    const url = new URL(server.url);
    const cookies = await new Promise<string[]>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/auth/login',
          method: 'POST',
          headers: {
            Host: 'evil.example',
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          resolve(res.headers['set-cookie'] ?? []);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).not.toMatch(/Domain=/i);
    expect(cookies[0]).toMatch(/^__Host-coatcheck\.sid=.*; Path=\/;/);
  });

  it('answers absolute-form request targets by their path on the configured origin, never a 500', async () => {
    const { email, session } = await registerAndLogin(server);
    const { request } = await import('node:http');
    const url = new URL(server.url);
    const get = (path: string, cookie?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers = cookie ? { Cookie: `__Host-coatcheck.sid=${cookie}` } : {};
        const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    // A port out of range and credentials in the authority made the bridge's URL throw: 500.
    for (const target of ['http://a:99999/auth/me', 'https://x@y/auth/me', 'http://evil.example/auth/me?x=1']) {
      const anonymous = await get(target);
      expect([target, anonymous.status, JSON.parse(anonymous.body).code]).toEqual([target, 401, 'unauthenticated']);
      const signedIn = await get(target, session);
      expect([target, signedIn.status]).toEqual([target, 200]);
      expect(JSON.parse(signedIn.body).user.email).toBe(email);
    }
  });

  it('answers methods a Web Request cannot carry (TRACE) with 405, never a 500 or a stack trace', async () => {
    const { request } = await import('node:http');
    const url = new URL(server.url);
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/auth/me', method: 'TRACE' }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(reply.status).toBe(405);
    expect(JSON.parse(reply.body).code).toBe('method_not_allowed');
    expect(reply.body).not.toMatch(/at |node_modules|TypeError/);
  });

  it('says at start which addresses it listens on: all interfaces unless HOST names one', async () => {
    const everywhere = await startTestServer({ config: { host: undefined } });
    try {
      const line = everywhere.logs.find((log) => log.message.startsWith('coatcheck listening'));
      expect(line?.fields).toMatchObject({ listening: 'all interfaces', url: `http://127.0.0.1:${everywhere.port}` });
      // '::' where the machine has IPv6, else '0.0.0.0': every interface either way.
      expect(['::', '0.0.0.0']).toContain((everywhere.server.address() as AddressInfo).address);
    } finally {
      await everywhere.stop();
    }
    const line = server.logs.find((log) => log.message.startsWith('coatcheck listening'));
    expect(line?.fields).toMatchObject({ listening: '127.0.0.1' });
  });

  it('never writes passwords or session secrets to the log', async () => {
    const { session, password } = await registerAndLogin(server, { password: 'an unmistakable passphrase 123' });
    await call(server, 'GET', '/auth/me', { session });
    await call(server, 'POST', '/auth/logout', { session });
    const logged = JSON.stringify(server.logs);
    expect(logged).toContain('login.succeeded');
    expect(logged).not.toContain(password);
    expect(logged).not.toContain(session);
  });
});

describe('persistence', () => {
  it('the SQLite file survives a restart with users and sessions intact', async () => {
    const first = await startTestServer();
    const { session, email } = await registerAndLogin(first, { password: PASSWORD });
    await first.stop({ keepData: true });
    const second = await startTestServer({ dataDir: first.dataDir });
    try {
      const me = await call(second, 'GET', '/auth/me', { session });
      expect(me.status).toBe(200);
      expect(me.body.user.email).toBe(email);
    } finally {
      await second.stop();
    }
  });

  it('/healthz answers 503 when the store is closed', async () => {
    const doomed = await startTestServer();
    try {
      await doomed.store.close();
      const health = await call(doomed, 'GET', '/healthz');
      expect(health.status).toBe(503);
      const me = await call(doomed, 'GET', '/auth/me', { session: 'A'.repeat(43) });
      expect([me.status, me.body.code]).toEqual([503, 'store_unavailable']);
      const login = await call(doomed, 'POST', '/auth/login', { json: { email: 'a@example.com', password: PASSWORD } });
      expect([login.status, login.body.code]).toEqual([503, 'store_unavailable']);
    } finally {
      await doomed.stop();
    }
  });
});
