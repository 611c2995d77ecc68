import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { createPostgresRevocationFeed } from '../../src/revocation/postgres-feed.js';
import { createRedisRevocationFeed } from '../../src/revocation/redis-feed.js';
import { RevocationList } from '../../src/revocation/revocation-list.js';
import type { RevocationFeed } from '../../src/revocation/types.js';
import { migratePostgres } from '../../src/stores/postgres/index.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { probePostgres, postgresUrl, redisUrl, requireService } from '../helpers/services.js';
import { deleteKeysUnder, probeRedis, uniquePrefix } from '../store/redis-helpers.js';

// A subscription only listens, so a connection that goes quiet without closing (a partition, a
// hung server) used to look connected for ever: strict routes kept trusting a list that no longer
// heard revocations. The feeds now ping it; these tests make real connections go silent.

const redisAvailable = await requireService('redis', probeRedis);
const postgresAvailable = await requireService('postgres', probePostgres);
const HEARTBEAT_MS = 150;
const clock = createManualClock(Date.now());
const revocation = (sessionId: string) => ({ sessionIds: [sessionId], users: [], expiresAt: clock.now() + 600_000 });

function proxyTo(url: string, defaultPort: number): Promise<TcpProxy> {
  const target = new URL(url);
  return startTcpProxy({ host: target.hostname, port: Number(target.port || defaultPort) });
}

/**
 * Partitions the list's feed from the service; a revocation published directly meanwhile must
 * close the list (every check `unknown`), and once the partition heals it must be back and know it.
 */
async function silenceThenHeal(proxy: TcpProxy, listened: RevocationFeed, direct: RevocationFeed): Promise<void> {
  const list = new RevocationList({ feed: listened, clock, logger: silentLogger });
  try {
    await list.start();
    expect(list.check('ses_missed', 'usr_a', clock.now(), 'user')).toBe('valid');

    proxy.freeze();
    await direct.publish(revocation('ses_missed'));
    await expect.poll(() => list.live, { timeout: 5_000, interval: 20 }).toBe(false);
    expect(list.check('ses_other', 'usr_a', clock.now(), 'user')).toBe('unknown');

    proxy.thaw();
    await expect.poll(() => list.live, { timeout: 10_000, interval: 20 }).toBe(true);
    expect(list.check('ses_missed', 'usr_a', clock.now(), 'user')).toBe('revoked');
    expect(list.check('ses_other', 'usr_a', clock.now(), 'user')).toBe('valid');
  } finally {
    await list.close();
  }
}

describe.runIf(redisAvailable)('Redis revocation feed: a silent subscription', () => {
  const keyPrefix = uniquePrefix();
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await proxyTo(redisUrl(), 6379);
  });
  afterAll(async () => {
    await proxy?.close();
    const redis = new Redis(redisUrl());
    await deleteKeysUnder(redis, keyPrefix);
    redis.disconnect();
  });

  it('closes the list within two heartbeats and catches up when the connection answers again', async () => {
    const listened = createRedisRevocationFeed({ url: proxy.url('redis'), keyPrefix, heartbeatMs: HEARTBEAT_MS });
    const direct = createRedisRevocationFeed({ url: redisUrl(), keyPrefix });
    try {
      await silenceThenHeal(proxy, listened, direct);
    } finally {
      await direct.close();
    }
  }, 30_000);

  it('refuses a heartbeat that is not a positive number of milliseconds', () => {
    for (const heartbeatMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createRedisRevocationFeed({ url: redisUrl(), heartbeatMs })).toThrow(RangeError);
    }
  });
});

describe.runIf(postgresAvailable)('Postgres revocation feed: a silent LISTEN connection', () => {
  const schema = `cc_silent_${process.pid}_${Date.now() % 100000}`;
  let proxy: TcpProxy;
  let pool: pg.Pool;
  beforeAll(async () => {
    await migratePostgres(postgresUrl(), { schema });
    proxy = await proxyTo(postgresUrl(), 5432);
    pool = new pg.Pool({ connectionString: postgresUrl() });
  });
  afterAll(async () => {
    await proxy?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
  });

  it('closes the list within two heartbeats and catches up when the connection answers again', async () => {
    const proxied = new URL(postgresUrl());
    proxied.host = `127.0.0.1:${proxy.port}`;
    // The list's store reads go to Postgres directly: only the LISTEN connection is partitioned.
    const listened = createPostgresRevocationFeed({
      pool,
      connectionString: proxied.href,
      schema,
      heartbeatMs: HEARTBEAT_MS,
    });
    const direct = createPostgresRevocationFeed({ pool, connectionString: postgresUrl(), schema });
    await silenceThenHeal(proxy, listened, direct);
  }, 30_000);
});
