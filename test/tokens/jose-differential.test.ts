import { createHmac, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { AccessTokens, CLOCK_TOLERANCE_SECONDS, type AccessTokenClaims } from '../../src/tokens/access-tokens.js';
import { hasDuplicateKeys } from '../../src/tokens/duplicate-keys.js';
import { KeyRing, type JwtAlgorithm, type LoadedKey } from '../../src/tokens/key-ring.js';
import { readTokenShape } from '../../src/tokens/token-shape.js';

/*
 * Differential test: coatcheck's verifier (fast-jwt on a cache miss, the verified-token cache on a
 * hit) against the reference, `jose.jwtVerify` with the same allow-lists as coatcheck used before
 * (algorithms = the kid's key's, issuer, audience, typ at+jwt, 30 s tolerance, required claims),
 * after the same token-text rules (`readTokenShape`, and the full repeated-key scanner on the payload,
 * which the verifier replaces with a cheaper count once the payload is parsed) and followed by
 * coatcheck's own claim rules.
 * Thousands of generated and mutated tokens, each verified at two instants, cold and from the cache.
 *
 * Besides equality, every token jose accepts but coatcheck refuses must fall in a documented
 * refusal (docs/security.md): padding or whitespace in a segment, a byte-order mark, a repeated
 * JSON key, a forbidden header, an audience array.
 */

const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'https://api.example.com';
const TTL = 600;
const RUNS_PER_ALGORITHM = 1_500;
const REQUIRED = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'];
const FORBIDDEN = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'];
// The order of P-256: s and n - s are both valid ECDSA signatures of the same message.
const P256_ORDER = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');

const b64u = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

interface World {
  alg: JwtAlgorithm;
  clock: ReturnType<typeof createManualClock>;
  ring: KeyRing;
  /** The rotated-out key (verifies until `oldKeyExpiresAt`) and the current one. */
  oldKey: LoadedKey;
  newKey: LoadedKey;
  oldKeyExpiresAt: number;
  foreign: KeyObject | Uint8Array;
  publicPem: string | null;
  cold: AccessTokens;
  cached: AccessTokens;
  start: number;
}

/** A raw JWS signature over `input` (ECDSA as r || s, as JWS wants). */
function signWith(alg: JwtAlgorithm, key: KeyObject | Uint8Array, input: Buffer): Buffer {
  if (key instanceof Uint8Array) return createHmac('sha256', key).update(input).digest();
  if (alg === 'ES256') return sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
  return sign(alg === 'EdDSA' ? null : 'sha256', input, key);
}

/** The ring's private keys are non-extractable CryptoKeys; node:crypto can still sign with them. */
function signingKeyOf(key: LoadedKey): KeyObject | Uint8Array {
  return key.signingKey instanceof Uint8Array ? key.signingKey : KeyObject.from(key.signingKey);
}

async function makeWorld(alg: JwtAlgorithm): Promise<World> {
  const start = Date.UTC(2026, 0, 1);
  const clock = createManualClock(start);
  const ring = new KeyRing({
    store: createMemoryStore().signingKeys,
    sealKey: randomBytes(32),
    algorithm: alg,
    clock,
    retireGraceMs: 670_000,
    publishDelayMs: 60_000,
    logger: silentLogger,
  });
  await ring.init();
  const [first] = ring.jwks().keys;
  const oldKid = alg === 'HS256' ? ring.current().kid : first!.kid!;
  const rotated = await ring.rotate();
  const oldKey = ring.peek(oldKid)!;
  const newKey = ring.peek(rotated.kid)!;
  const options = { ring, clock, issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL };
  let foreign: KeyObject | Uint8Array;
  if (alg === 'HS256') {
    foreign = randomBytes(32);
  } else if (alg === 'ES256') {
    foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  } else if (alg === 'EdDSA') {
    foreign = generateKeyPairSync('ed25519').privateKey;
  } else {
    foreign = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  }
  const publicPem =
    alg === 'HS256'
      ? null
      : (KeyObject.from(newKey.verificationKey as CryptoKey).export({ type: 'spki', format: 'pem' }) as string);
  return {
    alg,
    clock,
    ring,
    oldKey,
    newKey,
    oldKeyExpiresAt: oldKey.record.expiresAt!,
    foreign,
    publicPem,
    cold: new AccessTokens({ ...options, cacheSize: 0 }),
    cached: new AccessTokens(options),
    start,
  };
}

/** jose's verdict with coatcheck's allow-lists: the payload, or `null`. */
async function joseVerify(key: LoadedKey, token: string, now: number): Promise<Record<string, unknown> | null> {
  try {
    const { payload } = await jwtVerify(token, key.verificationKey, {
      algorithms: [key.alg],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(now),
      requiredClaims: REQUIRED,
    });
    return payload;
  } catch {
    return null;
  }
}

/** coatcheck's own claim rules, unchanged: the types it issues, never issued in the future, never longer than configured. */
function claimRules(payload: Record<string, unknown>, now: number): AccessTokenClaims | null {
  const { sub, sid, jti, role, iat, exp, iss } = payload;
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' || typeof role !== 'string')
    return null;
  if (typeof iat !== 'number' || typeof exp !== 'number' || typeof iss !== 'string') return null;
  if (iat > now / 1000 + CLOCK_TOLERANCE_SECONDS || exp - iat > TTL) return null;
  return { iss, aud: AUDIENCE, sub, sid, jti, role, iat, exp };
}

/** The reference verdict: the token-text rules, jose, coatcheck's claim rules, and one audience (a string). */
async function reference(world: World, token: string, now: number): Promise<AccessTokenClaims | null> {
  const shape = readTokenShape(token);
  if (!shape || hasDuplicateKeys(shape.payloadJson)) return null;
  const key = await world.ring.find(shape.kid);
  if (!key || key.alg !== shape.alg) return null;
  const payload = await joseVerify(key, token, now);
  if (payload === null || typeof payload.aud !== 'string') return null;
  return claimRules(payload, now);
}

/** The same without coatcheck's token-text rules and audience rule: to check that what they add is documented. */
async function withoutShapeRules(world: World, token: string, now: number): Promise<boolean> {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  const kid = (header as { kid?: unknown } | null)?.kid;
  const key = typeof kid === 'string' ? await world.ring.find(kid) : undefined;
  if (!key) return false;
  const payload = await joseVerify(key, token, now);
  return payload !== null && claimRules(payload, now) !== null;
}

/** Why coatcheck refuses a token jose accepts, if the reason is one docs/security.md lists. */
function documentedRefusal(token: string): string | null {
  const parts = token.split('.');
  if (parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) return 'padding or whitespace';
  const texts = parts.slice(0, 2).map((part) => Buffer.from(part, 'base64url'));
  if (texts.some((bytes) => bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)) return 'byte-order mark';
  const [header, payload] = texts.map((bytes) => bytes.toString('utf8')) as [string, string];
  if (hasDuplicateKeys(header) || hasDuplicateKeys(payload)) return 'repeated key';
  const parsedHeader = JSON.parse(header) as Record<string, unknown>;
  if (FORBIDDEN.some((name) => Object.hasOwn(parsedHeader, name))) return 'forbidden header';
  const parsedPayload = JSON.parse(payload) as Record<string, unknown>;
  if (typeof parsedPayload.aud !== 'string') return 'audience array';
  return null;
}

// ---- generators -------------------------------------------------------------------------------

type Member = [key: string, valueJson: string] | null;

const json = (value: unknown): string => JSON.stringify(value);
const junkValue = fc.constantFrom('null', 'true', '1', '"x"', '[]', '{}', '["a"]', '{"a":1}', '-0', '""');

function member(
  key: string,
  good: fc.Arbitrary<string>,
  extra: fc.Arbitrary<string> = junkValue,
): fc.Arbitrary<Member> {
  return fc.oneof(
    { weight: 60, arbitrary: good.map((value): Member => [key, value]) },
    { weight: 1, arbitrary: extra.map((value): Member => [key, value]) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

/** A number of seconds around `base` as JSON text: boundaries, fractions, and the odd non-finite. */
function secondsAround(offsets: fc.Arbitrary<number>): fc.Arbitrary<(base: number) => string> {
  return fc.oneof(
    { weight: 10, arbitrary: offsets.map((offset) => (base: number) => String(base + offset)) },
    { weight: 2, arbitrary: offsets.map((offset) => (base: number) => String(base + offset + 0.5)) },
    { weight: 1, arbitrary: fc.constantFrom('1e400', '-1e400', '"1"', 'null').map((text) => () => text) },
  );
}

const boundary = fc.oneof(
  fc.constantFrom(-31, -30, -29, -1, 0, 1, 29, 30, 31),
  fc.integer({ min: -2_000, max: 2_000 }),
);

/** True about once in `n` draws. */
const rarely = (n: number): fc.Arbitrary<boolean> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

/** A value about once in `n` draws, else `null`. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });

interface Spec {
  header: Member[];
  headerExtra: Member;
  headerDuplicate: number | null;
  claims: Member[];
  iat: (base: number) => string;
  iatMissing: boolean;
  exp: (iat: number) => string;
  expMissing: boolean;
  nbf: ((base: number) => string) | null;
  claimDuplicate: number | null;
  escapeAKey: boolean;
  pretty: boolean;
  bom: 'none' | 'header' | 'payload';
  badUtf8: boolean;
  /** `named`: the key the header's kid names (the current key for a kid that is not ours). */
  signer: 'named' | 'other-kid' | 'foreign' | 'hmac-public' | 'none';
  segmentMutation: 'none' | 'pad' | 'lone' | 'space' | 'plus';
  segmentIndex: number;
  tokenMutation:
    'none' | 'pad-signature' | 'lone' | 'flip' | 'truncate' | 'slack' | 'high-s' | 'extra-part' | 'drop-part';
  flipAt: number;
  nowOffsetMs: number;
  laterMs: number;
  reloadBetween: boolean;
}

function specFor(world: World): fc.Arbitrary<Spec> {
  const kidChoice = fc.oneof(
    { weight: 30, arbitrary: fc.constant(json(world.newKey.kid)) },
    { weight: 8, arbitrary: fc.constant(json(world.oldKey.kid)) },
    { weight: 1, arbitrary: fc.constantFrom('"unknown_kid"', '"../../etc/passwd"', json('k'.repeat(65)), '""') },
  );
  const typChoice = fc.oneof(
    { weight: 30, arbitrary: fc.constant('"at+jwt"') },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        '"AT+JWT"',
        '"application/at+jwt"',
        '"APPLICATION/At+Jwt"',
        '"jwt"',
        '"JWT"',
        '"x/at+jwt"',
        '"application/application/at+jwt"',
        '"at+jwt "',
      ),
    },
  );
  const algChoice = fc.oneof(
    { weight: 40, arbitrary: fc.constant(json(world.alg)) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('"none"', '"None"', '"HS256"', '"ES256"', '"EdDSA"', '"RS256"', '"PS256"', '""'),
    },
  );
  const text = (value: string) => fc.constant(json(value));
  return fc.record({
    header: fc.tuple(member('alg', algChoice), member('kid', kidChoice), member('typ', typChoice)),
    headerExtra: fc.oneof(
      { weight: 20, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<Member>(
          ['crit', '["exp"]'],
          ['jku', '"https://evil.example/jwks"'],
          ['b64', 'false'],
          ['x5t', '"abc"'],
          ['cty', '"JWT"'],
          ['foo', '1'],
          ['__proto__', '{}'],
        ),
      },
    ),
    headerDuplicate: sometimes(fc.integer({ min: 0, max: 5 }), 30),
    claims: fc.tuple(
      member('iss', text(ISSUER), fc.constantFrom('"https://other.example"', json([ISSUER]), '1', 'null')),
      member(
        'aud',
        text(AUDIENCE),
        fc.constantFrom(json([AUDIENCE]), json([AUDIENCE, 1]), json(['x', AUDIENCE]), '["x"]', '[]', '"x"', 'null'),
      ),
      member('sub', text('usr_1')),
      member('sid', text('ses_1')),
      member('jti', fc.string({ minLength: 1, maxLength: 12 }).map(json)),
      member('role', fc.constantFrom('"user"', '"admin"', '"ünï"')),
      fc.oneof(
        { weight: 10, arbitrary: fc.constant<Member>(null) },
        { weight: 1, arbitrary: fc.constantFrom<Member>(['extra', '{"a":{"b":[1,2]}}'], ['__proto__', '{"x":1}']) },
      ),
    ),
    iat: secondsAround(
      fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -500, max: 0 }) }, { weight: 1, arbitrary: boundary }),
    ),
    iatMissing: rarely(30),
    exp: secondsAround(
      fc.oneof(
        { weight: 6, arbitrary: fc.constant(TTL) },
        { weight: 2, arbitrary: fc.constantFrom(TTL + 1, TTL - 1, 0, -1, 1) },
        { weight: 2, arbitrary: fc.integer({ min: -100, max: 700 }) },
      ),
    ),
    expMissing: rarely(30),
    nbf: sometimes(secondsAround(boundary), 4),
    claimDuplicate: sometimes(fc.integer({ min: 0, max: 15 }), 30),
    escapeAKey: rarely(7),
    pretty: fc.boolean(),
    bom: fc.oneof(
      { weight: 20, arbitrary: fc.constant<'none'>('none') },
      { weight: 1, arbitrary: fc.constantFrom<'header' | 'payload'>('header', 'payload') },
    ),
    badUtf8: rarely(20),
    signer: fc.oneof(
      { weight: 30, arbitrary: fc.constant<'named'>('named') },
      { weight: 3, arbitrary: fc.constantFrom<Spec['signer']>('other-kid', 'foreign', 'hmac-public', 'none') },
    ),
    segmentMutation: fc.oneof(
      { weight: 40, arbitrary: fc.constant<'none'>('none') },
      { weight: 3, arbitrary: fc.constantFrom<Spec['segmentMutation']>('pad', 'lone', 'space', 'plus') },
    ),
    segmentIndex: fc.integer({ min: 0, max: 1 }),
    tokenMutation: fc.oneof(
      { weight: 30, arbitrary: fc.constant<'none'>('none') },
      {
        weight: 6,
        arbitrary: fc.constantFrom<Spec['tokenMutation']>(
          'pad-signature',
          'lone',
          'flip',
          'truncate',
          'slack',
          'high-s',
          'extra-part',
          'drop-part',
        ),
      },
    ),
    flipAt: fc.nat(),
    nowOffsetMs: fc.oneof(
      fc.integer({ min: 120_000, max: 1_600_000 }),
      // Around the moment the rotated-out key stops verifying (rotation + publish delay + grace).
      fc.constantFrom(-1_000, -1, 0, 1, 500, 999).map((ms) => 730_000 + ms),
    ),
    laterMs: fc.oneof(
      { weight: 1, arbitrary: fc.integer({ min: -60_000, max: 60_000 }) },
      fc.constantFrom(0, 1, 999, 1_000, 29_999, 30_000, 31_000, -1_000, -31_000, 600_000, 631_000),
      fc.integer({ min: -700_000, max: 1_400_000 }),
    ),
    reloadBetween: fc.boolean(),
  });
}

