// Access-token verify and sign, per operation, in one process (mitata, after warm-up), for ES256,
// EdDSA, RS256 and HS256. The floor is raw node:crypto (signature + JSON.parse of the payload);
// every other row is shown as a ratio to it.
//
// coatcheck cold: a token seen for the first time (one of many issued beforehand, each verified
// once: coatcheck keeps a token on its second verification, so a token met again could be a cache
// hit), read through before its call or its batch of calls, so it is in cache, as a token a server
// has just read off the socket is. Warm: the same token again. jose, jsonwebtoken (PEM passed per
// call, as usually written) and fast-jwt cycle through a pool of tokens, as the floor does (they
// keep nothing between calls).
import { createHmac, KeyObject, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { jwtVerify, SignJWT } from 'jose';
import jwt from 'jsonwebtoken';
import { measure } from 'mitata';
import { performance } from 'node:perf_hooks';
import { createAuth } from '../../dist/index.js';
import { createMemoryStore } from '../../dist/stores/memory/index.js';
import { VERIFIED_TOKEN_CACHE_SIZE } from '../../dist/tokens/access-tokens.js';
import { median } from '../lib/stats.mjs';
import { emit, log, quick } from '../lib/section.mjs';

const ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'HS256'];
const ORIGIN = 'https://app.example.com';
const POOL = VERIFIED_TOKEN_CACHE_SIZE + 2_000;
// Fresh tokens for the cold row: the calls its rounds can make, from a timing of a few first sights,
// as if the row ran this many times faster; running out stops the bench rather than verify a token
// twice.
const COLD_SPARE = 2;
const COLD_PROBE = 1_000;
const ROUNDS = quick ? 1 : 5;
const OPTIONS = quick ? { min_cpu_time: 150e6 } : { min_cpu_time: 500e6 };
const REQUIRED = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'];
// Verify targets: cold coatcheck over the floor.
const COLD_TARGET = { ES256: 1.5, EdDSA: 1.5, RS256: 1.5, HS256: 2 };
const WARM_TARGET_NS = 2_000;

const b64 = (value) => Buffer.from(value).toString('base64url');
// Revoked sessions the strict rows' revocation list holds (none of them the token's own).
const REVOKED_SESSIONS = 10_000;

/**
 * A revocation feed inside this process, holding `count` revoked sessions: what a strict route
 * consults is the same in-memory list whatever feed (Redis, Postgres) keeps it current.
 */
