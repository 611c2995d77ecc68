// Session lookup (store.sessions.findBySecretHash, a random live session each time) with 1k, 100k
// and 1M sessions in Redis and in SQLite, and the bytes each session takes. The sessions are
// written straight into the store's own layout (Redis: the keys and hash fields createSessionScript
// and create() write, through pipelines; SQLite: the store's tables, in one transaction), one user
// per session, with a browser user agent and an address. Everything is removed afterwards.
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { hashSecret } from '../../dist/core/random.js';
import { createRedisStores } from '../../dist/stores/redis/index.js';
import { createKeys, encodeRef } from '../../dist/stores/redis/keys.js';
import { sessionFields } from '../../dist/stores/redis/records.js';
import { ttlMs } from '../../dist/stores/redis/script.js';
import { createSqliteStore } from '../../dist/stores/sqlite/index.js';
import { emit, log, quick } from '../lib/section.mjs';
import { cleanRedis, probeServices, REDIS_PREFIX, redisUrl } from '../lib/services.mjs';
import { percentile } from '../lib/stats.mjs';

const SIZES = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
const LOOKUPS = quick ? 2_000 : 5_000;
const BATCH = 5_000;
// Lookups outstanding at once in the second timing: a server's many requests, not one client waiting.
const IN_FLIGHT = 32;
const USER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const NOW = Date.now();
const GRACE_MS = 15 * 60_000;

/** Session number `i`: deterministic, so lookups can pick any of them without keeping them all. */
function session(i) {
  const secret = createHash('sha256').update(`bench-session-${i}`).digest('base64url');
  const id = `ses_${i.toString(36).padStart(22, '0')}`;
  const createdAt = NOW - (i % 3_600_000);
  return {
    id,
    secretHash: hashSecret(secret),
    userId: `usr_${i.toString(36).padStart(22, '0')}`,
    method: 'session',
    createdAt,
    lastSeenAt: createdAt,
    idleExpiresAt: NOW + 24 * 3_600_000,
    absoluteExpiresAt: createdAt + 7 * 24 * 3_600_000,
    userAgent: USER_AGENT,
    ip: '203.0.113.7',
  };
}

const randomPicks = (count) =>
  Array.from({ length: LOOKUPS }, () => session(Math.floor(Math.random() * count)).secretHash);

/**
 * Times `lookup` on random sessions among the first `count`, in µs: one at a time (mean, p50, p99),
 * then, on a fresh draw of sessions (so none is still in a cache from the first pass), with
 * `IN_FLIGHT` lookups outstanding: wall time over lookups, the inverse of throughput.
 * `serverUs`, when given, reads the server's own time spent on those lookups (Redis).
 */
async function timeLookups(count, lookup, { serverUs } = {}) {
  const picks = randomPicks(count);
  const found = async (hash) => {
    if (!(await lookup(hash))) throw new Error('a populated session was not found');
  };
  for (const hash of picks.slice(0, 200)) await found(hash);
  const times = [];
  const started = performance.now();
  for (const hash of picks) {
    const t0 = performance.now();
    await found(hash);
    times.push((performance.now() - t0) * 1000);
  }
  const meanUs = ((performance.now() - started) * 1000) / LOOKUPS;
  const busyPicks = randomPicks(count);
  const serverBefore = await serverUs?.();
  const busyStarted = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < busyPicks.length) await found(busyPicks[next++]);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const busyUs = ((performance.now() - busyStarted) * 1000) / LOOKUPS;
  const serverAfter = await serverUs?.();
  return {
    meanUs,
    p50Us: percentile(times, 50),
    p99Us: percentile(times, 99),
    busyUs,
    ...(serverBefore && serverAfter.calls > serverBefore.calls
      ? { serverUs: (serverAfter.usec - serverBefore.usec) / (serverAfter.calls - serverBefore.calls) }
      : {}),
  };
}

/**
 * Redis's own time in the cookie lookup's script (INFO commandstats): calls and microseconds so
 * far. The script's time includes the GET and HGETALL it runs; nothing else calls EVALSHA here.
 */