/** `duplicate`: repeat the member at that index, with the same value when even, another when odd. */
function objectText(members: Member[], pretty: boolean, escapeAKey: boolean, duplicate: number | null): string {
  const present = members.filter((m): m is [string, string] => m !== null);
  if (duplicate !== null && present.length > 0) {
    const [key, value] = present[duplicate % present.length]!;
    present.push([key, duplicate % 2 === 0 ? value : value === '1' ? '2' : '1']);
  }
  const sep = pretty ? ',\n  ' : ',';
  const colon = pretty ? ': ' : ':';
  const body = present
    .map(([key, value], index) => {
      const name = escapeAKey && index === 0 ? `"\\u00${key.charCodeAt(0).toString(16)}${key.slice(1)}"` : json(key);
      return `${name}${colon}${value}`;
    })
    .join(sep);
  return pretty ? `{\n  ${body}\n}` : `{${body}}`;
}

function mutateSegment(segment: string, mutation: Spec['segmentMutation']): string {
  switch (mutation) {
    case 'pad':
      return segment.length % 4 === 0 ? segment : segment + '='.repeat(4 - (segment.length % 4));
    case 'lone':
      return segment.length % 4 === 0 ? `${segment}A` : segment + 'A'.repeat((5 - (segment.length % 4)) % 4);
    case 'space':
      return `${segment.slice(0, 4)} ${segment.slice(4)}`;
    case 'plus':
      return segment.replace('-', '+').replace('_', '/');
    default:
      return segment;
  }
}

