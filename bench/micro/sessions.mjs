// Session validation per operation (mitata), for each store: what `requireAuth` does for a cookie.
// `validate` is SessionManager.validate (hash the secret, read the session, read the user);
// `authenticate` adds the cookie parsing and the guard around it (auth.authenticate).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure } from 'mitata';
import { createAuth } from '../../dist/index.js';
import { createMemoryStore } from '../../dist/stores/memory/index.js';
import { createPostgresStore } from '../../dist/stores/postgres/index.js';
import { composeStore, createRedisStores } from '../../dist/stores/redis/index.js';
import { createSqliteStore } from '../../dist/stores/sqlite/index.js';
import { median } from '../lib/stats.mjs';
import { emit, log, quick } from '../lib/section.mjs';
import { POSTGRES_SCHEMA, postgresUrl, probeServices, REDIS_PREFIX, redisUrl } from '../lib/services.mjs';

const ROUNDS = quick ? 1 : 3;
const OPTIONS = { min_cpu_time: quick ? 150e6 : 500e6 };
const ORIGIN = 'http://localhost:3000';
const dir = mkdtempSync(join(tmpdir(), 'coatcheck-bench-'));
const services = await probeServices();

const stores = [
  { name: 'memory', open: async () => createMemoryStore() },
  { name: 'SQLite (file, WAL)', open: async () => createSqliteStore({ path: join(dir, 'sessions.db') }) },
  {
    name: 'Postgres',
    needs: 'postgres',
    open: () => createPostgresStore({ connectionString: postgresUrl }, { migrate: true, schema: POSTGRES_SCHEMA }),
  },
  {
    name: 'Redis sessions + SQLite users',
    needs: 'redis',
    open: async () =>
      composeStore(
        createSqliteStore({ path: join(dir, 'users.db') }),
        createRedisStores({ url: redisUrl }, { keyPrefix: `${REDIS_PREFIX}m` }),
      ),
  },
];

const rows = [];
try {
  for (const spec of stores) {
    if (spec.needs && !services[spec.needs].ok) {
      rows.push({ store: spec.name, skip: `${spec.needs} not available (${services[spec.needs].reason})` });
      continue;
    }
    const store = await spec.open();
    const auth = createAuth({ store, origin: ORIGIN, purgeInterval: 0 });
    const email = `bench-${Date.now()}@example.com`;
    const user = await auth.createUser({ email, password: 'correct horse battery staple' });
    const { secret } = await auth.sessions.create(user, { ip: '127.0.0.1', userAgent: 'bench' });
    const cookie = `${auth.sessionCookie.name}=${secret}`;
    const facts = { method: 'GET', header: (name) => (name === 'cookie' ? cookie : null) };
    const check = (valid) => valid ?? fail(`${spec.name}: the session did not validate`);
    const validate = [];
    const authenticate = [];
    for (let round = 0; round < ROUNDS; round++) {
      validate.push((await measure(async () => check(await auth.sessions.validate(secret)), OPTIONS)).p50);
      const outcome = async () => ((await auth.authenticate(facts)).ok ? true : fail('authenticate refused'));
      authenticate.push((await measure(outcome, OPTIONS)).p50);
    }
    rows.push({ store: spec.name, validateNs: median(validate), authenticateNs: median(authenticate) });
    log(`${spec.name}: done`);
    await auth.sessions.revokeAll(user.id);
    await auth.close();
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function fail(message) {
  throw new Error(message);
}

emit({ section: 'sessions', rows, rounds: ROUNDS });
