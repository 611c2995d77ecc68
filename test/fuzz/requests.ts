import fc from 'fast-check';
import { expect } from 'vitest';
import { normalizeEmail } from '../../src/core/email.js';

// Generated requests to every JSON endpoint: right and wrong methods, content types and bodies
// (random JSON, the route's own fields with odd values, mutated valid bodies, bytes that are not
// JSON, oversized bodies), browser headers (Origin, Sec-Fetch-Site) and forged credentials only:
// nothing in a generated request is a credential that coatcheck issued.

export interface GeneratedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface Known {
  email: string;
  password: string;
  /** A public session id (`ses_…`) that exists: guessable ids are fair game for an attacker. */
  sessionId: string;
}

interface Route {
  method: string;
  path: string;
  fields: string[];
}

const ROUTES: Route[] = [
  { method: 'POST', path: '/auth/register', fields: ['email', 'password', 'name'] },
  { method: 'POST', path: '/auth/login', fields: ['email', 'password', 'mode'] },
  { method: 'POST', path: '/auth/refresh', fields: ['refreshToken'] },
  { method: 'POST', path: '/auth/logout', fields: ['refreshToken'] },
  { method: 'POST', path: '/auth/logout-all', fields: [] },
  { method: 'POST', path: '/auth/password', fields: ['currentPassword', 'newPassword'] },
  { method: 'DELETE', path: '/auth/sessions/:id', fields: [] },
  { method: 'GET', path: '/auth/me', fields: [] },
  { method: 'GET', path: '/auth/sessions', fields: [] },
  { method: 'GET', path: '/.well-known/jwks.json', fields: [] },
  { method: 'GET', path: '/healthz', fields: [] },
  // The demo routes of `coatcheck serve` (404 in process, where only the auth routes exist).
  { method: 'POST', path: '/api/notes', fields: ['text'] },
  { method: 'GET', path: '/api/notes', fields: [] },
  { method: 'GET', path: '/api/admin/users', fields: [] },
];

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64urlString = (length: number) =>
  fc.string({ unit: fc.constantFrom(...B64URL), minLength: length, maxLength: length });

/** Tab, visible ASCII and Latin-1: what an HTTP header value can carry (RFC 9110 field-vchar, obs-text). */
const headerText = (maxLength: number) =>
  fc.string({ unit: 'binary', maxLength }).map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '').trim());

function fieldValue(known: Known): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(known.email, known.email.toUpperCase(), ` ${known.email} `, known.password, `${known.password} `),
    fc.constantFrom('session', 'token', 'native', 'admin', '', '\u0000', 'a'.repeat(200), '\u{1F511}'.repeat(130)),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    b64urlString(43),
    fc.emailAddress(),
    fc.jsonValue({ maxDepth: 2 }),
  );
}

function objectBody(route: Route, known: Known): fc.Arbitrary<Record<string, unknown>> {
  const keys = [...route.fields, 'role', '__proto__', 'returnTo', 'extra'];
  return fc
    .tuple(
      fc.subarray(route.fields),
      fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 8 })), fieldValue(known), { maxKeys: 3 }),
      fc.array(fieldValue(known), { minLength: route.fields.length, maxLength: route.fields.length }),
      fc.boolean(),
    )
    .map(([present, extras, values, withExtras]) => {
      const body: Record<string, unknown> = {};
      for (const [i, field] of route.fields.entries()) if (present.includes(field)) body[field] = values[i];
      return withExtras ? Object.assign(body, extras) : body;
    });
}

/** A JSON text changed by a few character edits (unbalanced quotes, stray bytes, cut short). */
const mutatedText = (text: string) =>
  fc
    .array(fc.tuple(fc.nat(), fc.constantFrom('"', '{', '}', ',', ':', '\\', '\u0000', 'x', '')), {
      minLength: 1,
      maxLength: 3,
    })
    .map((edits) => {
      let out = text;
      for (const [position, c] of edits) {
        const at = position % (out.length + 1);
        out = out.slice(0, at) + c + out.slice(at + 1);
      }
      return out;
    });

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'application/problem+json',
];

