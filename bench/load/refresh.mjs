// Refresh throughput with rotation: `coatcheck serve` with its refresh families in Redis (users in
// SQLite) and in Postgres; 32 families refreshing in a loop from another process. Every refresh is a
// compare-and-swap rotation in the store plus a newly signed ES256 access token.
import { coatcheckLogin, registerUser } from '../lib/credentials.mjs';
import { runJson } from '../lib/processes.mjs';
import { startServe } from '../lib/serve.mjs';
import { emit, log, quick } from '../lib/section.mjs';
import { POSTGRES_SCHEMA, postgresUrl, probeServices, redisUrl } from '../lib/services.mjs';
import { median } from '../lib/stats.mjs';

const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 3 : 10;
const FAMILIES = 32;

const services = await probeServices();
const configs = [
  { name: 'Redis (refresh families in Redis, users in SQLite)', needs: 'redis', env: { REDIS_URL: redisUrl } },
  {
    name: 'Postgres (everything in Postgres)',
    needs: 'postgres',
    env: { DATABASE_URL: postgresUrl, COATCHECK_DATABASE_SCHEMA: POSTGRES_SCHEMA, COATCHECK_MIGRATE_ON_START: '1' },
  },
];

const rows = [];
for (const config of configs) {
  if (!services[config.needs].ok) {
    rows.push({ name: config.name, skip: `${config.needs} not available (${services[config.needs].reason})` });
    continue;
  }
  const serve = await startServe(config.env);
  const runs = [];
  try {
    const user = await registerUser(serve.base);
    for (let round = 0; round < ROUNDS; round++) {
      const tokens = [];
      for (let i = 0; i < FAMILIES; i++) tokens.push((await coatcheckLogin(serve.base, user, 'native')).refreshToken);
      const result = await runJson('bench/load/refresher.mjs', {
        base: serve.base,
        tokens,
        warmupSeconds: quick ? 1 : 3,
        seconds: SECONDS,
      });
      if (result.failed > 0) throw new Error(`${config.name}: ${result.failed} refreshes failed`);
      runs.push(result);
      log(`${config.name}: round ${round + 1}/${ROUNDS}: ${Math.round(result.rate)} refreshes/s`);
    }
  } finally {
    await serve.close();
  }
  rows.push({
    name: config.name,
    rate: median(runs.map((r) => r.rate)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    runs: runs.map((r) => Math.round(r.rate)),
  });
}
emit({ section: 'refresh', rows, families: FAMILIES, rounds: ROUNDS, seconds: SECONDS });