async function evalshaStats(admin) {
  const match = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await admin.info('commandstats'));
  return match ? { calls: Number(match[1]), usec: Number(match[2]) } : { calls: 0, usec: 0 };
}

async function redisScale() {
  const prefix = `${REDIS_PREFIX}scale`;
  const keys = createKeys(prefix);
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const stores = createRedisStores({ url: redisUrl }, { keyPrefix: prefix });
  const used = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))[1]);
  const rows = [];
  try {
    await cleanRedis(prefix);
    const before = await used();
    let written = 0;
    for (const size of SIZES) {
      const started = performance.now();
      while (written < size) {
        const pipeline = admin.pipeline();
        for (const end = Math.min(size, written + BATCH); written < end; written++) {
          const s = session(written);
          const ref = { userId: s.userId, sessionId: s.id };
          const k = keys.of(ref);
          const indexTtl = ttlMs(s.absoluteExpiresAt, NOW, GRACE_MS);
          const deadline = Math.min(s.idleExpiresAt, s.absoluteExpiresAt);
          pipeline.set(keys.sessionIndex(s.id), s.userId, 'PX', indexTtl);
          pipeline.set(keys.secretIndex(s.secretHash), encodeRef(ref), 'PX', indexTtl);
          pipeline.hset(k.session, ...sessionFields(s));
          pipeline.pexpire(k.session, ttlMs(deadline, NOW, GRACE_MS));
          pipeline.zadd(k.userSessions, s.createdAt, s.id);
          pipeline.pexpire(k.userSessions, indexTtl);
          pipeline.zadd(keys.expiry, deadline, encodeRef(ref));
        }
        await pipeline.exec();
      }
      log(`Redis: ${size} sessions written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const bytes = ((await used()) - before) / size;
      rows.push({
        store: 'Redis',
        sessions: size,
        bytesPerSession: bytes,
        ...(await timeLookups(size, (hash) => stores.sessions.findBySecretHash(hash), {
          serverUs: () => evalshaStats(admin),
        })),
      });
    }
  } finally {
    await stores.close();
    admin.disconnect();
    log(`Redis: removed ${await cleanRedis(prefix)} keys`);
  }
  return rows;
}

async function sqliteScale() {
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-bench-scale-'));
  const store = createSqliteStore({ path: join(dir, 'scale.db') });
  const db = store.database;
  const insertUser = db.prepare(
    `INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
     VALUES (?, ?, NULL, 'user', '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2g$YmVuY2hoYXNoYmVuY2hoYXNoYmVuY2hoYXNoYmVuY2g', ?, ?)`,
  );
  const insertSession = db.prepare(
    `INSERT INTO sessions (id, secret_hash, user_id, method, created_at, last_seen_at, idle_expires_at,
       absolute_expires_at, user_agent, ip)
     VALUES (@id, @secretHash, @userId, @method, @createdAt, @lastSeenAt, @idleExpiresAt, @absoluteExpiresAt,
       @userAgent, @ip)`,
  );
  const bytes = db
    .prepare(
      `SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'sessions')`,
    )
    .pluck();
  const rows = [];
  try {
    let written = 0;
    for (const size of SIZES) {
      const started = performance.now();
      while (written < size) {
        db.transaction(() => {
          for (const end = Math.min(size, written + BATCH * 10); written < end; written++) {
            const s = session(written);
            insertUser.run(s.userId, `${s.userId}@example.com`, s.createdAt, s.createdAt);
            insertSession.run(s);
          }
        })();
      }
      db.pragma('wal_checkpoint(TRUNCATE)');
      log(`SQLite: ${size} sessions written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      rows.push({
        store: 'SQLite',
        sessions: size,
        bytesPerSession: bytes.get() / size,
        ...(await timeLookups(size, (hash) => store.sessions.findBySecretHash(hash))),
      });
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const services = await probeServices();
const rows = [];
if (services.redis.ok) rows.push(...(await redisScale()));
else rows.push({ store: 'Redis', skip: `not available (${services.redis.reason})` });
rows.push(...(await sqliteScale()));
emit({ section: 'scale', rows, lookups: LOOKUPS, sizes: SIZES });
