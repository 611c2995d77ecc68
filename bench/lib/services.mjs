// Which local services the bench can use: Redis and Postgres on their usual local ports (or
// BENCH_REDIS_URL / BENCH_DATABASE_URL). A missing service skips the rows that need it, and the
// report says so. Redis: logical database 11, so `coatcheck serve` runs (default key prefix) stay
// apart from anything in database 0; Postgres: its own schema, dropped at the end.
import net from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';

export const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/11';
export const postgresUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Key prefix and schema of everything the bench writes, removed when it is done. */
export const REDIS_PREFIX = 'ccbench';
export const POSTGRES_SCHEMA = 'coatcheck_bench';

function reachable(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port), timeout: 1_000 });
    socket.once('connect', () => socket.end(() => resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** `{ redis: { ok, version } | { ok: false, reason }, postgres: ... }` */
export async function probeServices() {
  const result = {};
  if (await reachable(redisUrl)) {
    const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      const info = await client.info('server');
      result.redis = { ok: true, version: /redis_version:(\S+)/.exec(info)?.[1] ?? '?' };
    } catch (error) {
      result.redis = { ok: false, reason: error.message };
    } finally {
      client.disconnect();
    }
  } else {
    result.redis = { ok: false, reason: `nothing listening at ${redisUrl}` };
  }
  if (await reachable(postgresUrl)) {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query('SHOW server_version');
      result.postgres = { ok: true, version: rows[0].server_version };
    } catch (error) {
      result.postgres = { ok: false, reason: error.message };
    } finally {
      await client.end().catch(() => undefined);
    }
  } else {
    result.postgres = { ok: false, reason: `nothing listening at ${postgresUrl}` };
  }
  return result;
}

/** Deletes the Redis keys matching each pattern, in batches. */
export async function cleanRedis(...prefixes) {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  let removed = 0;
  try {
    for (const prefix of prefixes.length > 0 ? prefixes : [REDIS_PREFIX]) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10_000);
        cursor = next;
        if (keys.length > 0) removed += await client.unlink(...keys);
      } while (cursor !== '0');
    }
    return removed;
  } finally {
    client.disconnect();
  }
}

/** Whether the bench's Redis database holds keys of `coatcheck serve`'s default layout already. */
export async function redisHasServeKeys() {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const [, cc] = await client.scan('0', 'MATCH', 'cc:*', 'COUNT', 1_000);
    const [, feed] = await client.scan('0', 'MATCH', 'coatcheck:*', 'COUNT', 1_000);
    return cc.length + feed.length > 0;
  } finally {
    client.disconnect();
  }
}

/** Drops the bench's Postgres schema. */
export async function cleanPostgres() {
  const client = new pg.Client({ connectionString: postgresUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${POSTGRES_SCHEMA} CASCADE`);
  } finally {
    await client.end();
  }
}
