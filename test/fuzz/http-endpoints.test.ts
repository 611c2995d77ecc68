import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, registerAndLogin, startTestServer, type TestServer } from '../helpers/server.js';
import { rawRequest } from '../attacks/harness.js';
import { expectNoForgedIdentity, generatedRequest } from './requests.js';
import { fuzzParameters, KNOWN_CODES, timeoutFor } from './world.js';

// The same generated requests over real HTTP against `coatcheck serve` (Express, Node's parser,
// the demo routes, the default argon2id and throttles), fewer of them; then raw bytes on a socket.
// Never a 5xx, never a forged identity, answers within two seconds, and the server keeps serving.

describe('every endpoint over real HTTP', () => {
  let server: TestServer;
  let victim: { email: string; password: string; userId: string };
  beforeAll(async () => {
    server = await startTestServer();
    const { email, password, userId } = await registerAndLogin(server);
    victim = { email, password, userId };
  });
  afterAll(async () => {
    await server.stop();
  });

  it(
    'answers generated requests with a 4xx and a stable code or an honest success, within 2 s',
    async () => {
      await fc.assert(
        fc.asyncProperty(generatedRequest({ ...victim, sessionId: 'ses_unknownxxxxxxxxxxxxxx' }), async (request) => {
          const started = performance.now();
          const response = await fetch(`${server.url}${request.path}`, {
            method: request.method,
            headers: request.headers,
            redirect: 'manual',
            ...(request.body !== undefined ? { body: request.body as BodyInit } : {}),
          });
          const text = await response.text();
          expect(performance.now() - started).toBeLessThan(2000);
          expect(response.status).toBeLessThan(500);
          expect(response.headers.get('location')).toBeNull();
          let body: any;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          if (response.status >= 400 && body !== undefined) expect(KNOWN_CODES).toContain(body.code);
          expectNoForgedIdentity(victim, request, { status: response.status, body });
        }),
        fuzzParameters(200),
      );
      expect(server.logs.filter((line) => line.fields.event === 'internal_error')).toEqual([]);
    },
    timeoutFor(200, 100),
  );

  it(
    'survives raw bytes on a socket: answers or hangs up, and serves the next client at once',
    async () => {
      const line = fc.constantFrom(
        'GET /auth/me HTTP/1.1\r\n',
        'POST /auth/login HTTP/1.1\r\n',
        'GET / HTTP/1.1\r\n',
        '',
      );
      const bytes = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1'));
      const headerLines = fc
        .array(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 40 })), { maxLength: 5 })
        .map((pairs) => pairs.map(([n, v]) => `${n}: ${v}\r\n`).join(''));
      await fc.assert(
        fc.asyncProperty(line, headerLines, bytes, async (start, headers, tail) => {
          const reply = await rawRequest(
            server,
            [Buffer.from(`${start}Host: localhost\r\nConnection: close\r\n${headers}\r\n${tail}`, 'latin1')],
            { timeoutMs: 300 },
          );
          expect(reply.status === 0 || reply.status < 500).toBe(true);
          const health = await call(server, 'GET', '/healthz');
          expect(health.status).toBe(200);
        }),
        fuzzParameters(100),
      );
    },
    timeoutFor(100, 400),
  );
});