function buildToken(world: World, spec: Spec, nowMs: number): string {
  const nowSeconds = Math.floor(nowMs / 1000);
  const header = objectText([...spec.header, spec.headerExtra], spec.pretty, false, spec.headerDuplicate);
  const iatValue = Number(spec.iat(nowSeconds));
  const iatText = spec.iat(nowSeconds);
  const expBase = Number.isFinite(iatValue) ? Math.floor(iatValue) : nowSeconds;
  const claims: Member[] = [
    ...spec.claims,
    spec.iatMissing ? null : ['iat', iatText],
    spec.expMissing ? null : ['exp', spec.exp(expBase)],
    spec.nbf ? ['nbf', spec.nbf(nowSeconds)] : null,
  ];
  const payload = objectText(claims, spec.pretty, spec.escapeAKey, spec.claimDuplicate);
  const encode = (textValue: string, bom: boolean): string => {
    const bytes = Buffer.from(textValue, 'utf8');
    const withBom = bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]) : bytes;
    return b64u(spec.badUtf8 ? Buffer.concat([withBom.subarray(0, -1), Buffer.from([0xc3, 0x28, 0x7d])]) : withBom);
  };
  const segments = [encode(header, spec.bom === 'header'), encode(payload, spec.bom === 'payload')];
  segments[spec.segmentIndex] = mutateSegment(segments[spec.segmentIndex]!, spec.segmentMutation);
  const input = Buffer.from(`${segments[0]}.${segments[1]}`);
  const namesOldKey = spec.header[1]?.[1] === json(world.oldKey.kid);
  let signature: Buffer;
  switch (spec.signer) {
    case 'named':
      signature = signWith(world.alg, signingKeyOf(namesOldKey ? world.oldKey : world.newKey), input);
      break;
    case 'other-kid':
      signature = signWith(world.alg, signingKeyOf(namesOldKey ? world.newKey : world.oldKey), input);
      break;
    case 'foreign':
      signature = signWith(world.alg, world.foreign, input);
      break;
    case 'hmac-public':
      signature = createHmac('sha256', world.publicPem ?? 'secret')
        .update(input)
        .digest();
      break;
    default:
      signature = Buffer.alloc(0);
  }
  let sig = b64u(signature);
  let token = `${input.toString()}.${sig}`;
  switch (spec.tokenMutation) {
    case 'pad-signature':
      token += sig.length % 4 === 0 ? '' : '='.repeat(4 - (sig.length % 4));
      break;
    case 'lone':
      token += 'A'.repeat((5 - (sig.length % 4)) % 4 || 4);
      break;
    case 'flip': {
      const at = spec.flipAt % token.length;
      const char = token[at] === 'A' ? 'B' : token[at] === '.' ? '.' : 'A';
      token = token.slice(0, at) + char + token.slice(at + 1);
      break;
    }
    case 'truncate':
      token = token.slice(0, -1);
      break;
    case 'slack': {
      // Another last character that decodes to the same bytes (base64url has unused low bits).
      const bits = (sig.length * 6) % 8;
      if (sig.length > 0 && bits !== 0) {
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const last = alphabet.indexOf(sig[sig.length - 1]!);
        sig = sig.slice(0, -1) + alphabet[last ^ 1]!;
        token = `${input.toString()}.${sig}`;
      }
      break;
    }
    case 'high-s':
      if (world.alg === 'ES256' && signature.length === 64) {
        const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
        const high = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
        token = `${input.toString()}.${b64u(Buffer.concat([signature.subarray(0, 32), high]))}`;
      }
      break;
    case 'extra-part':
      token += '.e30';
      break;
    case 'drop-part':
      token = input.toString();
      break;
    default:
      break;
  }
  return token;
}