function inProcessFeed(count) {
  const event = {
    sessionIds: Array.from({ length: count }, (_, i) => `ses_revoked${String(i).padStart(12, '0')}`),
    users: [],
    expiresAt: Date.now() + 3_600_000,
  };
  return {
    publish: () => Promise.resolve(),
    loadActive: () => Promise.resolve([event]),
    subscribe: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/** Node's crypto for one algorithm: the floor of what any JWT library must do. */
function rawCrypto(alg, key) {
  const digest = alg === 'EdDSA' ? null : 'sha256';
  if (alg === 'HS256') {
    const secret = Buffer.from(key.verificationKey);
    return {
      verify: (input, signature) => timingSafeEqual(createHmac('sha256', secret).update(input).digest(), signature),
      sign: (input) => createHmac('sha256', secret).update(input).digest(),
    };
  }
  const publicKey = KeyObject.from(key.verificationKey);
  const privateKey = KeyObject.from(key.signingKey);
  const dsa = alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' } : {};
  return {
    verify: (input, signature) => cryptoVerify(digest, input, { key: publicKey, ...dsa }, signature),
    sign: (input) => cryptoSign(digest, input, { key: privateKey, ...dsa }),
  };
}

function pems(alg, key) {
  if (alg === 'HS256') return { publicPem: Buffer.from(key.verificationKey), privatePem: Buffer.from(key.signingKey) };
  return {
    publicPem: KeyObject.from(key.verificationKey).export({ type: 'spki', format: 'pem' }),
    privatePem: KeyObject.from(key.signingKey).export({ type: 'pkcs8', format: 'pem' }),
  };
}

async function benchAlgorithm(alg) {
  const auth = createAuth({
    store: createMemoryStore(),
    origin: ORIGIN,
    purgeInterval: 0,
    tokens: { secret: 'bench-secret-'.padEnd(48, 'x'), algorithm: alg },
    revocation: { feed: inProcessFeed(REVOKED_SESSIONS) },
  });
  await auth.ready();
  const { access, ring } = auth.tokens;
  const subject = { userId: 'usr_Qm9fYmVuY2hfdXNlcl8x', sessionId: 'ses_Qm9fYmVuY2hfc2Vzc18x', role: 'user' };
  log(`${alg}: issuing ${POOL} tokens`);
  const pool = [];
  for (let i = 0; i < POOL; i++) pool.push(access.issue(subject).token);
  const fresh = await freshTokens(access, subject, alg);
  const hot = access.issue(subject).token;
  const key = ring.current();
  const raw = rawCrypto(alg, key);
  const { publicPem, privatePem } = pems(alg, key);
  const bearer = auth.tokens.bearerVerifier();
  const fastVerify = createVerifier({
    key: publicPem,
    algorithms: [alg],
    allowedIss: ORIGIN,
    allowedAud: ORIGIN,
    requiredClaims: REQUIRED,
  });
  // The second verification is the one that keeps a token: from the third on, it is warm.
  await access.verify(hot);
  const claims = (await access.verify(hot)) ?? failed('coatcheck refused its own token');
  // Strict answers without waiting only once the revocation list is live: the first check loads it.
  if (!(await bearer.verify(hot, { strict: true }))) failed('strict bearer refused a token');
  const header = { alg, kid: key.kid, typ: 'at+jwt' };
  const headerSegment = b64(JSON.stringify(header));
  const fastSign = createSigner({ key: privatePem, algorithm: alg, kid: key.kid, header: { typ: 'at+jwt' } });

  let next = 0;
  const cycle = () => pool[next++ % POOL];
  const verifyRows = [
    {
      name: 'node:crypto verify + JSON.parse (floor)',
      floor: true,
      fn: () => {
        const token = cycle();
        const first = token.indexOf('.');
        const last = token.lastIndexOf('.');
        const ok = raw.verify(Buffer.from(token.slice(0, last)), Buffer.from(token.slice(last + 1), 'base64url'));
        if (!ok) failed('raw verify failed');
        return JSON.parse(Buffer.from(token.slice(first + 1, last), 'base64url').toString());
      },
    },
    {
      name: 'coatcheck cold (first sight of the token)',
      target: 'cold',
      // mitata's computed parameter: the next fresh token, handed over (and read through, so that
      // it sits in the CPU's caches as the floor's pool does) before the call, or before each batch
      // of calls, outside the timed part.
      *fn() {
        yield {
          0: () => fresh.next(),
          bench: async (token) => (await access.verify(token)) ?? failed('coatcheck cold refused a token'),
        };
      },
    },
    {
      name: 'coatcheck warm (the same token again)',
      target: 'warm',
      fn: async () => (await access.verify(hot)) ?? failed('coatcheck warm refused a token'),
    },
    {
      name: 'coatcheck warm, bearer verifier (auth.authenticate path, a promise)',
      target: 'warm',
      fn: async () => (await bearer.verify(hot, { strict: false })) ?? failed('bearer refused a token'),
    },
    {
      // What requireAuth runs for a token it has seen: authenticateKnown, no promise.
      name: 'coatcheck warm, bearer guard (requireAuth path)',
      target: 'warm',
      fn: () => bearer.verifyKnown(hot, { strict: false }) ?? failed('the guard did not decide a known token'),
    },
    {
      name: `coatcheck warm, bearer guard, strict (revocation list of ${REVOKED_SESSIONS / 1000}k sessions)`,
      target: 'warm',
      fn: () => bearer.verifyKnown(hot, { strict: true }) ?? failed('the strict guard did not decide a known token'),
    },
    {
      name: 'jose jwtVerify',
      fn: () =>
        jwtVerify(cycle(), key.verificationKey, {
          algorithms: [alg],
          issuer: ORIGIN,
          audience: ORIGIN,
          typ: 'at+jwt',
          clockTolerance: 30,
          requiredClaims: REQUIRED,
        }),
    },
    {
      name: 'jsonwebtoken verify (PEM per call)',
      skip: alg === 'EdDSA' ? 'jsonwebtoken 9 has no EdDSA' : null,
      fn: () => jwt.verify(cycle(), publicPem, { algorithms: [alg], issuer: ORIGIN, audience: ORIGIN }),
    },
    { name: 'fast-jwt verifier', fn: () => fastVerify(cycle()) },
  ];
  const claimsJson = () => ({ ...claims, jti: `at_${(next++).toString(36).padStart(22, '0')}` });
  const signRows = [
    {
      name: 'node:crypto sign + JSON.stringify (floor)',
      floor: true,
      fn: () => {
        const input = `${headerSegment}.${b64(JSON.stringify(claimsJson()))}`;
        return `${input}.${raw.sign(Buffer.from(input)).toString('base64url')}`;
      },
    },
    { name: 'coatcheck issue', fn: () => access.issue(subject) },
    {
      name: 'jose SignJWT',
      fn: () => new SignJWT(claimsJson()).setProtectedHeader(header).sign(key.signingKey),
    },
    {
      name: 'jsonwebtoken sign (PEM per call)',
      skip: alg === 'EdDSA' ? 'jsonwebtoken 9 has no EdDSA' : null,
      fn: () => jwt.sign(claimsJson(), privatePem, { algorithm: alg, keyid: key.kid, header: { typ: 'at+jwt' } }),
    },
    { name: 'fast-jwt signer', fn: () => fastSign(claimsJson()) },
  ];

  const results = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of [...verifyRows, ...signRows]) {
      if (row.skip) continue;
      // A copy: mitata writes its defaults, and a computed parameter, into the options it is given.
      const stats = await measure(row.fn, { ...OPTIONS });
      const list = results.get(row) ?? [];
      list.push(stats.p50);
      results.set(row, list);
    }
    log(`${alg}: round ${round + 1}/${ROUNDS} done`);
  }
  await auth.close();
  const table = (kind, rows) => {
    const floors = results.get(rows.find((row) => row.floor));
    return rows.map((row) => {
      const ns = row.skip ? NaN : median(results.get(row));
      // Each round's time over the same round's floor: drift between rounds cancels out.
      const ratio = row.skip ? NaN : median(results.get(row).map((time, round) => time / floors[round]));
      const target =
        row.target === 'cold'
          ? { limit: `≤ ${COLD_TARGET[alg]}x floor`, met: ratio <= COLD_TARGET[alg] }
          : row.target === 'warm'
            ? { limit: '≤ 2 µs', met: ns <= WARM_TARGET_NS }
            : null;
      return { alg, kind, name: row.name, ns, ratio, skip: row.skip ?? null, target };
    });
  };
  return [...table('verify', verifyRows), ...table('sign', signRows)];
}

