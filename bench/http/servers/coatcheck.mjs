// coatcheck on Express 5, as the README shows: authRouter for /auth/*, requireAuth on the route.
// BENCH_STORE: sqlite | redis (sessions in Redis, users in SQLite). BENCH_TOKENS=1 enables access
// tokens (ES256); BENCH_STRICT=1 guards the route in strict mode; BENCH_FEED=1 adds the Redis
// revocation feed, so strict routes check the in-memory revocation list instead of the store.
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuth } from '../../../dist/index.js';
import { authRouter, requireAuth } from '../../../dist/express/index.js';
import { createRedisRevocationFeed } from '../../../dist/revocation/redis-feed.js';
import { composeStore, createRedisStores } from '../../../dist/stores/redis/index.js';
import { createSqliteStore } from '../../../dist/stores/sqlite/index.js';
import { listen, silentLogger } from './listen.mjs';

const { REDIS_URL, BENCH_STORE = 'sqlite', BENCH_TOKENS, BENCH_STRICT, BENCH_FEED } = process.env;
const prefix = `ccbench${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'coatcheck-bench-'));
const sqlite = createSqliteStore({ path: join(dir, 'auth.db') });
const store =
  BENCH_STORE === 'redis' ? composeStore(sqlite, createRedisStores({ url: REDIS_URL }, { keyPrefix: prefix })) : sqlite;
const feed = BENCH_FEED ? createRedisRevocationFeed({ url: REDIS_URL, keyPrefix: `${prefix}:` }) : null;
const auth = createAuth({
  store,
  origin: 'http://localhost:3000',
  logger: silentLogger,
  ...(BENCH_TOKENS ? { tokens: { secret: 'a bench secret of at least thirty-two bytes' } } : {}),
  ...(feed ? { revocation: { feed } } : {}),
});
await auth.ready();

const app = express();
app.use(authRouter(auth));
const profile = (req, res) => res.json({ userId: req.auth.userId });
app.get('/api/profile', requireAuth(auth, { strict: Boolean(BENCH_STRICT) }), profile);
// The same route in both modes on one server, so strict and non-strict can be compared in one process.
app.get('/api/profile/non-strict', requireAuth(auth, { strict: false }), profile);
app.get('/api/profile/strict', requireAuth(auth, { strict: true }), profile);
listen(app, {
  onClose: async () => {
    await auth.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  },
});
