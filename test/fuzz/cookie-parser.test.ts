import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cookieValues, parseCookieHeader } from '../../src/http/cookies.js';
import {
  createFuzzWorld,
  expectWellFormed,
  fuzzParameters,
  handle,
  headerSafe,
  SESSION_COOKIE,
  timeoutFor,
  type FuzzWorld,
} from './world.js';

// The Cookie header parser, alone and behind GET /auth/me: whatever the header, the parser never
// throws and keeps every occurrence, and a session is recognised only from exactly one
// __Host-coatcheck.sid carrying the genuine secret.

const PIECES = [';', '=', ' ', '"', ',', '\t', '%', '\\', '\u0000', 'a', '__Host-', 'coatcheck.sid'];
const cookieish = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 8 })), { maxLength: 40 }).map((p) => p.join('')),
);

// RFC 6265: a cookie name is a token; a value is cookie-octets.
const cookieName = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/);
const cookieValue = fc.stringMatching(/^[!#-+\--:<-[\]-~]{0,40}$/);

describe('cookieValues', () => {
  // Names that occur inside other names and values, or are padded, empty or hold a separator.
  const NAMES = ['coatcheck.sid', '__Host-coatcheck.sid', 'sid', 'a', ' a', 'a ', '', 'a;b', 'a=b', '"', '='];

  it('finds exactly what parseCookieHeader finds under the name, in the same order', () => {
    fc.assert(
      fc.property(cookieish, fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 4 })), (header, name) => {
        expect(cookieValues(header, name)).toEqual(parseCookieHeader(header).get(name) ?? []);
      }),
      fuzzParameters(5000),
    );
  });

  it('agrees on headers built from well-formed pairs with the name repeated, nested and spaced', () => {
    const segment = fc.oneof(
      fc.tuple(cookieName, cookieValue).map(([n, v]) => `${n}=${v}`),
      cookieValue.map((v) => `sid=${v}`),
      cookieValue.map((v) => ` sid = "${v}" `),
      cookieValue.map((v) => `xsid=sid${v}`),
      cookieValue.map((v) => `sid=sid${v}sid`),
      cookieValue.map((v) => `sidx=${v}`),
      fc.constantFrom('sid', 'sid;', '=sid', ' ; '),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 10 }), fc.constantFrom(';', '; ', ';;'), (segments, separator) => {
        const header = segments.join(separator);
        expect(cookieValues(header, 'sid')).toEqual(parseCookieHeader(header).get('sid') ?? []);
      }),
      fuzzParameters(3000),
    );
  });
  it('agrees whatever whitespace String.prototype.trim removes pads a name, for names cut from the header', () => {
    const SPACES = [' ', '\t', '\n', '\r', '\u000b', '\u000c', '\u00a0', '\u2028', '\u3000', '\ufeff'];
    const pad = fc.array(fc.constantFrom(...SPACES), { maxLength: 3 }).map((chars) => chars.join(''));
    const segment = fc
      .tuple(pad, fc.constantFrom('sid', 'xsid', 'sidx', 'a'), pad, pad, cookieValue, pad)
      .map(
        ([before, name, after, valueBefore, value, valueAfter]) =>
          `${before}${name}${after}=${valueBefore}${value}${valueAfter}`,
      );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), fc.nat(), fc.nat(), (segments, from, length) => {
        const header = segments.join(';');
        const start = from % (header.length + 1);
        for (const name of ['sid', header.slice(start, start + (length % 12)).trim()]) {
          expect(cookieValues(header, name)).toEqual(parseCookieHeader(header).get(name) ?? []);
        }
      }),
      fuzzParameters(3000),
    );
  });
});

describe('parseCookieHeader', () => {
  it('never throws; names are trimmed, non-empty and free of ";" and "="; values free of ";"', () => {
    fc.assert(
      fc.property(cookieish, (header) => {
        for (const [name, values] of parseCookieHeader(header)) {
          expect(name).not.toBe('');
          expect(name).toBe(name.trim());
          expect(name).not.toMatch(/[;=]/);
          expect(values.length).toBeGreaterThan(0);
          for (const value of values) expect(value).not.toContain(';');
        }
      }),
      fuzzParameters(3000),
    );
  });

  it('round-trips RFC 6265 pairs, keeping every occurrence of a name in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(cookieName, cookieValue), { maxLength: 12 }),
        fc.constantFrom(';', '; ', ';  ', ' ; '),
        (pairs, separator) => {
          const expected = new Map<string, string[]>();
          for (const [name, value] of pairs) expected.set(name, [...(expected.get(name) ?? []), value]);
          expect(parseCookieHeader(pairs.map(([n, v]) => `${n}=${v}`).join(separator))).toEqual(expected);
        },
      ),
      fuzzParameters(3000),
    );
  });
});

describe('the session cookie behind GET /auth/me', () => {
  let world: FuzzWorld;
  beforeAll(async () => {
    world = await createFuzzWorld();
  });

  /** The victim's secret, changed in one place (never equal to it). */
  const mutatedSecret = (secret: string) =>
    fc
      .tuple(
        fc.nat(secret.length),
        fc.constantFrom('insert', 'delete', 'replace', 'case'),
        fc.string({ minLength: 1, maxLength: 2 }),
      )
      .map(([at, how, text]) => {
        if (how === 'insert') return secret.slice(0, at) + text + secret.slice(at);
        if (how === 'delete') return secret.slice(0, at) + secret.slice(at + 1);
        if (how === 'case') {
          const c = secret[at] ?? 'a';
          return (
            secret.slice(0, at) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + secret.slice(at + 1)
          );
        }
        return secret.slice(0, at) + text + secret.slice(at + text.length);
      })
      .filter((value) => value !== secret);

  it(
    'answers 200 exactly when one __Host-coatcheck.sid carries the genuine secret; 400 for two; else 401',
    async () => {
      const secret = world.victim.cookie;
      const segment = fc.oneof(
        fc.constant(`${SESSION_COOKIE}=${secret}`),
        fc.constant(`${SESSION_COOKIE}="${secret}"`),
        mutatedSecret(secret).map((s) => `${SESSION_COOKIE}=${s}`),
        fc.constant(`coatcheck.sid=${secret}`),
        fc.constant(`__host-coatcheck.sid=${secret}`),
        fc.constant(`${SESSION_COOKIE} =${secret}`),
        fc.tuple(cookieName, cookieValue).map(([n, v]) => `${n}=${v}`),
        cookieish,
      );
      const header = fc
        .tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.constantFrom(';', '; ', ';;', ' ; '))
        .map(([segments, separator]) => headerSafe(segments.join(separator)));

      await fc.assert(
        fc.asyncProperty(header, async (cookie) => {
          const answer = await handle(world, 'GET', '/auth/me', { headers: { Cookie: cookie } });
          expectWellFormed(answer);
          const values = parseCookieHeader(cookie).get(SESSION_COOKIE) ?? [];
          const expected = values.length > 1 ? 400 : values.length === 1 && values[0] === secret ? 200 : 401;
          expect(answer.status).toBe(expected);
          if (answer.status === 200) expect(answer.body.user.id).toBe(world.victim.userId);
        }),
        fuzzParameters(1500),
      );
      expect(world.internalErrors).toEqual([]);
    },
    timeoutFor(1500, 2),
  );
});