/**
 * Tokens the cold row meets once each, as many as its rounds can use. mitata runs a row for at
 * least `min_cpu_time` and 12 samples, after up to 3 warm-up calls; a sample is one call, or a batch
 * of 4,096 when a call takes under 65.5 µs (mitata's defaults, which every row here uses). Which of
 * the two it picks, and how fast the row runs, can differ from this probe on a noisy machine: the
 * count covers batches either way, at `COLD_SPARE` times the probe's speed.
 */
async function freshTokens(access, subject, alg) {
  // Timed after as many untimed first sights, so the count does not follow a cold JIT.
  const probe = Array.from({ length: 2 * COLD_PROBE }, () => access.issue(subject).token);
  let started = 0;
  for (const [i, token] of probe.entries()) {
    if (i === COLD_PROBE) started = performance.now();
    if (!(await access.verify(token))) failed('coatcheck refused its own token');
  }
  const ns = ((performance.now() - started) * 1e6) / COLD_PROBE;
  const fastest = ns / COLD_SPARE;
  const calls = (batch) => batch * Math.max(12, Math.ceil(OPTIONS.min_cpu_time / (fastest * batch)) + 1);
  // And a batch a round to spare, beyond what the probe predicts.
  const count = ROUNDS * (3 + Math.max(calls(1), calls(4_096)) + 4_096);
  log(`${alg}: issuing ${count} tokens for the cold row (${(ns / 1000).toFixed(1)} µs a first sight)`);
  const tokens = Array.from({ length: count }, () => access.issue(subject).token);
  let used = 0;
  return {
    next() {
      const token =
        tokens[used++] ?? failed(`the cold row used all ${count} fresh tokens (${used - 1} asked): raise COLD_SPARE`);
      // Every character read once (there is no '~' in a JWT), so the text is in the CPU's caches.
      if (token.includes('~')) failed('a token holds a character base64url has not');
      return token;
    },
  };
}

function failed(message) {
  throw new Error(message);
}

const rows = [];
for (const alg of ALGORITHMS) rows.push(...(await benchAlgorithm(alg)));
emit({
  section: 'tokens',
  rows,
  rounds: ROUNDS,
  pool: POOL,
  note:
    `Median of ${ROUNDS} round(s) of mitata's p50 per operation; the ratio is the median of each round's ` +
    `ratio to that round's floor. Cold verifies a token it has never seen, read through before its ` +
    `call (or its batch of calls); the floor and the other libraries cycle through ${POOL} tokens.`,
  signNote:
    `Median of ${ROUNDS} round(s) of mitata's p50 per operation; the ratio is the median of each round's ` +
    `ratio to that round's floor. The floor and the other libraries sign the claims coatcheck issues, with a ` +
    `new \`jti\` per call; \`coatcheck issue\` also builds its claims (a random \`jti\`, the times).`,
});
