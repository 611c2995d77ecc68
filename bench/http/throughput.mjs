// HTTP throughput: GET of a protected route, each server in its own process, autocannon in
// another (bench/http/cannon.mjs). Per variant: measure the no-auth ceiling (its server stays up for
// the round), then start the variant's server, log in over HTTP, warm up, measure, stop: each
// comparison back to back, so a machine that gets busier or quieter affects both sides. Rounds
// repeat (the starting variant rotates); medians are reported, ratios as medians of the pairs'.
// One variant, the control, is the ceiling's own server again, started fresh and measured like the
// others: an identical server, so its share shows how far the method and the machine's noise move
// a share in that run (docs/performance.md, "The HTTP shares themselves").
/* global fetch -- Node 20 has it; the lint config lists only a few globals for .mjs */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coatcheckLogin, expressSessionLogin, jsonwebtokenLogin, ORIGIN, registerUser } from '../lib/credentials.mjs';
import { freePort, runJson, startNode, stop, waitReady } from '../lib/processes.mjs';
import { emit, log, quick } from '../lib/section.mjs';
import { probeServices, redisUrl } from '../lib/services.mjs';
import { median } from '../lib/stats.mjs';

const ROUNDS = quick ? 1 : 3;
const WARMUP_SECONDS = quick ? 1 : 3;
const SECONDS = quick ? 3 : 10;
const CONNECTIONS = 32;
const STRICT_PAIRS = quick ? 2 : 6;

const server = (name) => `bench/http/servers/${name}.mjs`;
const coatcheck = (env) => ({ script: server('coatcheck'), env: { REDIS_URL: redisUrl, ...env } });
const cookieLogin = async (base) => coatcheckLogin(base, await registerUser(base), 'session');
const bearerLogin = async (base) => coatcheckLogin(base, await registerUser(base), 'native');

/** `seeds`: which seeds' stack a row compares with. */
const VARIANTS = [
  { id: 'ceiling', name: 'Express 5, no auth (ceiling)', ...{ script: server('no-auth') }, prepare: async () => ({}) },
  {
    id: 'ceiling-again',
    name: 'Express 5, no auth, a fresh server (control)',
    ...{ script: server('no-auth') },
    prepare: async () => ({}),
  },
  {
    id: 'seeds-session',
    name: "express-session + connect-redis (seeds' session stack)",
    script: server('express-session'),
    env: { REDIS_URL: redisUrl },
    needs: 'redis',
    prepare: expressSessionLogin,
  },
  {
    id: 'seeds-jwt',
    name: "jsonwebtoken HS256 middleware (seeds' JWT stack)",
    script: server('jsonwebtoken'),
    prepare: jsonwebtokenLogin,
  },
  {
    id: 'session-redis',
    name: 'coatcheck session, Redis store (+SQLite users)',
    ...coatcheck({ BENCH_STORE: 'redis' }),
    needs: 'redis',
    seeds: 'seeds-session',
    target: 0.8,
    prepare: cookieLogin,
  },
  {
    id: 'session-sqlite',
    name: 'coatcheck session, SQLite store',
    ...coatcheck({ BENCH_STORE: 'sqlite' }),
    seeds: 'seeds-session',
    target: 0.85,
    prepare: cookieLogin,
  },
  {
    id: 'bearer',
    name: 'coatcheck bearer ES256',
    ...coatcheck({ BENCH_TOKENS: '1', BENCH_FEED: '1' }),
    needs: 'redis',
    seeds: 'seeds-jwt',
    target: 0.9,
    prepare: bearerLogin,
  },
  {
    id: 'bearer-strict',
    name: 'coatcheck bearer ES256, strict (revocation list)',
    ...coatcheck({ BENCH_TOKENS: '1', BENCH_FEED: '1', BENCH_STRICT: '1' }),
    needs: 'redis',
    seeds: 'seeds-jwt',
    prepare: bearerLogin,
  },
  {
    id: 'serve-session',
    name: '`coatcheck serve`, session (GET /api/notes)',
    serve: true,
    path: '/api/notes',
    seeds: 'seeds-session',
    prepare: cookieLogin,
  },
  {
    id: 'serve-bearer',
    name: '`coatcheck serve`, bearer ES256 (GET /api/notes)',
    serve: true,
    path: '/api/notes',
    seeds: 'seeds-jwt',
    prepare: bearerLogin,
  },
];

