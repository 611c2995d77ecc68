import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PASSWORD, startTestServer, uniqueEmail, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const userCount = async (): Promise<number> => (await server.store.users.list({ limit: 100_000 })).length;

describe('POST /auth/register', () => {
  it('creates a user and answers 201 with the public user only', async () => {
    const email = uniqueEmail('Reg');
    const reply = await call(server, 'POST', '/auth/register', {
      json: { email: `  ${email.toUpperCase()} `, password: PASSWORD, name: ' Ann ' },
    });
    expect(reply.status).toBe(201);
    expect(Object.keys(reply.body.user).sort()).toEqual(['createdAt', 'email', 'id', 'name', 'role']);
    expect(reply.body.user).toMatchObject({ email: email.toLowerCase(), name: 'Ann', role: 'user' });
    expect(reply.body.user.id).toMatch(/^usr_/);
    expect(reply.text).not.toMatch(/argon2|passwordHash/);
    const stored = await server.store.users.findByEmail(email.toLowerCase());
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('answers 409 email_taken for an existing email in any case, and keeps the first account', async () => {
    const email = uniqueEmail();
    expect((await call(server, 'POST', '/auth/register', { json: { email, password: PASSWORD } })).status).toBe(201);
    const before = await server.store.users.findByEmail(email);
    const reply = await call(server, 'POST', '/auth/register', {
      json: { email: email.toUpperCase(), password: 'another long passphrase' },
    });
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ code: 'email_taken', status: 409, type: 'urn:coatcheck:error:email_taken' });
    expect(await server.store.users.findByEmail(email)).toEqual(before);
  });

  const invalid: [string, unknown][] = [
    ['missing password', { email: 'a@example.com' }],
    ['missing email', { password: PASSWORD }],
    ['an extra field', { email: 'x1@example.com', password: PASSWORD, role: 'admin' }],
    ['email as a number', { email: 42, password: PASSWORD }],
    ['password as an array', { email: 'x2@example.com', password: [PASSWORD] }],
    ['an empty email', { email: '', password: PASSWORD }],
    ['an email with CR/LF', { email: 'x3@example.com\r\nBcc: y@example.com', password: PASSWORD }],
    ['an email with NUL', { email: 'x4\u0000@example.com', password: PASSWORD }],
    ['an email without @', { email: 'example.com', password: PASSWORD }],
    ['a name with control characters', { email: 'x5@example.com', password: PASSWORD, name: 'Ann\u0007' }],
    ['an empty name', { email: 'x6@example.com', password: PASSWORD, name: '   ' }],
    ['a 101-character name', { email: 'x7@example.com', password: PASSWORD, name: 'n'.repeat(101) }],
    ['a name with half a surrogate pair', { email: 'x8@example.com', password: PASSWORD, name: 'Ann\uD800' }],
    ['a name with a lone low surrogate', { email: 'x9@example.com', password: PASSWORD, name: '\uDC00Ann' }],
  ];
  it.each(invalid)('answers 400 invalid_request for %s and creates nothing', async (_label, json) => {
    const before = await userCount();
    const reply = await call(server, 'POST', '/auth/register', { json });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('invalid_request');
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Array.isArray(reply.body.errors)).toBe(true);
    expect(await userCount()).toBe(before);
  });

  const weak: [string, string][] = [
    ['7 characters', 'abcdefg'],
    ['the empty string', ''],
    ['a common password', 'password'],
    ['a common password in capitals', 'PASSWORD1'],
    ['129 characters', 'x'.repeat(129)],
    ['10 KiB', 'y'.repeat(10 * 1024)],
  ];
  it.each(weak)('answers 400 weak_password for %s and creates nothing', async (_label, password) => {
    const before = await userCount();
    const reply = await call(server, 'POST', '/auth/register', { json: { email: uniqueEmail(), password } });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('weak_password');
    expect(reply.body.errors[0].path).toBe('password');
    if (password.length >= 10) expect(reply.text).not.toContain(password.slice(0, 10));
    expect(await userCount()).toBe(before);
  });

  it('refuses the email address as the password', async () => {
    const email = uniqueEmail();
    const reply = await call(server, 'POST', '/auth/register', { json: { email, password: email } });
    expect(reply.body.code).toBe('weak_password');
  });

  it('accepts 8 and 128 characters, counted as code points', async () => {
    expect(
      (await call(server, 'POST', '/auth/register', { json: { email: uniqueEmail(), password: 'zq8#Lm2!' } })).status,
    ).toBe(201);
    const emoji = '🔑'.repeat(128); // 256 UTF-16 units, 128 characters
    expect(
      (await call(server, 'POST', '/auth/register', { json: { email: uniqueEmail(), password: emoji } })).status,
    ).toBe(201);
  });

  it('answers 415 for a form body, 400 invalid_json for broken JSON, 413 for 1 MiB, and creates nothing', async () => {
    const before = await userCount();
    const form = await call(server, 'POST', '/auth/register', {
      raw: `email=${uniqueEmail()}&password=${encodeURIComponent(PASSWORD)}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect([form.status, form.body.code]).toEqual([415, 'unsupported_media_type']);
    const text = await call(server, 'POST', '/auth/register', { raw: '{}', headers: { 'Content-Type': 'text/plain' } });
    expect([text.status, text.body.code]).toEqual([415, 'unsupported_media_type']);
    const broken = await call(server, 'POST', '/auth/register', {
      raw: '{"email": ',
      headers: { 'Content-Type': 'application/json' },
    });
    expect([broken.status, broken.body.code]).toEqual([400, 'invalid_json']);
    const array = await call(server, 'POST', '/auth/register', {
      raw: '[1,2]',
      headers: { 'Content-Type': 'application/json' },
    });
    expect([array.status, array.body.code]).toEqual([400, 'invalid_request']);
    const huge = await call(server, 'POST', '/auth/register', {
      json: { email: uniqueEmail(), password: PASSWORD, name: 'n'.repeat(1024 * 1024) },
    });
    expect([huge.status, huge.body.code]).toEqual([413, 'payload_too_large']);
    expect(await userCount()).toBe(before);
  });

  it('never leaks internals in an error body', async () => {
    const reply = await call(server, 'POST', '/auth/register', {
      raw: '{"email":',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(reply.text).not.toMatch(/at \w+ \(|node_modules|SyntaxError|zod|sqlite|\/src\//i);
  });

  it('is refused for a cross-site request (403 csrf_rejected)', async () => {
    const before = await userCount();
    const reply = await call(server, 'POST', '/auth/register', {
      json: { email: uniqueEmail(), password: PASSWORD },
      origin: 'https://evil.example',
    });
    expect([reply.status, reply.body.code]).toEqual([403, 'csrf_rejected']);
    expect(await userCount()).toBe(before);
  });
});

describe('registration rate limit per client address', () => {
  it('answers 429 with Retry-After after 10 registrations from one address, and lifts it later', async () => {
    const limited = await startTestServer({ realRegistrationLimit: true });
    try {
      for (let i = 0; i < 10; i++) {
        expect(
          (await call(limited, 'POST', '/auth/register', { json: { email: uniqueEmail(), password: PASSWORD } }))
            .status,
        ).toBe(201);
      }
      const blocked = await call(limited, 'POST', '/auth/register', {
        json: { email: uniqueEmail(), password: PASSWORD },
      });
      expect(blocked.status).toBe(429);
      expect(blocked.body.code).toBe('too_many_attempts');
      const retryAfter = Number(blocked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      limited.clock.advance(retryAfter * 1000);
      expect(
        (await call(limited, 'POST', '/auth/register', { json: { email: uniqueEmail(), password: PASSWORD } })).status,
      ).toBe(201);
    } finally {
      await limited.stop();
    }
  });
});
