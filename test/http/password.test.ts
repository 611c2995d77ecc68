import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, registerAndLogin, startTestServer, type Reply, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const NEW_PASSWORD = 'a brand new passphrase';

describe('POST /auth/password', () => {
  it('changes the password, keeps this session and ends every other one', async () => {
    const me = await registerAndLogin(server);
    const other = await call(server, 'POST', '/auth/login', { json: { email: me.email, password: me.password } });
    const otherCookie = other.cookies[0]!.split(';')[0]!.split('=')[1]!;
    const reply = await call(server, 'POST', '/auth/password', {
      session: me.session,
      json: { currentPassword: me.password, newPassword: NEW_PASSWORD },
    });
    expect(reply.status).toBe(204);
    expect((await call(server, 'GET', '/auth/me', { session: me.session })).status).toBe(200);
    expect((await call(server, 'GET', '/auth/me', { session: otherCookie })).status).toBe(401);
    expect(
      (await call(server, 'POST', '/auth/login', { json: { email: me.email, password: me.password } })).status,
    ).toBe(401);
    expect(
      (await call(server, 'POST', '/auth/login', { json: { email: me.email, password: NEW_PASSWORD } })).status,
    ).toBe(200);
  });

  it('answers 401 invalid_credentials for a wrong current password and changes nothing', async () => {
    const me = await registerAndLogin(server);
    const other = await call(server, 'POST', '/auth/login', { json: { email: me.email, password: me.password } });
    const before = await server.store.users.findByEmail(me.email);
    const reply = await call(server, 'POST', '/auth/password', {
      session: me.session,
      json: { currentPassword: 'not my password', newPassword: NEW_PASSWORD },
    });
    expect([reply.status, reply.body.code]).toEqual([401, 'invalid_credentials']);
    expect(await server.store.users.findByEmail(me.email)).toEqual(before);
    expect(await server.store.sessions.findById(other.body.session.id)).not.toBeNull();
  });

  it('answers 400 weak_password for a weak new password and changes nothing', async () => {
    const me = await registerAndLogin(server);
    const before = await server.store.users.findByEmail(me.email);
    for (const newPassword of ['short', 'password123', 'q'.repeat(10 * 1024)]) {
      const reply = await call(server, 'POST', '/auth/password', {
        session: me.session,
        json: { currentPassword: me.password, newPassword },
      });
      expect([reply.status, reply.body.code]).toEqual([400, 'weak_password']);
      expect(reply.body.errors[0].path).toBe('newPassword');
    }
    expect(await server.store.users.findByEmail(me.email)).toEqual(before);
  });

  it('answers 400 weak_password for the current password as the new one, ending no other device', async () => {
    const me = await registerAndLogin(server);
    const other = await call(server, 'POST', '/auth/login', { json: { email: me.email, password: me.password } });
    const before = await server.store.users.findByEmail(me.email);
    // The same password, and the same in fullwidth letters (NFKC makes them one).
    const fullwidth = [...me.password]
      .map((c) => (c === ' ' ? c : String.fromCodePoint(c.codePointAt(0)! + 0xfee0)))
      .join('');
    expect(fullwidth.normalize('NFKC')).toBe(me.password);
    for (const newPassword of [me.password, fullwidth]) {
      const reply = await call(server, 'POST', '/auth/password', {
        session: me.session,
        json: { currentPassword: me.password, newPassword },
      });
      expect([reply.status, reply.body.code, reply.body.errors[0].path]).toEqual([400, 'weak_password', 'newPassword']);
    }
    expect(await server.store.users.findByEmail(me.email)).toEqual(before);
    expect(await server.store.sessions.findById(other.body.session.id)).not.toBeNull();
  });

  it('answers 400 invalid_request for a malformed body, 401 without a session', async () => {
    const me = await registerAndLogin(server);
    const bad = await call(server, 'POST', '/auth/password', {
      session: me.session,
      json: { newPassword: NEW_PASSWORD },
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'invalid_request']);
    const anonymous = await call(server, 'POST', '/auth/password', {
      json: { currentPassword: 'x', newPassword: NEW_PASSWORD },
    });
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'unauthenticated']);
  });

  it('throttles guessing of the current password (429 with Retry-After)', async () => {
    const me = await registerAndLogin(server);
    const statuses: number[] = [];
    let last: Reply | undefined;
    for (let i = 0; i < 7; i++) {
      last = await call(server, 'POST', '/auth/password', {
        session: me.session,
        json: { currentPassword: `guess ${i} guess`, newPassword: NEW_PASSWORD },
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
    const reply = last as Reply;
    expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
    server.clock.advance(16 * 60_000);
  });

  it('guesses of the current password sent together are counted before they are checked', async () => {
    const me = await registerAndLogin(server);
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(server, 'POST', '/auth/password', {
          session: me.session,
          json: { currentPassword: `parallel guess ${i}`, newPassword: NEW_PASSWORD },
        }),
      ),
    );
    const statuses = replies.map((reply) => reply.status).sort();
    expect(statuses).toEqual([...Array<number>(6).fill(401), ...Array<number>(24).fill(429)]);
    server.clock.advance(16 * 60_000);
  });

  it('a refused new password is not a guess: many in a row leave the right one free to change', async () => {
    const me = await registerAndLogin(server);
    for (let i = 0; i < 8; i++) {
      const reply = await call(server, 'POST', '/auth/password', {
        session: me.session,
        json: { currentPassword: me.password, newPassword: 'short' },
      });
      expect([reply.status, reply.body.code]).toEqual([400, 'weak_password']);
    }
    const changed = await call(server, 'POST', '/auth/password', {
      session: me.session,
      json: { currentPassword: me.password, newPassword: NEW_PASSWORD },
    });
    expect(changed.status).toBe(204);
  });
});