/** Starts a variant's server and logs in; `close()` stops it. */
async function start(variant) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = variant.serve ? mkdtempSync(join(tmpdir(), 'coatcheck-bench-serve-')) : null;
  const child = variant.serve
    ? startNode('dist/cli/main.js', {
        args: ['serve'],
        env: {
          PORT: String(port),
          HOST: '127.0.0.1',
          COATCHECK_ORIGIN: ORIGIN,
          COATCHECK_DATA_DIR: dataDir,
          COATCHECK_SECRET: 'a bench secret of at least thirty-two bytes',
          // Request log lines off: this measures the auth path, not log shipping.
          LOG_LEVEL: 'warn',
          REDIS_URL: '',
          DATABASE_URL: '',
        },
      })
    : startNode(variant.script, { env: { PORT: String(port), ...variant.env } });
  const close = async () => {
    await stop(child);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, `${base}/healthz`);
    const { headers } = await variant.prepare(base);
    const url = `${base}${variant.path ?? '/api/profile'}`;
    const check = await fetch(url, { headers });
    await check.arrayBuffer();
    if (check.status !== 200) throw new Error(`${variant.name}: GET ${url} answered ${check.status}`);
    return { url, headers, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function load(server, name, warmupSeconds) {
  const result = await runJson('bench/http/cannon.mjs', {
    url: server.url,
    headers: server.headers,
    connections: CONNECTIONS,
    warmupSeconds,
    seconds: SECONDS,
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${name}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  }
  return result;
}

const services = await probeServices();
const [CEILING, ...others] = VARIANTS;
const runnable = others.filter((variant) => !variant.needs || services[variant.needs].ok);
const results = new Map([[CEILING.id, []], ...runnable.map((variant) => [variant.id, []])]);
// Each variant's measurement comes right after one of the ceiling, whose server stays up for the round.
const ceilings = new Map(runnable.map((variant) => [variant.id, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = [...runnable.slice(round % runnable.length), ...runnable.slice(0, round % runnable.length)];
  const ceiling = await start(CEILING);
  try {
    await load(ceiling, CEILING.name, WARMUP_SECONDS);
    for (const variant of order) {
      const before = await load(ceiling, CEILING.name, 0);
      results.get(CEILING.id).push(before);
      ceilings.get(variant.id).push(before);
      const server = await start(variant);
      try {
        const result = await load(server, variant.name, WARMUP_SECONDS);
        results.get(variant.id).push(result);
        log(
          `round ${round + 1}/${ROUNDS}: ${variant.name}: ${Math.round(result.rps)} req/s (ceiling just before: ${Math.round(before.rps)})`,
        );
      } finally {
        await server.close();
      }
    }
  } finally {
    await ceiling.close();
  }
}

/**
 * Strict against non-strict on one server: the same process, the same token, the same route with
 * the other guard, measured alternately (A B B A …), so what differs between the two is the strict
 * check and not the process, its JIT state or the machine's mood between two servers.
 */
async function strictAgainstNonStrict() {
  const variant = VARIANTS.find((v) => v.id === 'bearer');
  const server = await start(variant);
  const base = server.url.replace(/\/api\/profile$/, '');
  const at = (path) => ({ ...server, url: `${base}${path}` });
  const pairs = [];
  try {
    await load(at('/api/profile/non-strict'), 'warm-up', WARMUP_SECONDS);
    for (let pair = 0; pair < STRICT_PAIRS; pair++) {
      const order = pair % 2 === 0 ? ['non-strict', 'strict'] : ['strict', 'non-strict'];
      const measured = {};
      for (const mode of order) measured[mode] = (await load(at(`/api/profile/${mode}`), mode, 0)).rps;
      pairs.push(measured);
      log(
        `strict vs non-strict, pair ${pair + 1}/${STRICT_PAIRS}: ${Math.round(measured.strict)} / ${Math.round(measured['non-strict'])} req/s`,
      );
    }
  } finally {
    await server.close();
  }
  return {
    pairs: pairs.map((p) => ({ strict: Math.round(p.strict), nonStrict: Math.round(p['non-strict']) })),
    ratio: median(pairs.map((p) => p.strict / p['non-strict'])),
  };
}

const strict = services.redis.ok ? await strictAgainstNonStrict() : null;

const summary = (id) => {
  const list = results.get(id);
  if (!list || list.length === 0) return null;
  return {
    rps: median(list.map((r) => r.rps)),
    p50: median(list.map((r) => r.p50)),
    p99: median(list.map((r) => r.p99)),
  };
};
/** Each measurement of `id` over the ceiling measured just before it. */
const shares = (id) => results.get(id)?.map((result, index) => result.rps / ceilings.get(id)[index].rps);
/** The median of `id`'s shares of the ceiling, or of its shares over `other`'s in the same round. */
const ratio = (id, other) => {
  const mine = shares(id);
  if (!mine) return null;
  if (other === CEILING.id) return median(mine);
  const theirs = shares(other);
  return theirs ? median(mine.map((share, round) => share / theirs[round])) : null;
};
const rows = VARIANTS.map((variant) => {
  const found = summary(variant.id);
  if (!found) return { id: variant.id, name: variant.name, skip: `${variant.needs} not available` };
  return {
    id: variant.id,
    name: variant.name,
    ...found,
    runs: results.get(variant.id).map((r) => Math.round(r.rps)),
    ofCeiling: variant.id === CEILING.id ? 1 : ratio(variant.id, CEILING.id),
    ofSeeds: variant.seeds ? ratio(variant.id, variant.seeds) : null,
    seeds: variant.seeds ?? null,
    target: variant.target ?? null,
  };
});
emit({
  section: 'http',
  rows,
  strictVsNormal: strict?.ratio ?? null,
  strictPairs: strict?.pairs ?? null,
  strictAcrossServers: ratio('bearer-strict', 'bearer'),
  settings: { rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS, connections: CONNECTIONS },
});
