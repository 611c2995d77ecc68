import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ORIGIN, registerAndLogin, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const FOREIGN: [string, Record<string, string>][] = [
  ['a foreign Origin', { Origin: 'https://evil.example' }],
  ['Origin: null', { Origin: 'null' }],
  ['an Origin differing only in port', { Origin: 'http://localhost:3001' }],
  ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
  ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }],
  ['our Origin but Sec-Fetch-Site: cross-site', { Origin: ORIGIN, 'Sec-Fetch-Site': 'cross-site' }],
  ['neither Origin nor Sec-Fetch-Site', {}],
];

describe('CSRF on cookie-authenticated unsafe requests', () => {
  it.each(FOREIGN)(
    'refuses %s on every unsafe route with 403 csrf_rejected, changing nothing',
    async (_label, headers) => {
      const me = await registerAndLogin(server);
      const other = await call(server, 'POST', '/auth/login', { json: { email: me.email, password: me.password } });
      const routes: [string, string, unknown][] = [
        ['POST', '/auth/logout', undefined],
        ['POST', '/auth/logout-all', undefined],
        ['DELETE', `/auth/sessions/${other.body.session.id}`, undefined],
        ['POST', '/auth/password', { currentPassword: me.password, newPassword: 'a new passphrase here' }],
        ['POST', '/api/notes', { text: 'forged note' }],
      ];
      for (const [method, path, json] of routes) {
        const reply = await call(server, method, path, {
          session: me.session,
          origin: null,
          headers,
          ...(json ? { json } : {}),
        });
        expect([method, path, reply.status, reply.body?.code]).toEqual([method, path, 403, 'csrf_rejected']);
      }
      expect(await server.store.sessions.findById(me.login.body.session.id)).not.toBeNull();
      expect(await server.store.sessions.findById(other.body.session.id)).not.toBeNull();
      const notes = await call(server, 'GET', '/api/notes', { session: me.session });
      expect(notes.body.notes).toEqual([]);
      expect(
        (await call(server, 'POST', '/auth/login', { json: { email: me.email, password: me.password } })).status,
      ).toBe(200);
    },
  );

  it('accepts the same requests from our own origin, and Sec-Fetch-Site: same-origin', async () => {
    const me = await registerAndLogin(server);
    const note = await call(server, 'POST', '/api/notes', { session: me.session, json: { text: 'mine' } });
    expect(note.status).toBe(201);
    const viaFetchMetadata = await call(server, 'POST', '/api/notes', {
      session: me.session,
      origin: null,
      headers: { 'Sec-Fetch-Site': 'same-origin' },
      json: { text: 'also mine' },
    });
    expect(viaFetchMetadata.status).toBe(201);
  });

  it('answers GET on state-changing routes with 405, never a state change', async () => {
    const me = await registerAndLogin(server);
    for (const path of ['/auth/logout', '/auth/logout-all', '/auth/password', '/auth/login', '/auth/register']) {
      const reply = await call(server, 'GET', path, { session: me.session });
      expect([path, reply.status, reply.body.code]).toEqual([path, 405, 'method_not_allowed']);
      expect(reply.headers.get('allow')).toBe('POST');
    }
    expect((await call(server, 'GET', '/auth/me', { session: me.session })).status).toBe(200);
  });

  it('ignores method-override headers', async () => {
    const me = await registerAndLogin(server);
    const reply = await call(server, 'GET', '/auth/me', {
      session: me.session,
      headers: { 'X-HTTP-Method-Override': 'DELETE', 'X-Method-Override': 'POST' },
    });
    expect(reply.status).toBe(200);
    expect((await call(server, 'GET', '/auth/me', { session: me.session })).status).toBe(200);
  });
});

describe('logout from a foreign page', () => {
  it('is refused even without any cookie, so its Set-Cookie cannot clear the visitor cookies', async () => {
    for (const headers of [{ Origin: 'https://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }] as Record<
      string,
      string
    >[]) {
      const reply = await call(server, 'POST', '/auth/logout', { origin: null, headers });
      expect([reply.status, reply.body.code]).toEqual([403, 'csrf_rejected']);
      expect(reply.cookies).toEqual([]);
    }
    expect((await call(server, 'POST', '/auth/logout', { origin: null })).status).toBe(204);
  });
});