export function generatedRequest(known: Known): fc.Arbitrary<GeneratedRequest> {
  return fc.constantFrom(...ROUTES).chain((route) =>
    fc
      .record({
        method: fc.oneof(
          { weight: 6, arbitrary: fc.constant(route.method) },
          { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
        ),
        id: fc.oneof(
          fc.constant(known.sessionId),
          fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 70 }),
          fc.constantFrom('..%2f..%2fetc', '%00', 'ses_%0d%0a'),
        ),
        contentType: fc.option(
          fc.oneof(
            { weight: 5, arbitrary: fc.constant('application/json') },
            fc.constantFrom(...CONTENT_TYPES),
            headerText(30),
          ),
          { nil: undefined },
        ),
        body: fc.option(
          fc.oneof(
            { weight: 4, arbitrary: objectBody(route, known).map((json) => ({ text: JSON.stringify(json) })) },
            {
              weight: 2,
              arbitrary: objectBody(route, known).chain((json) =>
                mutatedText(JSON.stringify(json)).map((text) => ({ text })),
              ),
            },
            { weight: 1, arbitrary: fc.jsonValue().map((value) => ({ text: JSON.stringify(value) ?? 'null' })) },
            { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ text })) },
            { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ bytes })) },
            {
              weight: 1,
              arbitrary: fc.nat({ max: 40_000 }).map((n) => ({ text: JSON.stringify({ pad: 'x'.repeat(n) }) })),
            },
          ),
          { nil: undefined },
        ),
        origin: fc.constantFrom(
          undefined,
          'http://localhost:3000',
          'https://evil.example',
          'null',
          'http://localhost:3000.evil.example',
        ),
        site: fc.constantFrom(undefined, 'same-origin', 'same-site', 'cross-site', 'none', 'bogus'),
        cookie: fc.option(
          fc.oneof(
            b64urlString(43).map((s) => `__Host-coatcheck.sid=${s}`),
            b64urlString(43).map((s) => `__Secure-coatcheck.rt=${s}`),
            b64urlString(43).map((s) => `__Host-coatcheck.sid=${s}; __Host-coatcheck.sid=${s}`),
            headerText(100),
          ),
          { nil: undefined },
        ),
        authorization: fc.option(
          fc.oneof(
            fc.tuple(b64urlString(30), b64urlString(60), b64urlString(86)).map(([h, p, s]) => `Bearer ${h}.${p}.${s}`),
            headerText(120).map((t) => `Bearer ${t}`),
            headerText(60),
          ),
          { nil: undefined },
        ),
        override: fc.option(fc.constantFrom('DELETE', 'POST', 'GET'), { nil: undefined }),
      })
      .map(({ method, id, contentType, body, origin, site, cookie, authorization, override }): GeneratedRequest => {
        const headers: Record<string, string> = {};
        if (contentType !== undefined) headers['Content-Type'] = contentType;
        if (origin !== undefined) headers.Origin = origin;
        if (site !== undefined) headers['Sec-Fetch-Site'] = site;
        if (cookie) headers.Cookie = cookie;
        if (authorization) headers.Authorization = authorization;
        if (override) headers['X-HTTP-Method-Override'] = override;
        const path = route.path.replace(':id', id);
        const request: GeneratedRequest = { method, path, headers };
        if (body && method !== 'GET' && method !== 'HEAD') {
          request.body = 'bytes' in body ? body.bytes : body.text;
        }
        return request;
      }),
  );
}

function sentJson(request: GeneratedRequest): Record<string, unknown> | undefined {
  if (typeof request.body !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(request.body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Which successes a forged request may get, by route. */
export function expectNoForgedIdentity(
  victim: { email: string; password: string; userId: string },
  request: GeneratedRequest,
  answer: { status: number; body: any },
): void {
  if (answer.status >= 300) return;
  const route = `${request.method} ${request.path.startsWith('/auth/sessions/') ? '/auth/sessions/:id' : request.path}`;
  switch (route) {
    case 'POST /auth/login': {
      // Only the real password of the real account logs in.
      const json = sentJson(request)!;
      expect(normalizeEmail(String(json.email))).toBe(victim.email);
      expect(String(json.password).normalize('NFKC')).toBe(victim.password);
      expect(answer.body.user.id).toBe(victim.userId);
      return;
    }
    case 'POST /auth/register':
      expect(answer.status).toBe(201);
      expect(answer.body.user.role).toBe('user');
      return;
    case 'POST /auth/logout':
      // Idempotent and names nobody: 204 whatever was sent.
      expect(answer.status).toBe(204);
      return;
    case 'GET /.well-known/jwks.json':
    case 'HEAD /.well-known/jwks.json':
    case 'GET /healthz':
    case 'HEAD /healthz':
      return;
    default:
      throw new Error(`${route} answered ${answer.status} to forged credentials`);
  }
}
