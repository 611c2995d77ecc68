// HTTP throughput: GET of a protected route, each server in its own process, autocannon in
// another (bench/http/cannon.mjs). Per variant: measure the no-auth ceiling (its server stays up for
// the round), then start the variant's server, log in over HTTP, warm up, measure, stop: each
// comparison back to back, so a machine that gets busier or quieter affects both sides. Rounds
// repeat (the starting variant rotates); medians are reported, ratios as medians of the pairs'.
// One variant, the control, is the ceiling's own server again, started fresh and measured like the
// others: an identical server, so its share shows how far the method and the machine's noise move
// a share in that run (docs/performance.md, "The HTTP shares themselves").
import { runJson } from '../lib/processes.mjs';
import { emit, log, quick } from '../lib/section.mjs';
import { probeServices } from '../lib/services.mjs';
import { median } from '../lib/stats.mjs';
import { start, VARIANTS } from './variants.mjs';

const ROUNDS = quick ? 1 : 3;
const WARMUP_SECONDS = quick ? 1 : 3;
const SECONDS = quick ? 3 : 10;
const CONNECTIONS = 32;
const STRICT_PAIRS = quick ? 2 : 6;

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
