import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createFuzzWorld,
  decodedParts,
  expectWellFormed,
  fuzzParameters,
  handle,
  headerSafe,
  quickly,
  timeoutFor,
  type FuzzWorld,
} from './world.js';

// The Authorization header: whatever it holds, `auth.authenticate` never throws, and a bearer
// identity comes only from our genuine token under a well-formed `Bearer` scheme (or a re-encoding
// that decodes to the very same bytes: base64url has slack in its last character, SECURITY.md 16).

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const WELL_FORMED = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The genuine token changed by one edit (it may, rarely, decode to the same bytes). */
function mutated(token: string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.nat(token.length),
      fc.constantFrom('insert', 'delete', 'replace', 'case', 'truncate', 'swap', 'pad', 'dot'),
      fc.constantFrom(...B64URL, '.', '=', '+', '/', ' ', '%'),
    )
    .map(([at, how, c]) => {
      const [h = '', p = '', s = ''] = token.split('.');
      switch (how) {
        case 'insert':
          return token.slice(0, at) + c + token.slice(at);
        case 'delete':
          return token.slice(0, at) + token.slice(at + 1);
        case 'replace':
          return token.slice(0, at) + c + token.slice(at + 1);
        case 'case':
          return token.slice(0, at) + token.charAt(at).toUpperCase() + token.slice(at + 1);
        case 'truncate':
          return token.slice(0, at);
        case 'swap':
          return `${p}.${h}.${s}`;
        case 'pad':
          return `${token}${'='.repeat((at % 3) + 1)}`;
        default:
          return `${token}.${s}`;
      }
    });
}

describe('the bearer header', () => {
  let world: FuzzWorld;
  beforeAll(async () => {
    world = await createFuzzWorld();
  });

  const authorization = () => {
    const genuine = world.victim.accessToken;
    const token = fc.oneof(
      { weight: 2, arbitrary: fc.constant(genuine) },
      { weight: 5, arbitrary: mutated(genuine) },
      { weight: 1, arbitrary: fc.constant(world.victim.refreshToken) },
      { weight: 1, arbitrary: fc.constant(world.victim.cookie) },
      { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...B64URL, '.'), maxLength: 300 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
    );
    return fc
      .tuple(
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR', 'Bearer:', 'Basic', 'Token', 'Bearer,', '', 'Bearerx'),
        fc.constantFrom(' ', '  ', '\t', '', ' \t'),
        token,
        fc.constantFrom('', ' ', '  ', ',', ', Bearer x', '\t'),
      )
      .map(([scheme, gap, value, tail]) => `${scheme}${gap}${value}${tail}`);
  };

  it(
    'authenticate(): never throws, and an identity only for the genuine token in a well-formed header',
    async () => {
      const genuine = decodedParts(world.victim.accessToken);
      await fc.assert(
        fc.asyncProperty(authorization(), fc.boolean(), async (header, strict) => {
          const outcome = await quickly(
            () =>
              world.auth.authenticate(
                { method: 'GET', header: (name) => (name === 'authorization' ? header : null) },
                { strict },
              ),
            500,
          );
          const token = WELL_FORMED.exec(header)?.[1];
          if (outcome.ok) {
            expect(token).toBeDefined();
            expect(decodedParts(token!)).toEqual(genuine);
            expect([outcome.identity.userId, outcome.identity.method]).toEqual([world.victim.userId, 'bearer']);
          } else {
            if (token === world.victim.accessToken) throw new Error(`the genuine token was refused in ${header}`);
            // Anything that starts like a bearer header is judged as one; the rest is "nobody".
            expect(outcome.code).toBe(/^bearer(\s|$)/i.test(header) ? 'invalid_token' : 'unauthenticated');
          }
        }),
        fuzzParameters(3000),
      );
    },
    timeoutFor(3000, 2),
  );

  it(
    'POST /auth/logout (its own bearer parsing): a forged bearer is a 204 that ends nothing',
    async () => {
      const genuine = decodedParts(world.victim.accessToken);
      const sid = (
        JSON.parse(Buffer.from(world.victim.accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }
      ).sid;
      // As the server reads it (header values arrive trimmed), minus the genuine token itself.
      const forged = authorization()
        .map(headerSafe)
        .filter((header) => {
          const token = /^bearer +(\S+)$/i.exec(header)?.[1];
          return token === undefined || JSON.stringify(decodedParts(token)) !== JSON.stringify(genuine);
        });
      await fc.assert(
        fc.asyncProperty(forged, async (header) => {
          const answer = await handle(world, 'POST', '/auth/logout', {
            headers: { Authorization: header, Origin: 'http://localhost:3000' },
          });
          expectWellFormed(answer);
          expect(answer.status).toBe(204);
          expect(await world.auth.options.store.sessions.findById(sid)).not.toBeNull();
        }),
        fuzzParameters(1500),
      );
    },
    timeoutFor(1500, 2),
  );

  it(
    'GET /auth/me over the handler: the same verdicts, with a 401 invalid_token never mistaken for a session',
    async () => {
      await fc.assert(
        fc.asyncProperty(authorization(), fc.boolean(), async (raw, withCookie) => {
          const header = headerSafe(raw);
          const answer = await handle(world, 'GET', '/auth/me', {
            headers: {
              Authorization: header,
              ...(withCookie ? { Cookie: `__Host-coatcheck.sid=${world.victim.cookie}` } : {}),
            },
          });
          expectWellFormed(answer);
          if (/^bearer(\s|$)/i.test(header)) {
            // A bearer header alone decides (API.md): a bad one is 401 even beside a valid cookie.
            expect([200, 401]).toContain(answer.status);
            if (answer.status === 200) expect(answer.body.auth.method).toBe('bearer');
            else expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="coatcheck", error="invalid_token"');
          } else {
            expect(answer.status).toBe(withCookie ? 200 : 401);
            if (withCookie) expect(answer.body.auth.method).toBe('session');
          }
        }),
        fuzzParameters(2000),
      );
      expect(world.internalErrors).toEqual([]);
    },
    timeoutFor(2000, 2),
  );
});