// ---- the property -----------------------------------------------------------------------------

const tally = { tokens: 0, verdicts: 0, accepted: 0, documentedRefusals: new Map<string, number>() };

afterAll(() => {
  // Visible in the test output: how much was compared.
  console.log(
    `jose differential: ${tally.tokens} tokens, ${tally.verdicts} verdicts compared, ${tally.accepted} accepted; ` +
      `refused by coatcheck's documented rules though jose accepts: ${JSON.stringify(Object.fromEntries(tally.documentedRefusals))}`,
  );
});

describe.each(['ES256', 'EdDSA', 'RS256', 'HS256'] as const)(
  '%s: coatcheck accepts exactly what jose accepts',
  (alg) => {
    it(`agrees with jose.jwtVerify on ${RUNS_PER_ALGORITHM} generated and mutated tokens, cold and cached`, async () => {
      const world = await makeWorld(alg);
      // The generator aims some instants at this moment.
      expect(world.oldKeyExpiresAt).toBe(world.start + 730_000);
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(specFor(world), async (spec) => {
          const t0 = world.start + spec.nowOffsetMs;
          world.clock.set(t0);
          const token = buildToken(world, spec, t0);
          const expected0 = await reference(world, token, t0);
          expect(await world.cold.verify(token)).toEqual(expected0);
          // Twice: a token is kept on its second verification, so one accepted now is a cache hit at t1.
          expect(await world.cached.verify(token)).toEqual(expected0);
          expect(await world.cached.verify(token)).toEqual(expected0);
          if (expected0 === null && (await withoutShapeRules(world, token, t0))) {
            const reason = documentedRefusal(token);
            expect(reason, `jose accepts ${token} but coatcheck refuses it for no documented reason`).not.toBeNull();
            tally.documentedRefusals.set(reason!, (tally.documentedRefusals.get(reason!) ?? 0) + 1);
          }
          if (spec.reloadBetween) await world.ring.reload();
          const t1 = t0 + spec.laterMs;
          world.clock.set(t1);
          const expected1 = await reference(world, token, t1);
          // A cache hit must re-check time and key: the same verdict as a first sight.
          expect(await world.cached.verify(token)).toEqual(expected1);
          expect(await world.cold.verify(token)).toEqual(expected1);
          tally.tokens += 1;
          tally.verdicts += 5;
          if (expected0) accepted += 1;
          if (expected1) accepted += 1;
        }),
        { numRuns: RUNS_PER_ALGORITHM },
      );
      tally.accepted += accepted;
      // The generator must produce plenty of valid tokens (about a fifth), or equality would say little.
      expect(accepted).toBeGreaterThan(RUNS_PER_ALGORITHM / 10);
    }, 180_000);
  },
);
