import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/create-auth.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { createArgon2idHasher } from '../../src/core/password-hasher.js';
import { createApp } from '../../src/server/app.js';
import type { NoteStore } from '../../src/server/notes.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';

// The demo's POST /api/notes reads its body with Express's JSON parser and handles its own errors.
// Every failure after the body was read (a notes store that is down or broken, a body whose
// Content-Encoding does not decode) must still be answered: a problem with a stable code, never a
// request left hanging with nothing logged.

const ORIGIN = 'http://localhost:3000';
const PASSWORD = 'correct horse battery staple';

const failure: { next: Error | null } = { next: null };
const added: string[] = [];
const notes: NoteStore = {
  list: () => Promise.resolve([]),
  add(_userId, text, now) {
    if (failure.next) return Promise.reject(failure.next);
    added.push(text);
    return Promise.resolve({ id: `note_${added.length}`, text, createdAt: new Date(now).toISOString() });
  },
};
const errors: Record<string, unknown>[] = [];
const auth = createAuth({
  store: createMemoryStore(),
  origin: ORIGIN,
  passwordHasher: createArgon2idHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }),
  tokens: { secret: 'notes-errors-secret-0123456789abcdef' },
  purgeInterval: 0,
});
let server: Server;
let url: string;
let accessToken: string;

beforeAll(async () => {
  await auth.ready();
  const app = createApp({
    auth,
    notes,
    logger: { info: () => undefined, warn: () => undefined, error: (fields) => errors.push(fields) },
  });
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const headers = { 'Content-Type': 'application/json', Origin: ORIGIN };
  const email = 'notes-errors@example.com';
  await fetch(`${url}/auth/register`, { method: 'POST', headers, body: JSON.stringify({ email, password: PASSWORD }) });
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email, password: PASSWORD, mode: 'native' }),
  });
  accessToken = ((await login.json()) as { accessToken: string }).accessToken;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await auth.close();
});

/** POST /api/notes; a request the server never answers fails after 3 s instead of hanging the suite. */
async function postNote(
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<{ status: number; code?: string; text: string }> {
  const response = await fetch(`${url}/api/notes`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken}`, ...headers },
    body,
    signal: AbortSignal.timeout(3000),
  });
  const text = await response.text();
  return { status: response.status, code: (JSON.parse(text) as { code?: string }).code, text };
}

describe('POST /api/notes after its body was read', () => {
  it('answers 503 store_unavailable when the notes store is down', async () => {
    failure.next = new StoreUnavailableError('connection refused (injected)');
    try {
      const reply = await postNote(JSON.stringify({ text: 'lost' }));
      expect([reply.status, reply.code]).toEqual([503, 'store_unavailable']);
    } finally {
      failure.next = null;
    }
    expect(added).not.toContain('lost');
  });

  it('answers 500 internal_error, without a stack, when the notes store breaks, and logs it', async () => {
    failure.next = new TypeError('driver exploded at /srv/app/notes.js:12 (injected)');
    errors.length = 0;
    try {
      const reply = await postNote(JSON.stringify({ text: 'lost' }));
      expect([reply.status, reply.code]).toEqual([500, 'internal_error']);
      expect(reply.text).not.toMatch(/exploded|notes\.js|TypeError/);
    } finally {
      failure.next = null;
    }
    expect(errors).toEqual([expect.objectContaining({ event: 'internal_error', error: 'TypeError' })]);
  });

  it('still adds a note afterwards', async () => {
    const reply = await postNote(JSON.stringify({ text: 'kept' }));
    expect(reply.status).toBe(201);
    expect(added).toContain('kept');
  });
});

describe('POST /api/notes with a Content-Encoding', () => {
  // The auth routes read bodies as they arrive (identity), so the demo route takes no compressed
  // bodies either: one that does not decode was a 500, one that does was inflated and stored.
  it.each([
    ['gzip that does not decode', 'gzip', JSON.stringify({ text: 'not gzip' })],
    ['deflate that does not decode', 'deflate', JSON.stringify({ text: 'not deflate' })],
    ['br that does not decode', 'br', JSON.stringify({ text: 'not br' })],
    ['real gzip', 'gzip', gzipSync(JSON.stringify({ text: 'zipped' }))],
  ])('answers 4xx with a stable code for %s, and stores nothing', async (_label, encoding, body) => {
    const before = added.length;
    const reply = await postNote(body, { 'Content-Encoding': encoding });
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(['invalid_json', 'unsupported_media_type']).toContain(reply.code);
    expect(added.length).toBe(before);
  });
});

describe('POST /api/notes with bytes that are not UTF-8', () => {
  // As on the auth routes (a fatal decoder): never stored as U+FFFD, which is not what was sent.
  it.each([
    ['a Latin-1 byte', Buffer.from('{"text":"caf\xe9"}', 'latin1')],
    ['a lone continuation byte', Buffer.from([...Buffer.from('{"text":"a'), 0x80, ...Buffer.from('"}')])],
    ['an overlong NUL', Buffer.from([...Buffer.from('{"text":"a'), 0xc0, 0x80, ...Buffer.from('"}')])],
  ])('answers 400 invalid_json for %s, and stores nothing', async (_label, body) => {
    const before = added.length;
    const reply = await postNote(new Uint8Array(body));
    expect([reply.status, reply.code]).toEqual([400, 'invalid_json']);
    expect(added.length).toBe(before);
  });
});

describe('POST /api/notes with a key named twice', () => {
  it('answers 400 invalid_request, as the auth routes do, and stores neither text', async () => {
    const before = added.length;
    const reply = await postNote('{"text":"first","text":"second"}');
    expect([reply.status, reply.code]).toEqual([400, 'invalid_request']);
    expect(added.length).toBe(before);
  });
});
