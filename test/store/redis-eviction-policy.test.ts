import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStores } from '../../src/stores/redis/index.js';
import { redisUrl, requireService } from '../helpers/services.js';
import { startTestServer, type LogLine } from '../helpers/server.js';
import { deleteKeysUnder, probeRedis, uniquePrefix } from './redis-helpers.js';

const available = await requireService('redis', probeRedis);

// Every key of the Redis store has a TTL, so under any eviction policy but noeviction a full
// Redis may drop one key of a session and keep the others (the user's set: "log out everywhere"
// misses sessions; a token index: a reused refresh token looks unknown). Nothing said so at start.
// The policy is changed only while maxmemory is 0 (no limit), where it evicts nothing: other
// suites sharing this Redis are unaffected, and it is put back in `finally`.
describe.runIf(available)('redis maxmemory-policy', () => {
  let admin: Redis;
  let original: string;

  beforeAll(async () => {
    admin = new Redis(redisUrl());
    const [, maxmemory] = (await admin.config('GET', 'maxmemory')) as string[];
    expect(maxmemory).toBe('0');
    original = ((await admin.config('GET', 'maxmemory-policy')) as string[])[1]!;
  });
  afterAll(async () => {
    await admin?.quit();
  });

  async function withPolicy(policy: string, body: () => Promise<void>): Promise<void> {
    await admin.config('SET', 'maxmemory-policy', policy);
    try {
      await body();
    } finally {
      await admin.config('SET', 'maxmemory-policy', original);
    }
  }

  async function serveAndWatch(url: string, wanted: (line: LogLine) => boolean): Promise<LogLine[]> {
    const prefix = uniquePrefix();
    const server = await startTestServer({ env: { REDIS_URL: url, COATCHECK_REDIS_PREFIX: prefix } });
    try {
      const until = Date.now() + 3_000;
      while (!server.logs.some(wanted) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      // The check is one command: a little longer shows that nothing more comes.
      await new Promise((r) => setTimeout(r, 100));
      return server.logs.filter((line) => line.fields.event?.toString().startsWith('redis.eviction'));
    } finally {
      await server.stop();
      await deleteKeysUnder(admin, prefix);
    }
  }

  it('the store reads it', async () => {
    const stores = createRedisStores({ url: redisUrl() }, { keyPrefix: uniquePrefix() });
    try {
      await withPolicy('volatile-lru', async () => {
        expect(await stores.maxmemoryPolicy()).toBe('volatile-lru');
      });
      await withPolicy('noeviction', async () => {
        expect(await stores.maxmemoryPolicy()).toBe('noeviction');
      });
    } finally {
      await stores.close();
    }
  });

  it('serve warns at start when Redis may evict, and not when it may not', async () => {
    await withPolicy('volatile-lru', async () => {
      const lines = await serveAndWatch(redisUrl(), (line) => line.fields.event === 'redis.eviction_policy');
      expect(lines).toEqual([
        expect.objectContaining({ level: 'warn', fields: { event: 'redis.eviction_policy', policy: 'volatile-lru' } }),
      ]);
      expect(lines[0]!.message).toMatch(/noeviction/);
    });
    await withPolicy('noeviction', async () => {
      expect(await serveAndWatch(redisUrl(), () => false)).toEqual([]);
    });
  }, 20_000);

  it('a Redis that refuses CONFIG GET (an ACL user without it): a warning that it is unknown, and the store works', async () => {
    const user = `cc-test-noconfig-${process.pid}`;
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', '>pw-for-test', '~*', '&*', '+@all', '-config');
    try {
      const url = new URL(redisUrl());
      url.username = user;
      url.password = 'pw-for-test';
      const stores = createRedisStores({ url: url.toString() }, { keyPrefix: uniquePrefix() });
      try {
        expect(await stores.maxmemoryPolicy()).toBeNull();
        await stores.ping();
      } finally {
        await stores.close();
      }
      const lines = await serveAndWatch(
        url.toString(),
        (line) => line.fields.event === 'redis.eviction_policy_unknown',
      );
      expect(lines).toEqual([
        expect.objectContaining({ level: 'warn', fields: { event: 'redis.eviction_policy_unknown' } }),
      ]);
    } finally {
      await admin.call('ACL', 'DELUSER', user);
    }
  }, 20_000);
});
