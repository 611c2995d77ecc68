import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/create-auth.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

// SECURITY.md 14: HSTS on https. The server behind a TLS-terminating proxy listens on plain http,
// so the origin it is configured with decides; on an http origin (localhost) it must not be sent.

const HSTS = /^max-age=(\d+)/;
const PATHS: [string, string][] = [
  ['GET', '/'],
  ['GET', '/auth/me'],
  ['GET', '/healthz'],
  ['GET', '/.well-known/jwks.json'],
  ['GET', '/api/notes'],
  ['GET', '/nope'],
];

describe('Strict-Transport-Security', () => {
  let https: TestServer;
  let http: TestServer;
  beforeAll(async () => {
    https = await startTestServer({ env: { COATCHECK_ORIGIN: 'https://app.example.com' } });
    http = await startTestServer();
  });
  afterAll(async () => {
    await https?.stop();
    await http?.stop();
  });

  it('is sent on every answer of an https origin, pages, auth routes and errors alike, for at least a year', async () => {
    for (const [method, path] of PATHS) {
      const reply = await call(https, method, path);
      const value = reply.headers.get('strict-transport-security');
      expect([path, value]).toEqual([path, expect.stringMatching(HSTS)]);
      expect(Number(HSTS.exec(value!)![1])).toBeGreaterThanOrEqual(31_536_000);
    }
  });

  it('is not sent on a plain-http origin', async () => {
    for (const [method, path] of PATHS) {
      const reply = await call(http, method, path);
      expect([path, reply.headers.get('strict-transport-security')]).toEqual([path, null]);
    }
  });
});

describe('Strict-Transport-Security from the auth handler alone (an app that mounts only authRouter)', () => {
  it('is on every answer for an https origin, and on none for http', async () => {
    for (const origin of ['https://app.example.com', 'http://localhost:3000']) {
      const auth = createAuth({ store: createMemoryStore(), origin, purgeInterval: 0 });
      try {
        for (const path of ['/auth/me', '/auth/nope', '/healthz']) {
          const response = await auth.handle(new Request(`${origin}${path}`));
          const value = response.headers.get('strict-transport-security');
          if (origin.startsWith('https:')) expect([path, value]).toEqual([path, expect.stringMatching(HSTS)]);
          else expect([path, value]).toEqual([path, null]);
        }
      } finally {
        await auth.close();
      }
    }
  });
});
