import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { b64, craftToken } from '../helpers/tokens.js';
import { createFuzzWorld, decodedParts, fuzzParameters, quickly, timeoutFor, type FuzzWorld } from './world.js';

// The JWT verification path (`AccessTokens.verify`): mutated real tokens, random strings, and
// tokens signed with our own key around fuzzed headers and claims. It never throws, answers
// quickly, accepts nothing but our genuine token's bytes from anything not signed by us, and
// whatever it accepts from our key obeys every rule of SECURITY.md 6.

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const FORBIDDEN = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'];

describe('AccessTokens.verify', () => {
  let world: FuzzWorld;
  let verify: (token: string) => Promise<Record<string, unknown> | null>;
  let genuine: string;
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  beforeAll(async () => {
    world = await createFuzzWorld();
    const access = world.auth.tokens!.access;
    verify = (token) => quickly(async () => (await access.verify(token)) as Record<string, unknown> | null, 250);
    genuine = world.victim.accessToken;
    const [h, p] = genuine.split('.') as [string, string];
    header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  });

  it(
    'refuses every mutation of a genuine token unless it decodes to the very same bytes',
    async () => {
      const edit = fc.tuple(
        fc.nat(2000),
        fc.constantFrom('insert', 'delete', 'replace', 'truncate', 'duplicate-part', 'drop-part'),
        fc.constantFrom(...B64URL, '.', '=', '+', '/', '\u0000', 'é'),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), async (edits) => {
          let token = genuine;
          for (const [position, how, c] of edits) {
            const at = position % (token.length + 1);
            const parts = token.split('.');
            if (how === 'insert') token = token.slice(0, at) + c + token.slice(at);
            else if (how === 'delete') token = token.slice(0, at) + token.slice(at + 1);
            else if (how === 'replace') token = token.slice(0, at) + c + token.slice(at + 1);
            else if (how === 'truncate') token = token.slice(0, at);
            else if (how === 'duplicate-part') token = [...parts, parts[at % parts.length]].join('.');
            else token = parts.filter((_, i) => i !== at % parts.length).join('.');
          }
          const claims = await verify(token);
          if (claims) {
            expect(decodedParts(token)).toEqual(decodedParts(genuine));
            expect(claims.sub).toBe(world.victim.userId);
          }
        }),
        fuzzParameters(3000),
      );
    },
    timeoutFor(3000, 2),
  );

  it(
    'refuses every JSON-level change to the header or claims under the original signature, and any other key',
    async () => {
      const signature = genuine.split('.')[2]!;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('header', 'payload'),
          fc.constantFrom(...Object.keys(header), ...Object.keys(payload), 'extra', 'alg', 'kid', 'exp'),
          fc.jsonValue({ maxDepth: 2 }),
          fc.boolean(),
          async (where, field, value, attackerSigned) => {
            const h = { ...header };
            const p = { ...payload };
            (where === 'header' ? h : p)[field] = value;
            const unchanged =
              JSON.stringify(h) === JSON.stringify(header) && JSON.stringify(p) === JSON.stringify(payload);
            const token = attackerSigned
              ? craftToken(JSON.stringify(h), JSON.stringify(p), 'ES256', attacker.privateKey)
              : `${b64(JSON.stringify(h))}.${b64(JSON.stringify(p))}.${signature}`;
            const claims = await verify(token);
            expect(claims !== null && !attackerSigned && unchanged).toBe(claims !== null);
          },
        ),
        fuzzParameters(2000),
      );
    },
    timeoutFor(2000, 2),
  );

  it(
    'refuses random strings, dotted base64url and huge inputs, quickly',
    async () => {
      const dotted = fc
        .array(fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 120 }), { minLength: 1, maxLength: 5 })
        .map((parts) => parts.join('.'));
      const jsonParts = fc
        .tuple(fc.jsonValue(), fc.jsonValue(), fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 90 }))
        .map(([h, p, s]) => `${b64(JSON.stringify(h) ?? 'null')}.${b64(JSON.stringify(p) ?? 'null')}.${s}`);
      const huge = fc.nat(20_000).map((n) => `${b64('{"alg":"ES256"}')}.${'A'.repeat(n)}.sig`);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), dotted, jsonParts, huge),
          async (token) => {
            expect(await verify(token)).toBeNull();
          },
        ),
        fuzzParameters(3000),
      );
    },
    timeoutFor(3000, 2),
  );

  it(
    'judges time on every use: a token accepted once is refused once the clock passes exp + 30 s',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 600 }),
          fc.integer({ min: -120, max: 2000 }),
          async (lifetime, later) => {
            const iat = Math.floor(world.clock.now() / 1000);
            const claims = { ...payload, jti: `at_fuzz${iat}${lifetime}${later}`, iat, exp: iat + lifetime };
            const token = craftToken(JSON.stringify(header), JSON.stringify(claims), 'ES256', world.key.key);
            expect(await verify(token)).not.toBeNull();
            const start = world.clock.now();
            world.clock.advance(later * 1000);
            try {
              const now = Math.floor(world.clock.now() / 1000);
              const current = iat + lifetime > now - 30 && iat <= now + 30;
              expect((await verify(token)) !== null).toBe(current);
            } finally {
              world.clock.set(start);
            }
          },
        ),
        fuzzParameters(1500),
      );
    },
    timeoutFor(1500, 2),
  );

  it(
    'accepts from our own key only what obeys every rule (the signer is fuzzed, the verifier judged)',
    async () => {
      const now = () => Math.floor(world.clock.now() / 1000);
      // Mostly the right value, sometimes anything: so that both sides of every rule are reached.
      const usually = <T>(right: T, wrong: fc.Arbitrary<unknown>) =>
        fc.oneof({ weight: 6, arbitrary: fc.constant<unknown>(right) }, { weight: 1, arbitrary: wrong });
      const odd = fc.oneof(
        fc.constant(undefined),
        fc.string({ maxLength: 12 }),
        fc.constantFrom(1, null, true, ['x'], {}),
      );
      const oddTime = fc.oneof(
        fc.constant(undefined),
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e13, max: 1e13 }),
        fc.constantFrom('now', null, true, [], {}, -1, 0),
      );
      const claims = fc
        .record({
          iss: usually(world.issuer, odd),
          aud: fc.oneof(
            { weight: 5, arbitrary: fc.constant<unknown>(world.issuer) },
            {
              weight: 1,
              arbitrary: fc.array(fc.oneof(fc.constant(world.issuer), fc.string({ maxLength: 8 })), { maxLength: 3 }),
            },
            { weight: 1, arbitrary: odd },
          ),
          sub: usually(world.victim.userId, odd),
          sid: usually('ses_fuzz', odd),
          jti: usually('at_fuzz', odd),
          role: usually('user', odd),
          iatOffset: fc.oneof(
            { weight: 6, arbitrary: fc.integer({ min: -120, max: 60 }) },
            { weight: 1, arbitrary: oddTime },
          ),
          lifetime: fc.oneof(
            { weight: 6, arbitrary: fc.integer({ min: -60, max: 700 }) },
            { weight: 1, arbitrary: oddTime },
          ),
          nbf: fc.oneof(
            { weight: 4, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.integer({ min: -60, max: 60 }) },
            { weight: 1, arbitrary: oddTime },
          ),
        })
        .map(({ iatOffset, lifetime, nbf, ...rest }) => {
          const iat =
            typeof iatOffset === 'number' && Number.isInteger(iatOffset) && Math.abs(iatOffset) <= 120
              ? now() + iatOffset
              : iatOffset;
          const exp =
            typeof lifetime === 'number' &&
            typeof iat === 'number' &&
            Number.isInteger(lifetime) &&
            Math.abs(lifetime) <= 700
              ? iat + lifetime
              : lifetime;
          const nbfValue = typeof nbf === 'number' && Number.isInteger(nbf) && Math.abs(nbf) <= 60 ? now() + nbf : nbf;
          const c: Record<string, unknown> = { ...rest, iat, exp, nbf: nbfValue };
          for (const key of Object.keys(c)) if (c[key] === undefined) delete c[key];
          return c;
        });
      const headers = fc.record({
        alg: usually(world.key.alg, fc.constantFrom(undefined, 'none', 'HS256', 'ES384', 'es256', 7)),
        kid: usually(world.key.kid, fc.constantFrom(undefined, '', '../x', 'other', world.key.kid.toUpperCase())),
        typ: usually('at+jwt', fc.constantFrom(undefined, 'AT+JWT', 'application/at+jwt', 'JWT', '', 'at+jwt ')),
        extra: fc.oneof(
          { weight: 6, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom(...FORBIDDEN, 'cty', 'nonce') },
        ),
      });
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(headers, claims, async ({ extra, ...h }, c) => {
          const headerObject: Record<string, unknown> = {
            ...h,
            ...(typeof extra === 'string' ? { [extra]: 'x' } : {}),
          };
          const token = craftToken(JSON.stringify(headerObject), JSON.stringify(c), 'ES256', world.key.key);
          if (!(await verify(token))) return;
          accepted++;
          const at = now();
          expect(h.alg).toBe(world.key.alg);
          expect(h.kid).toBe(world.key.kid);
          expect(
            String(h.typ)
              .toLowerCase()
              .replace(/^application\//, ''),
          ).toBe('at+jwt');
          expect(FORBIDDEN).not.toContain(extra);
          expect(c.iss).toBe(world.issuer);
          expect(Array.isArray(c.aud) ? c.aud : [c.aud]).toContain(world.issuer);
          for (const name of ['sub', 'sid', 'jti', 'role'] as const) expect(typeof c[name]).toBe('string');
          expect([typeof c.iat, typeof c.exp]).toEqual(['number', 'number']);
          const [iat, exp] = [c.iat as number, c.exp as number];
          expect(exp).toBeGreaterThan(at - 30);
          expect(iat).toBeLessThanOrEqual(at + 30);
          expect(exp - iat).toBeLessThanOrEqual(600);
          if (c.nbf !== undefined) expect(c.nbf as number).toBeLessThanOrEqual(at + 30);
        }),
        fuzzParameters(2000),
      );
      // The property is not vacuous: a good share of the generated tokens are valid ones.
      expect(accepted).toBeGreaterThan(fuzzParameters(2000).numRuns / 20);
    },
    timeoutFor(2000, 2),
  );
});
