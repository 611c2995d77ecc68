// Access-token verify and sign, per operation, in one process (mitata, after warm-up), for ES256,
// EdDSA, RS256 and HS256. The floor is raw node:crypto (signature + JSON.parse of the payload);
// every other row is shown as a ratio to it.
//
// coatcheck cold: a token seen for the first time (the bench cycles through more distinct tokens
// than the verified-token cache holds, so every call misses). Warm: the same token again. jose,
// jsonwebtoken (PEM passed per call, as usually written) and fast-jwt verify the same tokens.
import { createHmac, KeyObject, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { jwtVerify, SignJWT } from 'jose';
import jwt from 'jsonwebtoken';
import { measure } from 'mitata';
import { createAuth } from '../../dist/index.js';
import { createMemoryStore } from '../../dist/stores/memory/index.js';
import { VERIFIED_TOKEN_CACHE_SIZE } from '../../dist/tokens/access-tokens.js';
import { median } from '../lib/stats.mjs';
import { emit, log, quick } from '../lib/section.mjs';

const ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'HS256'];
const ORIGIN = 'https://app.example.com';
const POOL = VERIFIED_TOKEN_CACHE_SIZE + 2_000;
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
  const claims = (await access.verify(hot)) ?? failed('coatcheck refused its own token');
  const header = { alg, kid: key.kid, typ: 'at+jwt' };
  const headerSegment = b64(JSON.stringify(header));
  const fastSign = createSigner({ key: privatePem, algorithm: alg, kid: key.kid, header: { typ: 'at+jwt' } });

  // The cold row has a cycle of its own: it meets the pool's tokens in order, more of them than the
  // cache holds, so none is still cached when it comes round again, whatever the other rows do.
  let next = 0;
  let nextCold = 0;
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
      fn: async () => (await access.verify(pool[nextCold++ % POOL])) ?? failed('coatcheck cold refused a token'),
    },
    {
      name: 'coatcheck warm (the same token again)',
      target: 'warm',
      fn: async () => (await access.verify(hot)) ?? failed('coatcheck warm refused a token'),
    },
    {
      name: 'coatcheck warm, bearer guard (requireAuth path)',
      target: 'warm',
      fn: async () => (await bearer.verify(hot, { strict: false })) ?? failed('bearer refused a token'),
    },
    {
      name: `coatcheck warm, bearer guard, strict (revocation list of ${REVOKED_SESSIONS / 1000}k sessions)`,
      target: 'warm',
      fn: async () => (await bearer.verify(hot, { strict: true })) ?? failed('strict bearer refused a token'),
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
      const stats = await measure(row.fn, OPTIONS);
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
    `ratio to that round's floor. Cold cycles through ${POOL} distinct tokens ` +
    `(the cache holds ${VERIFIED_TOKEN_CACHE_SIZE}), so every call is a first sight.`,
});
